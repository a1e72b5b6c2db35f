import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';

/**
 * The code a new device shows and the approving device reads (ARCH §8.6): `ebb-link:` + base64url of
 * version (1 byte) ‖ the new device's Ed25519 signing key (32) ‖ its X25519 link key (32) ‖ expiry in
 * ms since the epoch (u48 big-endian). 104 characters: small enough for a QR code. The server never sees
 * it: the approving device certifies the signing key and seals what the new device needs to the link key.
 */
export interface LinkCode {
  readonly deviceKey: Uint8Array;
  readonly linkKey: Uint8Array;
  /** Ms since the epoch, on the new device's clock. */
  readonly expiresAt: number;
}

export const LINK_CODE_PREFIX = 'ebb-link:';
/** How long a code may be approved, and how long the new device waits for the approval. */
export const LINK_CODE_LIFETIME_MS = 10 * 60_000;

const VERSION = 1;
const EXPIRY_BYTES = 6;
const CODE_BYTES = 1 + nacl.sign.publicKeyLength + nacl.box.publicKeyLength + EXPIRY_BYTES;

export function encodeLinkCode(code: LinkCode): string {
  if (code.deviceKey.length !== nacl.sign.publicKeyLength) throw new TypeError(`deviceKey: expected ${nacl.sign.publicKeyLength} bytes`);
  if (code.linkKey.length !== nacl.box.publicKeyLength) throw new TypeError(`linkKey: expected ${nacl.box.publicKeyLength} bytes`);
  if (!Number.isSafeInteger(code.expiresAt) || code.expiresAt < 0 || code.expiresAt >= 2 ** 48) throw new TypeError('expiresAt: expected a u48');
  const bytes = new Uint8Array(CODE_BYTES);
  bytes[0] = VERSION;
  bytes.set(code.deviceKey, 1);
  bytes.set(code.linkKey, 1 + nacl.sign.publicKeyLength);
  writeU48(bytes, CODE_BYTES - EXPIRY_BYTES, code.expiresAt);
  return LINK_CODE_PREFIX + toBase64Url(bytes);
}

/** The code's fields, or null for anything that is not a version-1 code (whitespace around it is allowed). */
export function parseLinkCode(text: string): LinkCode | null {
  if (typeof text !== 'string') return null;
  const trimmed = text.trim();
  if (!trimmed.startsWith(LINK_CODE_PREFIX)) return null;
  const encoded = trimmed.slice(LINK_CODE_PREFIX.length);
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(encoded);
  } catch {
    return null;
  }
  // Canonical only: one code has one spelling.
  if (bytes.length !== CODE_BYTES || bytes[0] !== VERSION || toBase64Url(bytes) !== encoded) return null;
  return {
    deviceKey: bytes.slice(1, 1 + nacl.sign.publicKeyLength),
    linkKey: bytes.slice(1 + nacl.sign.publicKeyLength, CODE_BYTES - EXPIRY_BYTES),
    expiresAt: readU48(bytes, CODE_BYTES - EXPIRY_BYTES),
  };
}

function writeU48(out: Uint8Array, offset: number, n: number): void {
  for (let i = EXPIRY_BYTES - 1; i >= 0; i--) {
    out[offset + i] = n % 256;
    n = Math.floor(n / 256);
  }
}

function readU48(bytes: Uint8Array, offset: number): number {
  let n = 0;
  for (let i = 0; i < EXPIRY_BYTES; i++) n = n * 256 + bytes[offset + i]!;
  return n;
}
