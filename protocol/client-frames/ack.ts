import * as v from 'valibot';
import { Rid, MessageId, Timestamp } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `ack`; parsed at the edge by its route. */
export const AckFrame = v.object({
  action: v.literal('ack'),
  rid: Rid,
  /** `id` and `sentAt` of each envelope, as delivered. */
  messages: v.pipe(v.array(v.object({ id: MessageId, sentAt: Timestamp })), v.minLength(1), v.maxLength(Limits.maxAckBatch)),
  /**
   * `true`: answer only an error. A successful ack then costs one API Gateway message (the frame) instead of
   * two; a lost ack is harmless (the message comes back and is deduplicated), so a client may skip the result.
   */
  quiet: v.optional(v.boolean()),
});
