import { HASH_LENGTH, hmacSha512 } from './hmac';

/** HKDF with HMAC-SHA-512 (RFC 5869) over hmac.ts, which wipes what it hashes; PRK and every T(i) are wiped here. */

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
  // RFC 5869 §2.2: PRK = HMAC-Hash(salt, IKM). An empty HMAC key is zero-padded to the block, as
  // HashLen zero bytes are, so an empty salt needs no substitute.
  const prk = hmacSha512(salt, ikm);
  const okm = expand(prk, info, length);
  // PRK derives every output block; wipe it once expanded.
  prk.fill(0);
  return okm;
}

/** RFC 5869 §2.3: T(i) = HMAC-Hash(PRK, T(i-1) ‖ info ‖ i), OKM = first L bytes of T(1) ‖ T(2) ‖ … */
function expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
  const okm = new Uint8Array(length);
  const counter = new Uint8Array(1);
  // T(0) is empty.
  let block: Uint8Array = new Uint8Array(0);
  for (let i = 1, offset = 0; offset < length; i++, offset += HASH_LENGTH) {
    counter[0] = i;
    const next = hmacSha512(prk, block, info, counter);
    // Every T(i) is output key material: none outlives the call.
    block.fill(0);
    block = next;
    okm.set(block.subarray(0, Math.min(HASH_LENGTH, length - offset)), offset);
  }
  block.fill(0);
  return okm;
}
