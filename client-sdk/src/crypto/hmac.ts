import nacl from 'tweetnacl';

/**
 * HMAC-SHA-512 (RFC 2104, with SHA-512 as RFC 4231 §2 uses it) over tweetnacl's `nacl.hash`, written here
 * rather than taken from `@noble/hashes` because of the browser bundle: tweetnacl is one CommonJS module that
 * bundlers keep whole, SHA-512 included, so noble's SHA-512 beside it was a second copy of the same hash (its
 * 64-bit arithmetic, its round constants as BigInt strings). Dropping it took 4.7 KB minified, 2.4 KB gzipped
 * off the browser bundle (bench/browser-bundle.ts); noble stays for SHA-256 and scrypt, which tweetnacl lacks.
 * The cost is speed on long data: `nacl.hash` hashes in one call, so each MAC copies its data beside the padded
 * key, and tweetnacl's SHA-512 is slower than noble's on long input. Interleaved for 4 s each in one process, a
 * MAC of 1 byte (a chain step) ran at 1.01× noble's rate, one of 1 100 bytes (a 1 KiB message's tag) at 0.70×;
 * of the steady chain's 12 MACs per message, 2 are over the message. The RFC 4231
 * and Wycheproof vectors and the fixed-output transcripts in test/vectors check that no byte changed.
 */

/** SHA-512's input block size in bytes (FIPS 180-4 §1). */
const BLOCK_LENGTH = 128;
/** SHA-512's output size in bytes. */
export const HASH_LENGTH = nacl.hash.hashLength;
/** RFC 2104 §2's ipad and opad bytes. */
const IPAD = 0x36;
const OPAD = 0x5c;

/**
 * The 64-byte HMAC-SHA-512 under `key` of the concatenation of `data`. Any key length is accepted (RFC 2104
 * §2). Every buffer it fills with the key, the data or the inner hash is wiped before it returns.
 */
export function hmacSha512(key: Uint8Array, ...data: readonly Uint8Array[]): Uint8Array {
  // RFC 2104 §2: a key longer than the block is hashed first; shorter keys are zero-padded to the block.
  const hashedKey = key.length > BLOCK_LENGTH ? nacl.hash(key) : null;
  let dataLength = 0;
  for (const part of data) dataLength += part.length;
  // H((K ⊕ ipad) ‖ data): nacl.hash takes its whole input at once.
  const inner = new Uint8Array(BLOCK_LENGTH + dataLength);
  inner.set(hashedKey ?? key);
  hashedKey?.fill(0);
  // H((K ⊕ opad) ‖ inner hash), its padded key made from the inner one before data follows it.
  const outer = new Uint8Array(BLOCK_LENGTH + HASH_LENGTH);
  for (let i = 0; i < BLOCK_LENGTH; i++) {
    outer[i] = inner[i]! ^ OPAD;
    inner[i]! ^= IPAD;
  }
  let offset = BLOCK_LENGTH;
  for (const part of data) {
    inner.set(part, offset);
    offset += part.length;
  }
  const innerHash = nacl.hash(inner);
  inner.fill(0);
  outer.set(innerHash, BLOCK_LENGTH);
  innerHash.fill(0);
  const mac = nacl.hash(outer);
  outer.fill(0);
  return mac;
}
