import * as v from 'valibot';
import { chars, maxChars, minChars } from './chars';
import { ATTACHMENT_ID_PATTERN, attachmentClassDays } from './attachments';
import { BASE64URL_PATTERN, base64UrlByteLength } from './base64url';
import { USER_ID_LENGTH } from './connect';
import { COMMITMENT_BYTES, FRANK_TAG_BYTES } from './franking';
import { Limits } from './limits';

/** The fields client and server frames are made of (protocol/frames.ts re-exports the public ones). */

/** A base64url string without padding. */
export const base64url = v.pipe(v.string(), v.regex(BASE64URL_PATTERN, 'must be base64url without padding'));

/** base64url of exactly `n` bytes. */
export function bytes(n: number) {
  const length = Math.ceil((n * 4) / 3);
  return v.pipe(
    base64url,
    chars(length),
    v.check((s) => base64UrlByteLength(s) === n, `must encode ${n} bytes`),
  );
}

/** A whole number from `min` to `max` (at most the largest safe integer, so that it survives JSON). */
export function wholeNumber(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return v.pipe(v.number(), v.integer(), v.minValue(min), v.maxValue(max));
}

export const Rid = v.pipe(v.string(), minChars(1), maxChars(64));
export const UserId = v.pipe(base64url, chars(USER_ID_LENGTH));
export const Device = wholeNumber(1, Limits.maxDevice);
/** Client-chosen message id: 16–64 base64url characters (the SDK uses 16 random bytes). */
export const MessageId = v.pipe(base64url, minChars(16), maxChars(64));
export const PublicKey = bytes(32);
export const Signature = bytes(64);
export const KeyId = wholeNumber(0, 2 ** 31 - 1);
/** Bounded by the protocol ceiling here; the deployment's `maxCiphertextBytes` is checked by the core. */
export const Ciphertext = v.pipe(
  base64url,
  minChars(1),
  maxChars(Math.ceil((Limits.ciphertextBytesCeiling * 4) / 3)),
  v.check((s) => base64UrlByteLength(s) > 0, 'is not valid base64url'),
);
export const Timestamp = wholeNumber(0, 8.64e15);

/** Names the server's franking key a tag was made with (ARCH §9.3); old ones stay valid for reports. */
export const FrankKeyId = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1 to 32 characters of A-Z, a-z, 0-9, _ and -'));
export const Commitment = bytes(COMMITMENT_BYTES);
/** The franking fields of a delivered message: the sender's commitment and the server's tag over it. */
export const Frank = v.object({ commitment: Commitment, tag: bytes(FRANK_TAG_BYTES), kid: FrankKeyId });
export type Frank = v.InferOutput<typeof Frank>;

/**
 * The recipient's delivery token, as a contact presents it in `send` (ARCH §6.6): the recipient's SDK puts it
 * inside every message it sends, so only people it wrote to hold it. Never logged.
 */
export const DeliveryToken = bytes(Limits.deliveryTokenBytes);

/** A discoverable name (ARCH §4.5): unique regardless of case, so "Alice_1" and "alice_1" are one name. */
export const Username = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_]{3,32}$/, 'must be 3 to 32 characters of A-Z, a-z, 0-9 and _'));

/** A device's name, sealed by the SDK under a key only the account's devices hold: opaque to the server. */
export const DeviceName = v.pipe(base64url, minChars(1), maxChars(Limits.maxDeviceNameChars));

export const SignedPrekey = v.object({ keyId: KeyId, publicKey: PublicKey, signature: Signature });
export const OneTimePrekey = v.object({ keyId: KeyId, publicKey: PublicKey });
export type SignedPrekey = v.InferOutput<typeof SignedPrekey>;
export type OneTimePrekey = v.InferOutput<typeof OneTimePrekey>;

/** An attachment's object (protocol/attachments.ts): its lifetime class in days, then 128 random bits. */
export const AttachmentId = v.pipe(
  v.string(),
  v.regex(ATTACHMENT_ID_PATTERN, 'must be an attachment id: <days>/<22 base64url characters>'),
  v.check((s) => attachmentClassDays(s) !== undefined, 'names a lifetime class over 365 days'),
);

/** A message's server-side lifetime as a client asks for it; capped by the deployment's `retentionDays`. */
export const LifetimeSeconds = wholeNumber(1, 365 * 86400);
