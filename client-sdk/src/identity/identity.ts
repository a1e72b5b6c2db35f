import nacl from 'tweetnacl';
import * as z from 'zod/mini';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { PublicKey as Secret32 } from '../../../protocol/frames';
import { randomBytes } from '../crypto/random';
import { EbbError } from '../errors';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import { signIdentityKey, userIdFromSigningKey } from './keys';

/** This client's long-term keys (ARCH §4.1): Ed25519 for signing, X25519 for encryption. */
export interface Identity {
  readonly userId: string;
  readonly signingPublicKey: Uint8Array;
  readonly signingSecretKey: Uint8Array;
  readonly identityPublicKey: Uint8Array;
  readonly identitySecretKey: Uint8Array;
  /** The signing key's signature over the identity key. */
  readonly identitySig: Uint8Array;
}

/** 32-byte secrets, stored as base64url; the public halves and the signature are derived on load. */
const Stored = z.object({ signingSeed: Secret32, identitySecretKey: Secret32 });

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
  let parsed: z.infer<typeof Stored> | undefined;
  try {
    const result = Stored.safeParse(JSON.parse(saved));
    if (result.success) parsed = result.data;
  } catch {
    // not JSON: reported as null like any other corruption
  }
  if (!parsed) return null;
  return identityFrom(fromBase64Url(parsed.signingSeed), fromBase64Url(parsed.identitySecretKey));
}

/** Everything public is derived from the two secrets, so a store cannot hold a mismatched pair. */
function identityFrom(signingSeed: Uint8Array, identitySecretKey: Uint8Array): Identity {
  const signing = nacl.sign.keyPair.fromSeed(signingSeed);
  const box = nacl.box.keyPair.fromSecretKey(identitySecretKey);
  return {
    userId: userIdFromSigningKey(signing.publicKey),
    signingPublicKey: signing.publicKey,
    signingSecretKey: signing.secretKey,
    identityPublicKey: box.publicKey,
    identitySecretKey: box.secretKey,
    // Ed25519 is deterministic: re-signing yields the very signature the server holds.
    identitySig: signIdentityKey(box.publicKey, signing.secretKey),
  };
}
