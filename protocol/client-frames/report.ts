import * as v from 'valibot';
import { AttachmentRefsWire } from '../attachment-ref';
import { base64UrlByteLength } from '../base64url';
import { maxChars, minChars } from '../chars';
import { base64url, bytes, Rid, UserId, Device, MessageId, Timestamp, Frank } from '../fields';
import { FRANK_KEY_BYTES } from '../franking';
import { Limits } from '../limits';

/** What a client sends for `report`; parsed at the edge by its route. */
export const ReportFrame = v.object({
  action: v.literal('report'),
  rid: Rid,
  /** The envelope fields of the reported message, as the caller received it. */
  message: v.object({ id: MessageId, from: v.object({ user: UserId, device: Device }), sentAt: Timestamp, frank: Frank }),
  /** The franking key from inside the ciphertext: with `content` it must reproduce `frank.commitment`. */
  frankKey: bytes(FRANK_KEY_BYTES),
  /** The decrypted content; text as its UTF-8 bytes. */
  content: v.object({
    kind: v.picklist(['text', 'bytes']),
    body: v.pipe(
      base64url,
      maxChars(Math.ceil((Limits.ciphertextBytesCeiling * 4) / 3)),
      v.check((s) => base64UrlByteLength(s) >= 0, 'is not valid base64url'),
    ),
    /** The message's attachment references (ARCH §8.10), which the commitment covers too; absent when it had none. */
    attachments: v.optional(AttachmentRefsWire),
  }),
  reason: v.pipe(v.string(), minChars(1), maxChars(Limits.maxReportReasonChars)),
});
