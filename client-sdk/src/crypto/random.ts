import nacl from 'tweetnacl';
import { toBase64Url } from '../../../protocol/base64url';

/** Bytes from the platform CSPRNG (crypto.getRandomValues in browsers, node:crypto in Node), via tweetnacl. */
export function randomBytes(length: number): Uint8Array {
  return nacl.randomBytes(length);
}

/** base64url of `bytes` random bytes: message ids, connect nonces, request ids. */
export function randomId(bytes: number): string {
  return toBase64Url(nacl.randomBytes(bytes));
}
