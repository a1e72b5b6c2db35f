/** Byte-string helpers shared by the SDK's crypto modules. */

/** Bytes in a big-endian u32, as every length and counter is framed. */
export const U32_LENGTH = 4;

/** The parts, in order, as one new array. */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Whether `a` and `b` hold the same bytes. The time taken depends on the lengths only, never on
 * where the contents differ, so it is safe for comparing MACs and keys. Lengths are not secret.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

/** `n` as four big-endian bytes. Throws TypeError unless `n` is an integer in [0, 2^32). */
export function u32be(n: number): Uint8Array {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new TypeError('n: expected an integer in [0, 2^32)');
  const out = new Uint8Array(U32_LENGTH);
  out[0] = n >>> 24;
  out[1] = (n >>> 16) & 0xff;
  out[2] = (n >>> 8) & 0xff;
  out[3] = n & 0xff;
  return out;
}

/** The big-endian u32 at `offset`. Throws RangeError when fewer than four bytes remain there. */
export function readU32be(bytes: Uint8Array, offset: number): number {
  if (!Number.isInteger(offset) || offset < 0 || offset + U32_LENGTH > bytes.length) {
    throw new RangeError(`offset: expected ${U32_LENGTH} bytes at offset within ${bytes.length}`);
  }
  return ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
}
