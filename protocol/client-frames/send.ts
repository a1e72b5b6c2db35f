import * as v from 'valibot';
import { Rid, UserId, Device, MessageId, Ciphertext, Commitment, DeliveryToken, Timestamp } from '../fields';
import { Limits } from '../limits';

/** What a client sends for `send`; parsed at the edge by its route. */
export const SendFrame = v.object({
  action: v.literal('send'),
  rid: Rid,
  id: MessageId,
  to: UserId,
  messages: v.pipe(
    /** `commitment`: HMAC-SHA-512/256 of the content under the franking key inside the ciphertext. */
    v.array(v.object({ device: Device, ciphertext: Ciphertext, commitment: Commitment })),
    v.minLength(1),
    v.maxLength(Limits.maxDevicesPerSend),
    v.check((m) => new Set(m.map((x) => x.device)).size === m.length, 'must not name a device twice'),
  ),
  /** Server-side lifetime; capped by the deployment's `retentionDays`. */
  expiresInSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(365 * 86400))),
  /** The recipient's delivery token, when the sender has learnt it: the message then counts as a contact's. */
  deliveryToken: v.optional(DeliveryToken),
  /**
   * The caller's own acks riding on this frame (ARCH §6.5), as the `ack` frame's `messages`: removed from the
   * caller's queue as a quiet `ack` removes them; the result's `acksApplied` says whether they were.
   */
  acks: v.optional(v.pipe(v.array(v.object({ id: MessageId, sentAt: Timestamp })), v.minLength(1), v.maxLength(Limits.maxAckBatch))),
});
