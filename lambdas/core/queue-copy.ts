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

/** Each recipient user's live connections, by user id, as one Query per user read them. */
export type ConnectionsByUser = ReadonlyMap<string, readonly ConnectionRecord[]>;

/**
 * Reads the live connections of each of `users`, one Query per user, at most `concurrency` in flight. Best
 * effort, for the push that follows the write (RT1 of `send` and `fanout`): a user whose read fails counts as
 * having none, and the read after the write (RT3) pushes to its connections instead.
 */
export async function readConnections(
  ports: Pick<Ports, 'connections'>,
  users: readonly string[],
  now: number,
  concurrency = Infinity,
): Promise<Map<string, ConnectionRecord[]>> {
  return new Map(
    await mapBounded(users, concurrency, async (userId) => [userId, await ports.connections.ofUser(userId, now).catch(() => [])] as const),
  );
}

/** What the copies' writing and pushing came to. */
export interface Delivered {
  /** Copies written (or found written by an earlier attempt: `duplicate`) and not taken back. */
  readonly kept: QueuedCopy[];
  /** Copies for devices removed while they were written (ARCH §4.6): taken back, answered stale. */
  readonly gone: QueuedMessage[];
  /** The devices of `kept` that neither push reached: the ones to wake (ARCH §6.13). */
  readonly offline: DeviceAddress[];
}

/**
 * Writes copies whose places are reserved and pushes them, two round trips to the first push (ARCH §6.2):
 * RT2, all the puts; then at once the push to `early`, the recipients' connections read beside the checks
 * (RT1), and RT3: the retry markers' claims (ARCH §6.3), the accounts read again for copies to linked devices
 * (ARCH §4.6) and the recipients' connections again. Once RT3 is in, a second push goes to the connections RT3
 * found and RT1 did not: a device that connected between RT1's read and the put may have drained its queue
 * before the copy landed, and its connection record is written before its drain, so RT3's read (strongly
 * consistent, after the put) sees it.
 *
 * A retry of an id already queued for a device drops its own copy and answers with the original, `duplicate`:
 * the first push may have carried the retry's copy already (the SDK shows an id once and acks each copy it
 * receives), and the original is pushed to the device's connections so that it is acked too. A copy for a
 * device removed meanwhile is taken back and pushed no more. At most one push of one queue item to one
 * connection; the clean-up (duplicates dropped, copies taken back) runs beside the second push.
 */
export async function deliverCopies(
  ports: Pick<Ports, 'queue' | 'accounts' | 'connections' | 'notifier' | 'logger'>,
  copies: readonly { readonly recipient: DeviceAddress; readonly copy: CopyOf }[],
  early: ConnectionsByUser,
  now: number,
  concurrency = Infinity,
): Promise<Delivered> {
  const messages = copies.map(({ recipient, copy }) => messageOf(recipient, copy, copy.sentAt));
  await forEachBounded(messages, concurrency, (message) => ports.queue.put(message));

  // The copies are durable: the first push needs nothing RT3 reads. It never rejects (pushAll), and is awaited
  // on every path below, so the Lambda ends with nothing in flight.
  const live = new Set<string>();
  const firstPush = pushAll(ports, messages, (message) => early.get(message.recipient.userId) ?? [], live, concurrency);

  const linked = [...new Set(messages.filter((m) => m.recipient.device !== 1).map((m) => m.recipient.userId))];
  const users = [...new Set(messages.map((m) => m.recipient.userId))];
  const rt3 = await Promise.all([
    mapBounded(messages, concurrency, ({ recipient, from, id, sentAt, expiresAt, share }) =>
      ports.queue.claim(recipient, from.userId, id, { sentAt, expiresAt, share }),
    ),
    // Device 1 is never removed, so copies only for device 1 need no second read.
    linked.length > 0 ? ports.accounts.getMany(linked) : Promise.resolve(new Map<string, AccountRecord>()),
    // Strongly consistent: it must see every record written before the put (the connect window above).
    mapBounded(users, concurrency, async (userId) => [userId, await ports.connections.ofUser(userId, now, { consistent: true })] as const),
  ]).catch(async (error: unknown) => {
    await firstPush;
    throw error;
  });
  const [claims, accounts, read] = rt3;
  const connections = new Map(read);

  const work: (() => Promise<unknown>)[] = [];
  /** Copies to push to every live connection of their device, not only to those RT1 did not read. */
  const toAll = new Set<QueuedMessage>();
  const settled = messages.map((message, i): QueuedCopy => {
    const earlier = claims[i];
    if (earlier === null || earlier === undefined) return { message, duplicate: false };
    // A retry: drop this copy and answer with the original. Pushing the original covers an attempt that failed
    // between its write and its push, and lets the recipient ack it (the SDK dedups by id); its tag is remade for
    // the original's time, which the tag binds.
    // In the same millisecond the copy overwrote the original under the same key, share included: the
    // original's reservation is the one left over, and the item the first push carried is the original.
    const sameItem = earlier.sentAt === message.sentAt;
    work.push(async () => {
      const dropped = sameItem
        ? { messages: 1, strangers: earlier.share === 'stranger' ? 1 : 0 }
        : await ports.queue.remove(message.recipient, [{ id: message.id, sentAt: message.sentAt }], now);
      await ports.queue.release(message.recipient, dropped);
    });
    const original = messageOf(message.recipient, copies[i]!.copy, earlier.sentAt, earlier.expiresAt);
    if (!sameItem) toAll.add(original);
    return { message: original, duplicate: true };
  });
  // A `device.remove` that changed a recipient's account after this request read it deletes the device's
  // queue after changing it, maybe before this copy was written. The second read sees the removal, or the
  // removal's delete follows the write (ARCH §4.6): either way the copy does not stay. The first push may
  // have reached the device on a socket its removal had not closed yet (ARCH §4.6 says what it can receive).
  const gone = settled
    .map((q) => q.message)
    .filter((m) => m.recipient.device !== 1 && !accounts.get(m.recipient.userId)?.devices.includes(m.recipient.device));
  for (const m of gone) work.push(() => ports.queue.remove(m.recipient, [{ id: m.id, sentAt: m.sentAt }], now));
  const goneSet = new Set(gone);
  const kept = settled.filter((q) => !goneSet.has(q.message));

  // The second push: each kept copy to the connections of its device RT3 found and RT1 did not (the window),
  // a retry's original to all of them (one the first push found gone, if RT3 still read it, is found gone again).
  await firstPush;
  const readEarly = new Set([...early.values()].flat().map((c) => c.connectionId));
  const second = new Map<QueuedMessage, ConnectionRecord[]>();
  for (const { message } of kept) {
    const all = (connections.get(message.recipient.userId) ?? []).filter((c) => c.device === message.recipient.device);
    const targets = toAll.has(message) ? all : all.filter((c) => !readEarly.has(c.connectionId));
    if (targets.length > 0) second.set(message, targets);
  }
  const [cleanup] = await Promise.allSettled([
    forEachBounded(work, concurrency, async (run) => void (await run())),
    pushAll(ports, [...second.keys()], (message) => second.get(message)!, live, concurrency),
  ]);
  if (cleanup.status === 'rejected') throw cleanup.reason;
  const offline = kept.map((q) => q.message.recipient).filter((r) => !live.has(deviceKey(r)));
  return { kept, gone, offline };
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

const deviceKey = (a: DeviceAddress) => `${a.userId}#${a.device}`;

/**
 * Best effort: the messages are already durable. Pushes each of `messages` to the connections `targets` gives
 * for it that are of its device, `concurrency` pushes in flight at most; never rejects. A connection API
 * Gateway calls gone is the recipient's and is deleted. A device counts as live once a push to it was sent or
 * failed for a while (it is connected, and a wake-up would not help it): a device no push reached has no live
 * connection (none recorded, or only ones gone), and is the one to wake (ARCH §6.13).
 */
async function pushAll(
  ports: Pick<Ports, 'notifier' | 'connections' | 'logger'>,
  messages: readonly QueuedMessage[],
  targets: (message: QueuedMessage) => readonly ConnectionRecord[],
  /** Adds `user#device` of each device found connected. */
  live: Set<string>,
  concurrency: number,
): Promise<void> {
  const pushes = messages.flatMap((message) => targets(message).flatMap((c) => (c.device === message.recipient.device ? [{ message, c }] : [])));
  await forEachBounded(pushes, concurrency, async ({ message, c }) => {
    if ((await ports.notifier.push(c.connectionId, JSON.stringify({ type: 'message', ...toEnvelope(message) }))) !== 'gone') {
      live.add(deviceKey(message.recipient));
      return;
    }
    // Neither the recipient nor its connection: this runs in the sender's request. A record left by a failed
    // delete expires, or the next push to it deletes it.
    await ports.connections.remove(c.userId, c.connectionId).catch(() => undefined);
    ports.logger.info('stale connection removed', { gone: 1 });
  });
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
