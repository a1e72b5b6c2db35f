import * as v from 'valibot';
import { maxAttachmentObjectBytes } from '../attachments';
import { LifetimeSeconds, Rid } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `attachment.upload`; parsed at the edge by its route (ARCH §6.12). */
export const AttachmentUploadFrame = v.object({
  action: v.literal('attachment.upload'),
  rid: Rid,
  /**
   * Bytes of the object the client will PUT: the attachment's ciphertext, exactly. The URL is signed for this
   * length, so storage refuses any other. Bounded here by the protocol ceiling; the deployment's
   * `maxAttachmentBytes` is checked by the core.
   */
  size: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(maxAttachmentObjectBytes(Limits.attachmentBytesCeiling))),
  /**
   * The server-side lifetime of the message the attachment goes with (`send`'s `expiresInSeconds`): the object
   * is deleted within a day after that message expires. Absent: `retentionDays`.
   */
  expiresInSeconds: v.optional(LifetimeSeconds),
});
