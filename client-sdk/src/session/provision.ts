import nacl from 'tweetnacl';
import * as v from 'valibot';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { DeliveryToken, PublicKey, Signature, UserId } from '../../../protocol/frames';
import { concatBytes } from '../crypto/bytes';
import { randomBytes } from '../crypto/random';
import type { AccountKeys } from '../identity/identity';

/**
 * What the approving device sends a new device (ARCH §8.6), sealed to the link key in the code: the
 * account's user id, signing key (public), identity key pair and its signature, the certificate for the
 * new device's key, and the account's delivery token (ARCH §6.6), which every device must present alike.
 * Layout: ephemeral X25519 key ‖ nonce ‖ nacl.box(JSON), so only the holder of the link key opens it.
 */
export interface Provision extends AccountKeys {
  readonly user: string;
  readonly deliveryToken: string | null;
}

const Sealed = v.strictObject({
  v: v.literal(1),
  user: UserId,
  accountKey: PublicKey,
  identitySecretKey: PublicKey,
  identitySig: Signature,
  cert: Signature,
  deliveryToken: v.nullable(DeliveryToken),
});

export function sealProvision(provision: Provision, linkKey: Uint8Array): Uint8Array {
  const json = JSON.stringify({
    v: 1,
    user: provision.user,
    accountKey: toBase64Url(provision.accountKey),
    identitySecretKey: toBase64Url(provision.identitySecretKey),
    identitySig: toBase64Url(provision.identitySig),
    cert: toBase64Url(provision.cert),
    deliveryToken: provision.deliveryToken,
  } satisfies v.InferOutput<typeof Sealed>);
  const ephemeral = nacl.box.keyPair();
  const nonce = randomBytes(nacl.box.nonceLength);
  const plaintext = new TextEncoder().encode(json);
  const box = nacl.box(plaintext, nonce, linkKey, ephemeral.secretKey);
  // The identity secret travels in these bytes: wipe them, and the key that could reopen the box.
  plaintext.fill(0);
  ephemeral.secretKey.fill(0);
  return concatBytes(ephemeral.publicKey, nonce, box);
}

/** The provision, or null when it does not open with `linkSecretKey` or is not one; which check failed is not said. */
export function openProvision(sealed: Uint8Array, linkSecretKey: Uint8Array): Provision | null {
  const head = nacl.box.publicKeyLength + nacl.box.nonceLength;
  if (sealed.length < head + nacl.box.overheadLength) return null;
  const opened = nacl.box.open(
    sealed.subarray(head),
    sealed.subarray(nacl.box.publicKeyLength, head),
    sealed.subarray(0, nacl.box.publicKeyLength),
    linkSecretKey,
  );
  if (!opened) return null;
  let parsed: v.InferOutput<typeof Sealed> | undefined;
  try {
    const result = v.safeParse(Sealed, JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(opened)));
    if (result.success) parsed = result.output;
  } catch {
    // not JSON: null like any other failure
  } finally {
    opened.fill(0);
  }
  if (!parsed) return null;
  return {
    user: parsed.user,
    accountKey: fromBase64Url(parsed.accountKey),
    identitySecretKey: fromBase64Url(parsed.identitySecretKey),
    identitySig: fromBase64Url(parsed.identitySig),
    cert: fromBase64Url(parsed.cert),
    deliveryToken: parsed.deliveryToken,
  };
}
