import * as z from 'zod/mini';
import { AttachmentId, Rid } from '../fields';

/** What a client sends for `attachment.download`; parsed at the edge by its route (ARCH §6.12). */
export const AttachmentDownloadFrame = z.object({
  action: z.literal('attachment.download'),
  rid: Rid,
  /** The id `attachment.upload` gave the sender, as the message carried it. */
  id: AttachmentId,
});
