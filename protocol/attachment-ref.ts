import * as v from 'valibot';
import { maxChars, minChars } from './chars';
import { fromBase64Url, toBase64Url } from './base64url';
import { AttachmentId, bytes } from './fields';

/**
 * What a message carries about each of its attachments (ARCH §8.10), inside its ciphertext and under its
 * franking commitment: the object's id in the bucket, the key that opens it, the SHA-256 digest of the stored
 * object, the file's size and the name and media type the sender gave. Shared by the SDK (message plaintext,
 * reports) and the server (a report's commitment check).
 */
export interface AttachmentRef {
  readonly id: string;
  /** ATTACHMENT_KEY_BYTES. */
  readonly key: Uint8Array;
  /** SHA-256 of the stored object, ATTACHMENT_DIGEST_BYTES. */
  readonly digest: Uint8Array;
  /** The file's size in bytes (the stored object is longer by the chunks' overhead). */
  readonly size: number;
  readonly name: string;
  readonly type: string;
}

export const ATTACHMENT_REF_KEY_BYTES = 32;
export const ATTACHMENT_REF_DIGEST_BYTES = 32;

/** Attachments one message may carry. */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10;
/** A file name, in UTF-16 code units, as most file systems bound one. */
export const MAX_ATTACHMENT_NAME_CHARS = 255;
/** A media type: RFC 6838 §4.2 bounds type and subtype to 127 characters each. */
export const MAX_ATTACHMENT_TYPE_CHARS = 255;
/** The largest file size a reference may state (1 TiB): deployments bound uploads far lower. */
export const MAX_ATTACHMENT_REF_SIZE = 2 ** 40;

/** No control characters (C0, DEL, C1) nor lone surrogates: a name is shown and may become a file name. */
const PRINTABLE = /^[^\u0000-\u001f\u007f-\u009f]*$/;

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export const AttachmentName = v.pipe(
  v.string(),
  minChars(1),
  maxChars(MAX_ATTACHMENT_NAME_CHARS),
  v.regex(PRINTABLE, 'must not hold control characters'),
  v.check((s) => !LONE_SURROGATE.test(s), 'must be well-formed Unicode'),
);

/** `type/subtype` with optional parameters, as RFC 6838 §4.2 spells the names. */
export const AttachmentType = v.pipe(
  v.string(),
  maxChars(MAX_ATTACHMENT_TYPE_CHARS),
  v.regex(/^[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*\/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*(;[\x20-\x7e]*)?$/, 'must be a media type'),
);

export const AttachmentSize = v.pipe(v.number(), v.integer(), v.minValue(0), v.maxValue(MAX_ATTACHMENT_REF_SIZE));

/** An attachment reference with its bytes in base64url, as plaintexts and report frames carry it. */
export const AttachmentRefWire = v.strictObject({
  id: AttachmentId,
  key: bytes(ATTACHMENT_REF_KEY_BYTES),
  digest: bytes(ATTACHMENT_REF_DIGEST_BYTES),
  size: AttachmentSize,
  name: AttachmentName,
  type: AttachmentType,
});
export type AttachmentRefWire = v.InferOutput<typeof AttachmentRefWire>;

export const AttachmentRefsWire = v.pipe(v.array(AttachmentRefWire), v.minLength(1), v.maxLength(MAX_ATTACHMENTS_PER_MESSAGE));

export function attachmentRefToWire(ref: AttachmentRef): AttachmentRefWire {
  return { id: ref.id, key: toBase64Url(ref.key), digest: toBase64Url(ref.digest), size: ref.size, name: ref.name, type: ref.type };
}

/** The reference `wire` holds, or null unless its key and digest are canonical base64url of the right lengths. */
export function attachmentRefFromWire(wire: AttachmentRefWire): AttachmentRef | null {
  const key = canonicalBytes(wire.key, ATTACHMENT_REF_KEY_BYTES);
  const digest = canonicalBytes(wire.digest, ATTACHMENT_REF_DIGEST_BYTES);
  if (!key || !digest) return null;
  return { id: wire.id, key, digest, size: wire.size, name: wire.name, type: wire.type };
}

function canonicalBytes(encoded: string, length: number): Uint8Array | null {
  let decoded: Uint8Array;
  try {
    decoded = fromBase64Url(encoded);
  } catch {
    return null;
  }
  return decoded.length === length && toBase64Url(decoded) === encoded ? decoded : null;
}
