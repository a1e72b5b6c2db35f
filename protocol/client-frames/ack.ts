import * as z from 'zod/mini';
import { Rid, MessageId, Timestamp } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `ack`; parsed at the edge by its route. */
export const AckFrame = z.object({
  action: z.literal('ack'),
  rid: Rid,
  /** `id` and `sentAt` of each envelope, as delivered. */
  messages: z.array(z.object({ id: MessageId, sentAt: Timestamp })).check(z.minLength(1), z.maxLength(Limits.maxAckBatch)),
});
