import * as z from 'zod/mini';
import { Rid, UserId, Device, MessageId, Ciphertext, Commitment, DeliveryToken, Timestamp } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `send`; parsed at the edge by its route. */
export const SendFrame = z.object({
  action: z.literal('send'),
  rid: Rid,
  id: MessageId,
  to: UserId,
  messages: z
    /** `commitment`: HMAC-SHA-512/256 of the content under the franking key inside the ciphertext. */
    .array(z.object({ device: Device, ciphertext: Ciphertext, commitment: Commitment }))
    .check(
      z.minLength(1),
      z.maxLength(Limits.maxDevicesPerSend),
      z.refine((m) => new Set(m.map((x) => x.device)).size === m.length, 'must not name a device twice'),
    ),
  /** Server-side lifetime; capped by the deployment's `retentionDays`. */
  expiresInSeconds: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(365 * 86400))),
  /** The recipient's delivery token, when the sender has learnt it: the message then counts as a contact's. */
  deliveryToken: z.optional(DeliveryToken),
  /**
   * The caller's own acks riding on this frame (ARCH §6.5), as the `ack` frame's `messages`: removed from the
   * caller's queue as a quiet `ack` removes them; the result's `acksApplied` says whether they were.
   */
  acks: z.optional(z.array(z.object({ id: MessageId, sentAt: Timestamp })).check(z.minLength(1), z.maxLength(Limits.maxAckBatch))),
});
