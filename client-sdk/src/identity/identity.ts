import nacl from 'tweetnacl';
import * as v from 'valibot';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { Device, PublicKey as Secret32, Signature } from '../../../protocol/frames';
import { randomBytes } from '../crypto/random';
import { EbbError } from '../errors';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import { signIdentityKey, userIdFromSigningKey, verifyDeviceCert, verifyPeerIdentity } from './keys';

/**
 * This device's long-term keys (ARCH §4.1): the account's Ed25519 signing key and X25519 identity key,
 * and the key this device signs its connects and signed prekeys with. Device 1 created the account and
 * holds the account signing key's secret, which is also its device key. A linked device (ARCH §8.6)
 * holds the identity key's secret but only the public half of the account signing key: it signs with
 * its own device key, which the account signing key certified.
 */
export interface Identity {
  readonly userId: string;
  /** The account signing key: the user id is derived from it. */
  readonly signingPublicKey: Uint8Array;
  /** Its secret half, on device 1 only: it approves links and removes devices. */
  readonly signingSecretKey: Uint8Array | null;
  /** 1 for the device that created the account, else the number the service gave the linked device. */
  readonly device: number;
  /** What this device's connects and signed prekeys verify with: the account signing key on device 1. */
  readonly deviceSigningPublicKey: Uint8Array;
  readonly deviceSigningSecretKey: Uint8Array;
  /** The account signing key's certificate for `deviceSigningPublicKey`; null on device 1. */
  readonly cert: Uint8Array | null;
  readonly identityPublicKey: Uint8Array;
  readonly identitySecretKey: Uint8Array;
  /** The signing key's signature over the identity key. */
  readonly identitySig: Uint8Array;
}

/** What a linked device receives from the device that approved it (session/provision.ts). */
export interface AccountKeys {
  readonly accountKey: Uint8Array;
  readonly identitySecretKey: Uint8Array;
  readonly identitySig: Uint8Array;
  readonly cert: Uint8Array;
}

/** Device 1: 32-byte secrets, stored as base64url; the public halves and the signature are derived on load. */
const Stored = v.object({ signingSeed: Secret32, identitySecretKey: Secret32 });

/** A linked device: its own signing seed, the account's identity secret, and what it cannot derive. */
const StoredLinked = v.object({
  deviceSeed: Secret32,
  identitySecretKey: Secret32,
  accountKey: Secret32,
  identitySig: Signature,
  device: Device,
  cert: Signature,
});

/**
 * The identity kept in `store`, created and saved on first use.
 * @throws EbbError INTERNAL (not retryable) when the stored identity is corrupt.
 */
export async function loadOrCreateIdentity(store: KeyStore): Promise<Identity> {
  const saved = await store.get(StoreKeys.identity);
  if (saved !== undefined) {
    const identity = parseIdentity(saved);
    if (!identity) throw new EbbError('INTERNAL', 'the stored identity is corrupt', { retryable: false });
    return identity;
  }
  const signingSeed = randomBytes(nacl.sign.seedLength);
  const identitySecretKey = randomBytes(nacl.box.secretKeyLength);
  await store.set(StoreKeys.identity, JSON.stringify({ signingSeed: toBase64Url(signingSeed), identitySecretKey: toBase64Url(identitySecretKey) }));
  return identityFrom(signingSeed, identitySecretKey);
}

/** The identity a stored `identity` value holds, or null when it is not one (its secrets are never echoed). */
export function parseIdentity(saved: string): Identity | null {
  let parsed: v.InferOutput<typeof Stored> | undefined;
  try {
    const result = v.safeParse(Stored, JSON.parse(saved));
    if (result.success) parsed = result.output;
  } catch {
    // not JSON: reported as null like any other corruption
  }
  if (parsed) return identityFrom(fromBase64Url(parsed.signingSeed), fromBase64Url(parsed.identitySecretKey));
  return parseLinked(saved);
}

/** The stored form of a linked device's identity: `deviceSeed` is the seed of its own signing key. */
export function storedLinkedIdentity(deviceSeed: Uint8Array, keys: AccountKeys, device: number): string {
  return JSON.stringify({
    deviceSeed: toBase64Url(deviceSeed),
    identitySecretKey: toBase64Url(keys.identitySecretKey),
    accountKey: toBase64Url(keys.accountKey),
    identitySig: toBase64Url(keys.identitySig),
    device,
    cert: toBase64Url(keys.cert),
  });
}

/** The Ed25519 seed of this device's signing key (the first half of tweetnacl's secret key). */
export function deviceSeedOf(identity: Identity): Uint8Array {
  return identity.deviceSigningSecretKey.slice(0, nacl.sign.seedLength);
}

/**
 * A linked device's identity, or null unless the account key signed the identity key and certified the
 * device key: a store cannot hold keys that the device's peers would refuse.
 */
function parseLinked(saved: string): Identity | null {
  let parsed: v.InferOutput<typeof StoredLinked> | undefined;
  try {
    const result = v.safeParse(StoredLinked, JSON.parse(saved));
    if (result.success) parsed = result.output;
  } catch {
    return null;
  }
  if (!parsed || parsed.device < 2) return null;
  const signing = nacl.sign.keyPair.fromSeed(fromBase64Url(parsed.deviceSeed));
  const box = nacl.box.keyPair.fromSecretKey(fromBase64Url(parsed.identitySecretKey));
  const accountKey = fromBase64Url(parsed.accountKey);
  const identitySig = fromBase64Url(parsed.identitySig);
  const cert = fromBase64Url(parsed.cert);
  const userId = userIdFromSigningKey(accountKey);
  if (!verifyPeerIdentity(userId, accountKey, box.publicKey, identitySig) || !verifyDeviceCert(accountKey, signing.publicKey, cert)) return null;
  return {
    userId,
    signingPublicKey: accountKey,
    signingSecretKey: null,
    device: parsed.device,
    deviceSigningPublicKey: signing.publicKey,
    deviceSigningSecretKey: signing.secretKey,
    cert,
    identityPublicKey: box.publicKey,
    identitySecretKey: box.secretKey,
    identitySig,
  };
}

/** Everything public is derived from the two secrets, so a store cannot hold a mismatched pair. */
function identityFrom(signingSeed: Uint8Array, identitySecretKey: Uint8Array): Identity {
  const signing = nacl.sign.keyPair.fromSeed(signingSeed);
  const box = nacl.box.keyPair.fromSecretKey(identitySecretKey);
  return {
    userId: userIdFromSigningKey(signing.publicKey),
    signingPublicKey: signing.publicKey,
    signingSecretKey: signing.secretKey,
    device: 1,
    deviceSigningPublicKey: signing.publicKey,
    deviceSigningSecretKey: signing.secretKey,
    cert: null,
    identityPublicKey: box.publicKey,
    identitySecretKey: box.secretKey,
    // Ed25519 is deterministic: re-signing yields the very signature the server holds.
    identitySig: signIdentityKey(box.publicKey, signing.secretKey),
  };
}
