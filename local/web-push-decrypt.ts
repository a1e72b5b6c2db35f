import { createDecipheriv, createECDH, hkdfSync } from 'node:crypto';

/**
 * Decrypts a Web Push message body as a browser does (RFC 8291 over RFC 8188 `aes128gcm`), with node:crypto:
 * the local push receiver opens what ebb sends to check that a push service could read nothing in it. Only the
 * receiving side is written here; ebb's sender encrypts with the `web-push` library.
 */

/** The subscription's side: the user agent's P-256 key pair and its 16-byte authentication secret. */
export interface SubscriptionSecrets {
  /** Uncompressed P-256 point, 65 bytes (`p256dh`). */
  readonly publicKey: Uint8Array;
  /** The private scalar, 32 bytes. */
  readonly privateKey: Uint8Array;
  /** `auth`, 16 bytes. */
  readonly authSecret: Uint8Array;
}

const SALT_BYTES = 16;
const TAG_BYTES = 16;
const POINT_BYTES = 65;
/** RFC 8188 §2.1: salt (16) ‖ rs (uint32) ‖ idlen (1) ‖ keyid (idlen). */
const HEADER_BYTES = SALT_BYTES + 4 + 1;
/** RFC 8188 §2: a record is at least one delimiter byte and the tag. */
const MIN_RECORD_SIZE = TAG_BYTES + 1;

/**
 * The plaintext of `body`, or null when it does not open: a wrong key, a flipped bit, a malformed header or
 * padding. Like the SDK's decryption it does not say which check failed.
 * @throws TypeError when `secrets` has the wrong sizes (a caller's mistake, not a bad message).
 */
export function decryptWebPush(body: Uint8Array, secrets: SubscriptionSecrets): Uint8Array | null {
  if (secrets.publicKey.length !== POINT_BYTES) throw new TypeError('publicKey must be a 65-byte uncompressed P-256 point');
  if (secrets.privateKey.length !== 32) throw new TypeError('privateKey must be 32 bytes');
  if (secrets.authSecret.length !== 16) throw new TypeError('authSecret must be 16 bytes');
  if (body.length < HEADER_BYTES) return null;
  const bytes = Buffer.from(body.buffer, body.byteOffset, body.length);
  const salt = bytes.subarray(0, SALT_BYTES);
  const recordSize = bytes.readUInt32BE(SALT_BYTES);
  const idLength = bytes[SALT_BYTES + 4]!;
  // RFC 8291 §4: the key id is the application server's ephemeral public key.
  if (idLength !== POINT_BYTES || recordSize < MIN_RECORD_SIZE || body.length < HEADER_BYTES + idLength + MIN_RECORD_SIZE) return null;
  const serverKey = bytes.subarray(HEADER_BYTES, HEADER_BYTES + idLength);
  const records = bytes.subarray(HEADER_BYTES + idLength);

  let sharedSecret: Buffer;
  const ecdh = createECDH('prime256v1');
  try {
    ecdh.setPrivateKey(secrets.privateKey);
    sharedSecret = ecdh.computeSecret(serverKey);
  } catch {
    return null;
  }
  try {
    // RFC 8291 §3.4: IKM = HKDF(auth_secret, ecdh_secret, "WebPush: info" ‖ 0x00 ‖ ua_public ‖ as_public, 32).
    const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), secrets.publicKey, serverKey]);
    const ikm = Buffer.from(hkdfSync('sha256', sharedSecret, secrets.authSecret, keyInfo, 32));
    // RFC 8188 §2.2 and §2.3: the content-encryption key and the nonce base, from the salt.
    const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
    const nonceBase = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
    return openRecords(records, recordSize, cek, nonceBase);
  } finally {
    // The shared secret would open every message to this subscription from this server key.
    sharedSecret.fill(0);
  }
}

/** RFC 8188 §2: records of `recordSize` bytes, each sealed under the nonce base XOR its sequence number. */
function openRecords(records: Buffer, recordSize: number, cek: Buffer, nonceBase: Buffer): Uint8Array | null {
  const parts: Buffer[] = [];
  for (let offset = 0, seq = 0; offset < records.length; offset += recordSize, seq++) {
    const record = records.subarray(offset, offset + recordSize);
    const last = offset + recordSize >= records.length;
    if (record.length < MIN_RECORD_SIZE) return null;
    const nonce = Buffer.from(nonceBase);
    // The sequence number is XORed into the low 48 bits (a message here never has 2^32 records).
    nonce.writeUInt32BE((nonce.readUInt32BE(8) ^ seq) >>> 0, 8);
    let padded: Buffer;
    try {
      const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
      decipher.setAuthTag(record.subarray(record.length - TAG_BYTES));
      padded = Buffer.concat([decipher.update(record.subarray(0, record.length - TAG_BYTES)), decipher.final()]);
    } catch {
      return null;
    }
    // RFC 8188 §2: data ‖ delimiter (0x02 in the last record, 0x01 before) ‖ zero padding.
    let end = padded.length - 1;
    while (end >= 0 && padded[end] === 0) end--;
    if (end < 0 || padded[end] !== (last ? 2 : 1)) return null;
    parts.push(padded.subarray(0, end));
  }
  return new Uint8Array(Buffer.concat(parts));
}
