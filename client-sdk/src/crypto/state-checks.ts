import { base64UrlByteLength, BASE64URL_PATTERN, fromBase64Url, toBase64Url } from '../../../protocol/base64url';

/**
 * The small checks the ratchet and the sender keys share: wiping derived keys, and the plain predicates their
 * stored-state parsers use, so a bad field never echoes its value.
 */

/** The largest value a u32 field holds. */
export const U32_MAX = 0xffffffff;

export function wipe(...buffers: Uint8Array[]): void {
  for (const buffer of buffers) buffer.fill(0);
}

export function isU32(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= U32_MAX;
}

export function checkLength(name: string, bytes: Uint8Array, length: number): void {
  if (bytes.length !== length) throw new TypeError(`${name}: expected ${length} bytes`);
}

/** base64url of exactly `length` bytes, in the one encoding toBase64Url writes. */
export function isKey(value: unknown, length: number): value is string {
  return typeof value === 'string' && BASE64URL_PATTERN.test(value) && base64UrlByteLength(value) === length && canonical(value);
}

/** Only the encoding toBase64Url writes: no stray bits in the last character. */
function canonical(value: string): boolean {
  try {
    return toBase64Url(fromBase64Url(value)) === value;
  } catch {
    return false;
  }
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
