/**
 * Attachments on the wire (ARCH §6.12): the id format and how far an attachment's ciphertext may exceed the
 * file it encrypts. Apart from fields.ts so the SDK and the server read one definition of both.
 */

/** Random bytes in an attachment id: 128 bits, so an id cannot be guessed. */
export const ATTACHMENT_ID_RANDOM_BYTES = 16;

/** The longest lifetime class an id may name: the highest `retentionDays` an operator may configure. */
export const MAX_ATTACHMENT_CLASS_DAYS = 365;

/**
 * `<days>/<22 base64url characters>`: the lifetime class the object is expired under (S3 lifecycle rules key
 * on it, ARCH §6.12), then 16 random bytes. It names no user and no time. The id is the object's key.
 */
export const ATTACHMENT_ID_PATTERN = /^([1-9][0-9]{0,2})\/[A-Za-z0-9_-]{22}$/;

/** The lifetime class (whole days) an attachment id names, or undefined when `id` is not one. */
export function attachmentClassDays(id: string): number | undefined {
  const match = ATTACHMENT_ID_PATTERN.exec(id);
  if (!match) return undefined;
  const days = Number(match[1]);
  return days <= MAX_ATTACHMENT_CLASS_DAYS ? days : undefined;
}

/**
 * The most bytes an `attachment.upload` may declare when files may have `maxAttachmentBytes`: the file plus
 * what its encryption may add, at most 1/256 of it (a chunked AEAD with chunks of 4 KiB or more and a 16-byte
 * tag each stays under this) and 4 KiB of headers. The SDK refuses a file over `maxAttachmentBytes` itself;
 * the server refuses a declared size over this.
 */
export function maxAttachmentObjectBytes(maxAttachmentBytes: number): number {
  return maxAttachmentBytes + Math.ceil(maxAttachmentBytes / 256) + 4096;
}
