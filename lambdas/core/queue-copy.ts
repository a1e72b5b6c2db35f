import type { Envelope } from '../../protocol/frames';
import { frankTag } from './franking';
import type { ConnectionRecord, DeviceAddress, FrankingKey, Ports, QueuedMessage, QueueLimits, QueueShare } from './ports';

/**
 * One copy of a message for one recipient device, and the push that follows: the steps `send` (ARCH §6.2)
 * and `fanout` (ARCH §6.11) share.
 */

/** What a copy is made of; `sentAt` and `expiresAt` are the server's (epoch ms and epoch seconds). */
export interface CopyOf {
  readonly id: string;
  readonly from: DeviceAddress;
  readonly sentAt: number;
  readonly expiresAt: number;
  readonly ciphertext: string;
  readonly commitment: string;
  readonly share: QueueShare;
  readonly frankingKey: FrankingKey;
}

export type QueuedCopy = { readonly message: QueuedMessage; readonly duplicate: boolean };

/**
 * Reserves a place in `recipient`'s queue, puts the copy, then claims the retry marker (ARCH §6.3). `'full'`
 * when the share it counts in has no room: nothing is written. A retry of an id already queued for this
 * device drops its own copy and answers with the original, `duplicate`.
 */
export async function queueCopy(
  ports: Ports,
  recipient: DeviceAddress,
  copy: CopyOf,
  limits: QueueLimits,
  now: number,
): Promise<QueuedCopy | 'full'> {
  const { id, from, sentAt, expiresAt, ciphertext, share } = copy;
  const franked = (at: number) => frankFor(copy.frankingKey, copy.commitment, from, recipient, at, id);
  const message: QueuedMessage = { recipient, id, from, sentAt, expiresAt, ciphertext, frank: franked(sentAt), share };
  if (!(await ports.queue.reserve(recipient, share, limits, now))) return 'full';
  await ports.queue.put(message);
  const earlier = await ports.queue.claim(recipient, from.userId, id, { sentAt, expiresAt, share });
  if (earlier === null) return { message, duplicate: false };
  // A retry: drop this copy and answer with the original. Pushing it again is harmless (the SDK dedups)
  // and covers an original attempt that failed between its write and its push; its tag is remade for
  // the original's time, which the tag binds.
  // In the same millisecond the copy overwrote the original under the same key, share included: the
  // original's reservation is the one left over.
  const dropped =
    earlier.sentAt === sentAt
      ? { messages: 1, strangers: earlier.share === 'stranger' ? 1 : 0 }
      : await ports.queue.remove(recipient, [{ id, sentAt }], now);
  await ports.queue.release(recipient, dropped);
  return {
    message: { ...message, sentAt: earlier.sentAt, expiresAt: earlier.expiresAt, frank: franked(earlier.sentAt) },
    duplicate: true,
  };
}

/** The franking fields of one queued copy: the sender's commitment and the server's tag binding it (ARCH §9.2). */
function frankFor(key: FrankingKey, commitment: string, from: DeviceAddress, to: DeviceAddress, sentAt: number, id: string): QueuedMessage['frank'] {
  const delivery = { commitment, from: { user: from.userId, device: from.device }, to: { user: to.userId, device: to.device }, sentAt, id };
  return { commitment, tag: frankTag(key, delivery), kid: key.kid };
}

/**
 * Best effort: the message is already durable. A connection API Gateway calls gone is the recipient's and is
 * deleted. Returns the devices of `messages` that no push reached, as they have no live connection (none recorded,
 * or only ones gone): those are the devices to wake (ARCH §6.13).
 */
export async function pushToRecipient(ports: Ports, userId: string, messages: readonly QueuedMessage[]): Promise<DeviceAddress[]> {
  const connections = await ports.connections.ofUser(userId, ports.clock.now());
  const byDevice = new Map<number, ConnectionRecord[]>();
  for (const c of connections) byDevice.set(c.device, [...(byDevice.get(c.device) ?? []), c]);
  const live = new Set<number>();
  await Promise.all(
    messages.flatMap((message) =>
      (byDevice.get(message.recipient.device) ?? []).map(async (connection) => {
        const outcome = await ports.notifier.push(connection.connectionId, JSON.stringify({ type: 'message', ...toEnvelope(message) }));
        if (outcome === 'gone') {
          await ports.connections.remove(userId, connection.connectionId);
          // Neither the recipient nor its connection: this runs in the sender's request.
          ports.logger.info('stale connection removed', { gone: 1 });
        } else {
          // Sent, or failed for a while: the device is connected, and a wake-up would not help it.
          live.add(connection.device);
        }
      }),
    ),
  );
  const offline = new Set(messages.map((m) => m.recipient.device).filter((device) => !live.has(device)));
  return [...offline].map((device) => ({ userId, device }));
}

export function toEnvelope(message: QueuedMessage): Envelope {
  return {
    id: message.id,
    from: { user: message.from.userId, device: message.from.device },
    sentAt: message.sentAt,
    expiresAt: message.expiresAt * 1000,
    ciphertext: message.ciphertext,
    frank: message.frank,
  };
}

/**
 * A `device.remove` that changed a recipient's account after this request read it deletes the device's queue
 * after changing it, maybe before this request's copy was written. Read the accounts again: either the
 * removal's delete follows the write, or this read sees the removal and the copy is taken back here (ARCH
 * §4.6). Device 1 is never removed, so copies only for device 1 cost nothing more; others cost one read.
 * Returns the copies taken back, which are neither pushed nor answered as written.
 */
export async function takeBackRemoved(
  ports: Pick<Ports, 'accounts' | 'queue'>,
  written: readonly QueuedMessage[],
  nowMs: number,
): Promise<QueuedMessage[]> {
  const linked = written.filter((m) => m.recipient.device !== 1);
  if (linked.length === 0) return [];
  const accounts = await ports.accounts.getMany([...new Set(linked.map((m) => m.recipient.userId))]);
  const gone = linked.filter((m) => !accounts.get(m.recipient.userId)?.devices.includes(m.recipient.device));
  await Promise.all(gone.map((m) => ports.queue.remove(m.recipient, [{ id: m.id, sentAt: m.sentAt }], nowMs)));
  return gone;
}
