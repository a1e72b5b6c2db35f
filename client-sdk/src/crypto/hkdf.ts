import nacl from 'tweetnacl';
import { hmacSha512 } from './hmac';

/** HKDF with HMAC-SHA-512 (RFC 5869). */

const HASH_LENGTH = nacl.hash.hashLength;
/** RFC 5869 §2.3: L <= 255 * HashLen. */
const MAX_LENGTH = 255 * HASH_LENGTH;

/**
 * `length` bytes of output keying material from `ikm`. An empty `salt` stands for HashLen zero
 * bytes (RFC 5869 §2.2). Throws TypeError when `length` is not an integer in [0, 255 * 64].
 */
export function hkdfSha512(ikm: Uint8Array, salt: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > MAX_LENGTH) {
    throw new TypeError(`length: expected an integer in [0, ${MAX_LENGTH}]`);
  }
  const prk = extract(salt, ikm);
  const okm = expand(prk, info, length);
  // PRK derives every output block; wipe it once expanded.
  prk.fill(0);
  return okm;
}

/** RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM). */
function extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
  return hmacSha512(salt.length === 0 ? new Uint8Array(HASH_LENGTH) : salt, ikm);
}

/** RFC 5869 §2.3: T(i) = HMAC-Hash(PRK, T(i-1) ‖ info ‖ i), OKM = first L bytes of T(1) ‖ T(2) ‖ … */
function expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const okm = new Uint8Array(length);
  // Scratch buffer T(i-1) ‖ info ‖ i; T(0) is empty, so the first block starts after it.
  const input = new Uint8Array(HASH_LENGTH + info.length + 1);
  input.set(info, HASH_LENGTH);
  let previous: Uint8Array | null = null;
  for (let i = 1, offset = 0; offset < length; i++, offset += HASH_LENGTH) {
    input[input.length - 1] = i;
    const block = hmacSha512(prk, previous === null ? input.subarray(HASH_LENGTH) : input);
    okm.set(block.subarray(0, Math.min(HASH_LENGTH, length - offset)), offset);
    input.set(block, 0);
    previous = block;
  }
  // T(i) blocks are output key material; wipe the copies this function kept.
  input.fill(0);
  previous?.fill(0);
  return okm;
}
