import nacl from 'tweetnacl';

/** HMAC-SHA-512 (RFC 2104, with SHA-512 as RFC 4231 §2 uses it) over tweetnacl's `nacl.hash`. */

/** SHA-512's input block size in bytes (FIPS 180-4 §1); tweetnacl exposes only the output size. */
const BLOCK_LENGTH = 128;
const IPAD = 0x36;
const OPAD = 0x5c;

/** The 64-byte HMAC-SHA-512 of `data` under `key`. Any key length is accepted (RFC 2104 §2). */
export function hmacSha512(key: Uint8Array, data: Uint8Array): Uint8Array {
  // RFC 2104 §2: a key longer than the block is hashed first, a shorter one padded with zeros.
  const hashedKey = key.length > BLOCK_LENGTH ? nacl.hash(key) : null;
  const k = hashedKey ?? key;

  const inner = new Uint8Array(BLOCK_LENGTH + data.length);
  const outer = new Uint8Array(BLOCK_LENGTH + nacl.hash.hashLength);
  for (let i = 0; i < BLOCK_LENGTH; i++) {
    const byte = i < k.length ? k[i]! : 0;
    inner[i] = byte ^ IPAD;
    outer[i] = byte ^ OPAD;
  }
  inner.set(data, BLOCK_LENGTH);
  const innerHash = nacl.hash(inner);
  outer.set(innerHash, BLOCK_LENGTH);
  const mac = nacl.hash(outer);

  // The padded keys and inner hash are key material; wipe them rather than leave them to the GC.
  inner.fill(0, 0, BLOCK_LENGTH);
  outer.fill(0);
  innerHash.fill(0);
  hashedKey?.fill(0);
  return mac;
}
