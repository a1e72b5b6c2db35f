import * as z from 'zod/mini';
import { AttachmentRefsWire } from '../attachment-ref';
import { base64UrlByteLength } from '../base64url';
import { base64url, bytes, Rid, UserId, Device, MessageId, Timestamp, Frank } from '../fields';
import { FRANK_KEY_BYTES } from '../franking';
import { Limits } from '../limits';

/** What a client sends for `report`; parsed at the edge by its route. */
export const ReportFrame = z.object({
  action: z.literal('report'),
  rid: Rid,
  /** The envelope fields of the reported message, as the caller received it. */
  message: z.object({ id: MessageId, from: z.object({ user: UserId, device: Device }), sentAt: Timestamp, frank: Frank }),
  /** The franking key from inside the ciphertext: with `content` it must reproduce `frank.commitment`. */
  frankKey: bytes(FRANK_KEY_BYTES),
  /** The decrypted content; text as its UTF-8 bytes. */
  content: z.object({
    kind: z.enum(['text', 'bytes']),
    body: base64url.check(
      z.maxLength(Math.ceil((Limits.ciphertextBytesCeiling * 4) / 3)),
      z.refine((s) => base64UrlByteLength(s) >= 0, 'is not valid base64url'),
    ),
    /** The message's attachment references (ARCH §8.10), which the commitment covers too; absent when it had none. */
    attachments: z.optional(AttachmentRefsWire),
  }),
  reason: z.string().check(z.minLength(1), z.maxLength(Limits.maxReportReasonChars)),
});
