import * as v from 'valibot';
import { Rid, UserId, Device, MessageId, Ciphertext, Commitment, DeliveryToken, Timestamp } from '../fields';
import { Limits } from '../limits';

/** One recipient of a fan-out: a user, the devices of it the copy goes to, and its delivery token if the sender holds it. */
const FanoutRecipient = v.object({
  user: UserId,
  devices: v.pipe(
    v.array(Device),
    v.minLength(1),
    v.maxLength(Limits.maxDevice),
    v.check((d) => new Set(d).size === d.length, 'must not name a device twice'),
  ),
  /** The recipient's delivery token, when the sender has learnt it: the copies then count as a contact's (ARCH §6.6). */
  deliveryToken: v.optional(DeliveryToken),
});

/**
 * What a client sends for `fanout` (ARCH §6.11): ONE ciphertext, queued for every named device of every
 * recipient. The frame names no group: a group's id, name and members live inside the ciphertext.
 */
export const FanoutFrame = v.object({
  action: v.literal('fanout'),
  rid: Rid,
  id: MessageId,
  ciphertext: Ciphertext,
  /** HMAC-SHA-512/256 of the content under the franking key inside the ciphertext: the same for every copy. */
  commitment: Commitment,
  /** Server-side lifetime; capped by the deployment's `retentionDays`. */
  expiresInSeconds: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(365 * 86400))),
  recipients: v.pipe(
    v.array(FanoutRecipient),
    v.minLength(1),
    v.maxLength(Limits.maxFanoutDevicesPerFrame),
    v.check((r) => new Set(r.map((x) => x.user)).size === r.length, 'must not name a user twice'),
    v.check(
      (r) => r.reduce((copies, x) => copies + x.devices.length, 0) <= Limits.maxFanoutDevicesPerFrame,
      `must address at most ${Limits.maxFanoutDevicesPerFrame} devices in all`,
    ),
  ),
  /**
   * The caller's own acks riding on this frame (ARCH §6.5), as the `ack` frame's `messages`: removed from the
   * caller's queue as a quiet `ack` removes them; the result's `acksApplied` says whether they were.
   */
  acks: v.optional(v.pipe(v.array(v.object({ id: MessageId, sentAt: Timestamp })), v.minLength(1), v.maxLength(Limits.maxAckBatch))),
});
