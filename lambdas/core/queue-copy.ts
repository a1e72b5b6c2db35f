import type { Envelope } from '../../protocol/frames';
import { frankTag } from './franking';
import { forEachBounded, mapBounded } from './bounded';
import type { AccountRecord, ConnectionRecord, DeviceAddress, FrankingKey, Ports, QueuedMessage, QueueLimits, QueueShare } from './ports';

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

/** A place asked for in one recipient device's queue, under a share, and whether it was granted. */
export interface Reservation {
  readonly address: DeviceAddress;
  readonly share: QueueShare;
  readonly granted: boolean;
}

/**
 * Reserves a place for each of `wanted` (ARCH §6.6), at most `concurrency` requests in flight. A failure
 * gives back the places already granted before it rejects.
 */
export async function reserveAll(
  ports: Pick<Ports, 'queue'>,
  wanted: readonly { readonly address: DeviceAddress; readonly share: QueueShare }[],
  limits: QueueLimits,
  now: number,
  concurrency = Infinity,
): Promise<Reservation[]> {
  const granted: Reservation[] = [];
  try {
    return await mapBounded(wanted, concurrency, async ({ address, share }) => {
      const reservation = { address, share, granted: await ports.queue.reserve(address, share, limits, now) };
      if (reservation.granted) granted.push(reservation);
      return reservation;
    });
  } catch (error) {
    await cancelReservations(ports, granted, () => false).catch(() => undefined);
    throw error;
  }
}

/**
 * Gives back the granted ones of `reservations`, one request per device; those `orphaned` says have no
 * account or device behind them leave no counter that holds nothing else (`CiphertextQueue.cancel`).
 */
export async function cancelReservations(
  ports: Pick<Ports, 'queue'>,
  reservations: readonly Reservation[],
  orphaned: (address: DeviceAddress) => boolean,
  concurrency = Infinity,
): Promise<void> {
  const byDevice = new Map<string, { address: DeviceAddress; messages: number; strangers: number }>();
  for (const r of reservations) {
    if (!r.granted) continue;
    const key = `${r.address.userId}#${r.address.device}`;
    const entry = byDevice.get(key) ?? { address: r.address, messages: 0, strangers: 0 };
    entry.messages++;
    if (r.share === 'stranger') entry.strangers++;
    byDevice.set(key, entry);
  }
  await forEachBounded([...byDevice.values()], concurrency, ({ address, messages, strangers }) =>
    ports.queue.cancel(address, { messages, strangers }, orphaned(address)),
  );
}

/** What the copies' writing came to: the copies kept, and the recipients' live connections for their push. */
export interface Written {
  /** Copies written (or found written by an earlier attempt: `duplicate`) and not taken back. */
  readonly kept: QueuedCopy[];
  /** Copies for devices removed while they were written (ARCH §4.6): taken back, answered stale. */
  readonly gone: QueuedMessage[];
  /** Each recipient's connections, read after the copies were durable. */
  readonly connections: ReadonlyMap<string, ConnectionRecord[]>;
  /** The clean-up still running (duplicates dropped, copies taken back): await it beside the push. */
  readonly cleanup: Promise<void>;
}

/**
 * Writes copies whose places are reserved, in two round trips (ARCH §6.2): all the puts; then, together, the
 * retry markers' claims (ARCH §6.3), the accounts read again for copies to linked devices (ARCH §4.6) and
 * the recipients' connections. A retry of an id already queued for a device drops its own copy and answers
 * with the original, `duplicate`; a copy for a device removed meanwhile is taken back.
 */
export async function writeCopies(
  ports: Pick<Ports, 'queue' | 'accounts' | 'connections'>,
  copies: readonly { readonly recipient: DeviceAddress; readonly copy: CopyOf }[],
  now: number,
  concurrency = Infinity,
): Promise<Written> {
  const messages = copies.map(({ recipient, copy }) => messageOf(recipient, copy, copy.sentAt));
  await forEachBounded(messages, concurrency, (message) => ports.queue.put(message));

  const linked = [...new Set(messages.filter((m) => m.recipient.device !== 1).map((m) => m.recipient.userId))];
  const users = [...new Set(messages.map((m) => m.recipient.userId))];
  const [claims, accounts, connections] = await Promise.all([
    mapBounded(messages, concurrency, ({ recipient, from, id, sentAt, expiresAt, share }) =>
      ports.queue.claim(recipient, from.userId, id, { sentAt, expiresAt, share }),
    ),
    // Device 1 is never removed, so copies only for device 1 need no second read.
    linked.length > 0 ? ports.accounts.getMany(linked) : Promise.resolve(new Map<string, AccountRecord>()),
    mapBounded(users, concurrency, (userId) => ports.connections.ofUser(userId, now)),
  ]);

  const work: (() => Promise<unknown>)[] = [];
  const settled = messages.map((message, i): QueuedCopy => {
    const earlier = claims[i];
    if (earlier === null || earlier === undefined) return { message, duplicate: false };
    // A retry: drop this copy and answer with the original. Pushing it again is harmless (the SDK dedups)
    // and covers an original attempt that failed between its write and its push; its tag is remade for
    // the original's time, which the tag binds.
    // In the same millisecond the copy overwrote the original under the same key, share included: the
    // original's reservation is the one left over.
    work.push(async () => {
      const dropped =
        earlier.sentAt === message.sentAt
          ? { messages: 1, strangers: earlier.share === 'stranger' ? 1 : 0 }
          : await ports.queue.remove(message.recipient, [{ id: message.id, sentAt: message.sentAt }], now);
      await ports.queue.release(message.recipient, dropped);
    });
    return { message: messageOf(message.recipient, copies[i]!.copy, earlier.sentAt, earlier.expiresAt), duplicate: true };
  });
  // A `device.remove` that changed a recipient's account after this request read it deletes the device's
  // queue after changing it, maybe before this copy was written. The second read sees the removal, or the
  // removal's delete follows the write (ARCH §4.6): either way the copy does not stay.
  const gone = settled
    .map((q) => q.message)
    .filter((m) => m.recipient.device !== 1 && !accounts.get(m.recipient.userId)?.devices.includes(m.recipient.device));
  for (const m of gone) work.push(() => ports.queue.remove(m.recipient, [{ id: m.id, sentAt: m.sentAt }], now));
  const goneSet = new Set(gone);
  return {
    kept: settled.filter((q) => !goneSet.has(q.message)),
    gone,
    connections: new Map(users.map((userId, i) => [userId, connections[i]!])),
    cleanup: forEachBounded(work, concurrency, async (run) => void (await run())),
  };
}

/** The copy for `recipient`, at `sentAt` (its own, or the original's for a retry), franked for that time. */
function messageOf(recipient: DeviceAddress, copy: CopyOf, sentAt: number, expiresAt = copy.expiresAt): QueuedMessage {
  const { id, from, ciphertext, share } = copy;
  const frank = frankFor(copy.frankingKey, copy.commitment, from, recipient, sentAt, id);
  return { recipient, id, from, sentAt, expiresAt, ciphertext, frank, share };
}

/** The franking fields of one queued copy: the sender's commitment and the server's tag binding it (ARCH §9.2). */
function frankFor(key: FrankingKey, commitment: string, from: DeviceAddress, to: DeviceAddress, sentAt: number, id: string): QueuedMessage['frank'] {
  const delivery = { commitment, from: { user: from.userId, device: from.device }, to: { user: to.userId, device: to.device }, sentAt, id };
  return { commitment, tag: frankTag(key, delivery), kid: key.kid };
}

/**
 * Best effort: the message is already durable. Pushes `messages` to `connections`, the recipient's live ones
 * read after the write. A connection API Gateway calls gone is the recipient's and is deleted. Returns the
 * devices of `messages` that no push reached, as they have no live connection (none recorded, or only ones
 * gone): those are the devices to wake (ARCH §6.13).
 */
export async function pushToRecipient(
  ports: Pick<Ports, 'notifier' | 'connections' | 'logger'>,
  userId: string,
  connections: readonly ConnectionRecord[],
  messages: readonly QueuedMessage[],
): Promise<DeviceAddress[]> {
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
