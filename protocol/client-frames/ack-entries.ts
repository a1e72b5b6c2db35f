import * as z from 'zod/mini';
import { MessageId, Timestamp } from '../fields';
import { Limits } from '../limits';

/**
 * The messages an ack names, `id` and `sentAt` of each envelope as delivered: the `ack` frame's `messages`, and
 * `send`'s and `fanout`'s `acks` (ARCH §6.5). Its own module, so a route carrying acks bundles no `ack` frame.
 */
export const AckEntries = z.array(z.object({ id: MessageId, sentAt: Timestamp })).check(z.minLength(1), z.maxLength(Limits.maxAckBatch));
