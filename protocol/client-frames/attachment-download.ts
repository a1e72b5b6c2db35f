import * as v from 'valibot';
import { AttachmentId, Rid } from '../fields';

/** What a client sends for `attachment.download`; parsed at the edge by its route (ARCH §6.12). */
export const AttachmentDownloadFrame = v.object({
  action: v.literal('attachment.download'),
  rid: Rid,
  /** The id `attachment.upload` gave the sender, as the message carried it. */
  id: AttachmentId,
});
