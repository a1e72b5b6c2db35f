import * as z from 'zod/mini';
import { maxAttachmentObjectBytes } from '../attachments';
import { LifetimeSeconds, Rid } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `attachment.upload`; parsed at the edge by its route (ARCH §6.12). */
export const AttachmentUploadFrame = z.object({
  action: z.literal('attachment.upload'),
  rid: Rid,
  /**
   * Bytes of the object the client will PUT: the attachment's ciphertext, exactly. The URL is signed for this
   * length, so storage refuses any other. Bounded here by the protocol ceiling; the deployment's
   * `maxAttachmentBytes` is checked by the core.
   */
  size: z.number().check(z.int(), z.minimum(1), z.maximum(maxAttachmentObjectBytes(Limits.attachmentBytesCeiling))),
  /**
   * The server-side lifetime of the message the attachment goes with (`send`'s `expiresInSeconds`): the object
   * is deleted within a day after that message expires. Absent: `retentionDays`.
   */
  expiresInSeconds: z.optional(LifetimeSeconds),
});
