import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { USER_ID_HASH_BYTES } from '../../protocol/connect';

// SPKI DER prefix of an Ed25519 public key (RFC 8410 §4): lets node:crypto import raw 32-byte keys.
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const ED25519_PUBLIC_KEY_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;

const keyCache = new Map<string, KeyObject>();
const KEY_CACHE_LIMIT = 1024;

function publicKeyObject(publicKey: Uint8Array): KeyObject {
  const cacheKey = toBase64Url(publicKey);
  let key = keyCache.get(cacheKey);
  if (!key) {
    const der = new Uint8Array(ED25519_SPKI_PREFIX.length + ED25519_PUBLIC_KEY_BYTES);
    der.set(ED25519_SPKI_PREFIX, 0);
    der.set(publicKey, ED25519_SPKI_PREFIX.length);
    key = createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
    if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.clear();
    keyCache.set(cacheKey, key);
  }
  return key;
}

/** Ed25519 verification with node:crypto. Malformed keys or signatures verify as false. */
export function verifyEd25519(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || signature.length !== ED25519_SIGNATURE_BYTES) return false;
  try {
    return verify(null, message, publicKeyObject(publicKey), signature);
  } catch {
    return false;
  }
}

/**
 * y-coordinates of the Ed25519 points of order dividing 8 (0, 1, the two of order 8, p − 1) and the
 * non-canonical p and p + 1, as libsodium's `crypto_sign_verify_detached` blocklists them (its
 * `ge25519_has_small_order`). Compared with the x sign bit cleared, so both signs of each are covered.
 */
const SMALL_ORDER_Y = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
];

/**
 * Whether `publicKey` encodes a point of small order. Such a key accepts signatures nobody made (the identity
 * point verifies `R = identity, S = 0` for every message in node:crypto and tweetnacl alike), so it is
 * refused as a signing key. Public input: no need for constant time.
 */
export function isSmallOrderKey(publicKey: Uint8Array): boolean {
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES) return false;
  const y = Buffer.from(publicKey);
  y[31]! &= 0x7f;
  return SMALL_ORDER_Y.includes(y.toString('hex'));
}

/** ARCH §4.1: base64url of the first 24 bytes of SHA-512(signing public key). */
export function userIdOf(signingKey: Uint8Array): string {
  const digest = createHash('sha512').update(signingKey).digest();
  return toBase64Url(digest.subarray(0, USER_ID_HASH_BYTES));
}

/** Decodes base64url, or returns undefined for anything that is not. */
export function decodeOrUndefined(text: string): Uint8Array | undefined {
  try {
    return fromBase64Url(text);
  } catch {
    return undefined;
  }
}
