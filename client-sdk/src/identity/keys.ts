import nacl from 'tweetnacl';
import { toBase64Url } from '../../../protocol/base64url';
import { DEVICE_CONTEXT, IDENTITY_CONTEXT, USER_ID_HASH_BYTES, signedKeyMessage } from '../../../protocol/connect';

/** ARCH §4.1: base64url of the first 24 bytes of SHA-512(signing public key). */
export function userIdFromSigningKey(signingPublicKey: Uint8Array): string {
  return toBase64Url(nacl.hash(signingPublicKey).subarray(0, USER_ID_HASH_BYTES));
}

export function signIdentityKey(identityPublicKey: Uint8Array, signingSecretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(signedKeyMessage(IDENTITY_CONTEXT, identityPublicKey), signingSecretKey);
}

/**
 * Whether `userId` belongs to `signingKey` and that key signed `identityKey`. Slow in tweetnacl
 * (~100/s): callers verify once per peer and cache the outcome.
 */
export function verifyPeerIdentity(userId: string, signingKey: Uint8Array, identityKey: Uint8Array, identitySig: Uint8Array): boolean {
  if (signingKey.length !== nacl.sign.publicKeyLength || identitySig.length !== nacl.sign.signatureLength) return false;
  if (userIdFromSigningKey(signingKey) !== userId) return false;
  return nacl.sign.detached.verify(signedKeyMessage(IDENTITY_CONTEXT, identityKey), identitySig, signingKey);
}

/** The account signing key's certificate for a linked device's signing key (ARCH §8.6). */
export function certifyDevice(deviceSigningKey: Uint8Array, accountSecretKey: Uint8Array): Uint8Array {
  return nacl.sign.detached(signedKeyMessage(DEVICE_CONTEXT, deviceSigningKey), accountSecretKey);
}

/** Whether `cert` is `accountKey`'s certificate for `deviceSigningKey`. Slow in tweetnacl: callers cache the outcome. */
export function verifyDeviceCert(accountKey: Uint8Array, deviceSigningKey: Uint8Array, cert: Uint8Array): boolean {
  if (accountKey.length !== nacl.sign.publicKeyLength || deviceSigningKey.length !== nacl.sign.publicKeyLength) return false;
  if (cert.length !== nacl.sign.signatureLength) return false;
  return nacl.sign.detached.verify(signedKeyMessage(DEVICE_CONTEXT, deviceSigningKey), cert, accountKey);
}
