import nacl from 'tweetnacl';

/** HMAC-SHA-512 (RFC 2104, with SHA-512 as RFC 4231 §2 uses it) over tweetnacl's `nacl.hash`. */

/** SHA-512's input block size in bytes (FIPS 180-4 §1); tweetnacl exposes only the output size. */
const BLOCK_LENGTH = 128;
const IPAD = 0x36;
const OPAD = 0x5c;

/**
 * Scratch space for the hash inputs (key block ‖ data, key block ‖ inner hash), reused across calls:
 * a fresh typed array per call costs an off-heap allocation that is a sizeable share of a short HMAC.
 * Used synchronously and wiped before returning, so it never holds key material between calls.
 */
let innerScratch = new Uint8Array(BLOCK_LENGTH + 2048);
const outerScratch = new Uint8Array(BLOCK_LENGTH + nacl.hash.hashLength);

/**
 * The 64-byte HMAC-SHA-512 under `key` of the concatenation of `data` (the parts are copied once,
 * straight into the inner hash's input). Any key length is accepted (RFC 2104 §2).
 */
export function hmacSha512(key: Uint8Array, ...data: readonly Uint8Array[]): Uint8Array {
  // RFC 2104 §2: a key longer than the block is hashed first, a shorter one padded with zeros.
  const hashedKey = key.length > BLOCK_LENGTH ? nacl.hash(key) : null;
  const k = hashedKey ?? key;

  let innerLength = BLOCK_LENGTH;
  for (const part of data) innerLength += part.length;
  if (innerScratch.length < innerLength) innerScratch = new Uint8Array(innerLength);
  const inner = innerScratch;
  const outer = outerScratch;
  // RFC 2104 §2 steps (2) and (5): the zero-padded key XOR ipad / opad. A zero byte XOR the pad is
  // the pad, so only the key's own bytes need the XOR.
  inner.fill(IPAD, 0, BLOCK_LENGTH);
  outer.fill(OPAD, 0, BLOCK_LENGTH);
  for (let i = 0; i < k.length; i++) {
    inner[i]! ^= k[i]!;
    outer[i]! ^= k[i]!;
  }
  let offset = BLOCK_LENGTH;
  for (const part of data) {
    inner.set(part, offset);
    offset += part.length;
  }
  const innerHash = nacl.hash(inner.subarray(0, innerLength));
  outer.set(innerHash, BLOCK_LENGTH);
  const mac = nacl.hash(outer);

  // The padded keys, the data (HKDF's is key material) and the inner hash must not outlive the call.
  inner.fill(0, 0, innerLength);
  outer.fill(0);
  innerHash.fill(0);
  hashedKey?.fill(0);
  return mac;
}
