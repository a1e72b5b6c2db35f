import * as z from 'zod/mini';
import { ATTACHMENT_ID_PATTERN, attachmentClassDays } from './attachments';
import { BASE64URL_PATTERN, base64UrlByteLength } from './base64url';
import { USER_ID_LENGTH } from './connect';
import { COMMITMENT_BYTES, FRANK_TAG_BYTES } from './franking';
import { Limits } from './limits';

/** The fields client and server frames are made of (protocol/frames.ts re-exports the public ones). */

/** A base64url string without padding. */
export const base64url = z.string().check(z.regex(BASE64URL_PATTERN, 'must be base64url without padding'));

/** base64url of exactly `n` bytes. */
export function bytes(n: number) {
  const chars = Math.ceil((n * 4) / 3);
  return base64url.check(
    z.length(chars),
    z.refine((s) => base64UrlByteLength(s) === n, `must encode ${n} bytes`),
  );
}

export const Rid = z.string().check(z.minLength(1), z.maxLength(64));
export const UserId = base64url.check(z.length(USER_ID_LENGTH));
export const Device = z.number().check(z.int(), z.minimum(1), z.maximum(Limits.maxDevice));
/** Client-chosen message id: 16–64 base64url characters (the SDK uses 16 random bytes). */
export const MessageId = base64url.check(z.minLength(16), z.maxLength(64));
export const PublicKey = bytes(32);
export const Signature = bytes(64);
export const KeyId = z.number().check(z.int(), z.minimum(0), z.maximum(2 ** 31 - 1));
/** Bounded by the protocol ceiling here; the deployment's `maxCiphertextBytes` is checked by the core. */
export const Ciphertext = base64url.check(
  z.minLength(1),
  z.maxLength(Math.ceil((Limits.ciphertextBytesCeiling * 4) / 3)),
  z.refine((s) => base64UrlByteLength(s) > 0, 'is not valid base64url'),
);
export const Timestamp = z.number().check(z.int(), z.minimum(0), z.maximum(8.64e15));

/** Names the server's franking key a tag was made with (ARCH §9.3); old ones stay valid for reports. */
export const FrankKeyId = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1 to 32 characters of A-Z, a-z, 0-9, _ and -'));
export const Commitment = bytes(COMMITMENT_BYTES);
/** The franking fields of a delivered message: the sender's commitment and the server's tag over it. */
export const Frank = z.object({ commitment: Commitment, tag: bytes(FRANK_TAG_BYTES), kid: FrankKeyId });
export type Frank = z.infer<typeof Frank>;

/**
 * The recipient's delivery token, as a contact presents it in `send` (ARCH §6.6): the recipient's SDK puts it
 * inside every message it sends, so only people it wrote to hold it. Never logged.
 */
export const DeliveryToken = bytes(Limits.deliveryTokenBytes);

/** A discoverable name (ARCH §4.5): unique regardless of case, so "Alice_1" and "alice_1" are one name. */
export const Username = z.string().check(z.regex(/^[A-Za-z0-9_]{3,32}$/, 'must be 3 to 32 characters of A-Z, a-z, 0-9 and _'));

/** A device's name, sealed by the SDK under a key only the account's devices hold: opaque to the server. */
export const DeviceName = base64url.check(z.minLength(1), z.maxLength(Limits.maxDeviceNameChars));

export const SignedPrekey = z.object({ keyId: KeyId, publicKey: PublicKey, signature: Signature });
export const OneTimePrekey = z.object({ keyId: KeyId, publicKey: PublicKey });
export type SignedPrekey = z.infer<typeof SignedPrekey>;
export type OneTimePrekey = z.infer<typeof OneTimePrekey>;

/** An attachment's object (protocol/attachments.ts): its lifetime class in days, then 128 random bits. */
export const AttachmentId = z.string().check(
  z.regex(ATTACHMENT_ID_PATTERN, 'must be an attachment id: <days>/<22 base64url characters>'),
  z.refine((s) => attachmentClassDays(s) !== undefined, 'names a lifetime class over 365 days'),
);

/** A message's server-side lifetime as a client asks for it; capped by the deployment's `retentionDays`. */
export const LifetimeSeconds = z.number().check(z.int(), z.minimum(1), z.maximum(365 * 86400));
