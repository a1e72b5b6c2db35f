import * as z from 'zod/mini';
import { Rid, MessageId, Timestamp } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `ack`; parsed at the edge by its route. */
export const AckFrame = z.object({
  action: z.literal('ack'),
  rid: Rid,
  /** `id` and `sentAt` of each envelope, as delivered. */
  messages: z.array(z.object({ id: MessageId, sentAt: Timestamp })).check(z.minLength(1), z.maxLength(Limits.maxAckBatch)),
  /**
   * `true`: answer only an error. A successful ack then costs one API Gateway message (the frame) instead of
   * two; a lost ack is harmless (the message comes back and is deduplicated), so a client may skip the result.
   */
  quiet: z.optional(z.boolean()),
});
