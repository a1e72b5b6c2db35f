import nacl from 'tweetnacl';
import { concatBytes, equalBytes, u32be } from './bytes';
import { hkdfSha512 } from './hkdf';
import { hmacSha512 } from './hmac';

/**
 * Authenticated encryption with associated data, built from `nacl.secretbox` (which has no
 * associated data) and HMAC-SHA-512, encrypt-then-MAC:
 *
 *   encKey ‖ macKey ‖ nonce = HKDF-SHA-512(key, salt = zeros, info = "ebb-aead-v1", 32 + 32 + 24)
 *   sealed = secretbox(plaintext, nonce, encKey) ‖ HMAC-SHA-512(macKey, u32be(|ad|) ‖ ad ‖ box)[0..32]
 *
 * The nonce is derived from the key, not random: every key given to `aeadSeal` must encrypt ONE
 * message only. Double Ratchet message keys are used exactly once, which is what this is for;
 * sealing two plaintexts under one key reuses the nonce and breaks secretbox.
 */

export const AEAD_KEY_LENGTH = nacl.secretbox.keyLength;
/** HMAC-SHA-512 truncated to 256 bits, as RFC 4868 §2.6 truncates it for IPsec. */
export const AEAD_TAG_LENGTH = nacl.hash.hashLength / 2;
/** Bytes `aeadSeal` adds to the plaintext. */
export const AEAD_OVERHEAD = nacl.secretbox.overheadLength + AEAD_TAG_LENGTH;

const INFO = new TextEncoder().encode('ebb-aead-v1');
const ENC_KEY_END = nacl.secretbox.keyLength;
const MAC_KEY_END = ENC_KEY_END + nacl.hash.hashLength / 2;
const NONCE_END = MAC_KEY_END + nacl.secretbox.nonceLength;

export function aeadSeal(key: Uint8Array, plaintext: Uint8Array, associatedData: Uint8Array): Uint8Array {
  checkKey(key);
  const keys = deriveKeys(key);
  const box = nacl.secretbox(plaintext, keys.subarray(MAC_KEY_END, NONCE_END), keys.subarray(0, ENC_KEY_END));
  const tag = computeTag(keys.subarray(ENC_KEY_END, MAC_KEY_END), associatedData, box);
  keys.fill(0);
  return concatBytes(box, tag);
}

/** The plaintext, or null when `sealed` was not made by `aeadSeal` with this key and AD. */
export function aeadOpen(key: Uint8Array, sealed: Uint8Array, associatedData: Uint8Array): Uint8Array | null {
  checkKey(key);
  if (sealed.length < AEAD_OVERHEAD) return null;
  const box = sealed.subarray(0, sealed.length - AEAD_TAG_LENGTH);
  const keys = deriveKeys(key);
  const expected = computeTag(keys.subarray(ENC_KEY_END, MAC_KEY_END), associatedData, box);
  // The tag is checked (in constant time) before secretbox sees the box, so forged bytes are
  // never decrypted and nothing tells a caller which of the two checks failed.
  const plaintext = equalBytes(expected, sealed.subarray(box.length))
    ? nacl.secretbox.open(box, keys.subarray(MAC_KEY_END, NONCE_END), keys.subarray(0, ENC_KEY_END))
    : null;
  keys.fill(0);
  return plaintext;
}

function checkKey(key: Uint8Array): void {
  if (key.length !== AEAD_KEY_LENGTH) throw new TypeError(`key: expected ${AEAD_KEY_LENGTH} bytes`);
}

function deriveKeys(key: Uint8Array): Uint8Array {
  return hkdfSha512(key, new Uint8Array(0), INFO, NONCE_END);
}

/** The AD's length is framed first so that no (ad, box) split can be read as another. */
function computeTag(macKey: Uint8Array, associatedData: Uint8Array, box: Uint8Array): Uint8Array {
  const mac = hmacSha512(macKey, u32be(associatedData.length), associatedData, box);
  return mac.subarray(0, AEAD_TAG_LENGTH);
}
