import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { concatBytes } from '../crypto/bytes';
import { hkdfSha512 } from '../crypto/hkdf';
import { randomBytes } from '../crypto/random';

/**
 * Device names as the service keeps them (ARCH §8.6): sealed with secretbox under a key derived from the
 * account's identity secret, which every device of the account holds and the service never does. The name
 * is padded to a fixed size, so the sealed form does not tell its length either.
 * Layout: nonce ‖ secretbox(u8 length ‖ UTF-8 name ‖ zeros), 224 base64url characters.
 */

/** The longest name in UTF-8 bytes. */
export const MAX_DEVICE_NAME_BYTES = 127;

const PADDED_BYTES = MAX_DEVICE_NAME_BYTES + 1;
const INFO = new TextEncoder().encode('ebb-device-name-v1');

/** @throws TypeError when `name` is empty or longer than MAX_DEVICE_NAME_BYTES in UTF-8. */
export function sealDeviceName(name: string, identitySecretKey: Uint8Array): string {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length < 1 || bytes.length > MAX_DEVICE_NAME_BYTES) throw new TypeError(`name: expected 1 to ${MAX_DEVICE_NAME_BYTES} bytes of UTF-8`);
  const padded = new Uint8Array(PADDED_BYTES);
  padded[0] = bytes.length;
  padded.set(bytes, 1);
  const key = nameKey(identitySecretKey);
  const nonce = randomBytes(nacl.secretbox.nonceLength);
  const sealed = concatBytes(nonce, nacl.secretbox(padded, nonce, key));
  key.fill(0);
  return toBase64Url(sealed);
}

/** The name, or null when `sealed` does not open under this account's key or is malformed. */
export function openDeviceName(sealed: string, identitySecretKey: Uint8Array): string | null {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(sealed);
  } catch {
    return null;
  }
  if (bytes.length !== nacl.secretbox.nonceLength + nacl.secretbox.overheadLength + PADDED_BYTES) return null;
  const key = nameKey(identitySecretKey);
  const padded = nacl.secretbox.open(bytes.subarray(nacl.secretbox.nonceLength), bytes.subarray(0, nacl.secretbox.nonceLength), key);
  key.fill(0);
  if (!padded || padded[0]! < 1 || padded[0]! > MAX_DEVICE_NAME_BYTES) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(padded.subarray(1, 1 + padded[0]!));
  } catch {
    return null;
  }
}

function nameKey(identitySecretKey: Uint8Array): Uint8Array {
  return hkdfSha512(identitySecretKey, new Uint8Array(0), INFO, nacl.secretbox.keyLength);
}
