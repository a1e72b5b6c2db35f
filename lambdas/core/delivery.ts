import { base64UrlByteLength } from '../../protocol/base64url';
import type { AckFrame, Envelope, FetchFrame, Results, SendFrame } from '../../protocol/frames';
import { Limits } from '../../protocol/limits';
import { callerAccount, requireAccount } from './accounts';
import { type RidingAcks, removeOwn, withRidingAcks } from './acks';
import { settleAll, valueOf } from './bounded';
import { queueLimits, queueShareOf } from './delivery-tokens';
import { requirePhaseAllows } from './phase';
import { requireAllowed, takeRateToken } from './rate-limits';
import type { Caller, DeviceAddress, FrankingKey, Ports, QueueShare } from './ports';
import { cancelReservations, deliverCopies, readConnections, reserveAll, toEnvelope, type Reservation } from './queue-copy';
import { Refusal } from './refusal';
import { wakeLater } from './wakeups';

const DAY_SECONDS = 86_400;
/** How long a sender is told to wait when the recipient's queue is full: the recipient must come online and drain it. */
const QUEUE_FULL_RETRY_SECONDS = 60;

/**
 * ARCH §6.2: each ciphertext is written to its recipient device's queue first, then pushed to that device's
 * live connections. A retry with the same id is recognised by a conditional marker write, so it never
 * queues a second copy; the server's clock alone (the sort key) could not tell a retry from a new message.
 * A sender presenting the recipient's delivery token is a contact and may fill the whole queue; any other
 * only the strangers' share of it.
 *
 * Two DynamoDB round trips before the push, three before the answer (ARCH §6.2 gives the order): the
 * accounts, the rate limit, the queue places (the share predicted from the frame) and the recipient's
 * connections together; the puts, then the push to those connections; beside that push the retry markers,
 * the accounts again (linked devices only) and the connections again together, then a push to connections
 * that appeared meanwhile. What the first over-took is given back once the checks that needed it have run.
 */
export async function send(ports: Ports, caller: Caller, frame: SendFrame): Promise<Results['send']> {
  requirePhaseAllows(ports, 'send');
  // The acks riding on the frame (ARCH §6.5) run beside the send's round trips, never before its push.
  return withRidingAcks(ports, caller, frame.acks, (riding) => deliver(ports, caller, frame, riding));
}

async function deliver(ports: Ports, caller: Caller, frame: SendFrame, riding: RidingAcks): Promise<Results['send']> {
  const toSelf = frame.to === caller.userId;
  // Checks that need no read come first, so a bad frame costs nothing.
  // A copy to one's own other devices (the `sent` sync, ARCH §6.10) never names the sending device.
  if (toSelf && frame.messages.some((m) => m.device === caller.device))
    throw new Refusal('BAD_REQUEST', 'messages: must not name the sending device');
  for (const { ciphertext } of frame.messages) {
    if (base64UrlByteLength(ciphertext) > ports.config.maxCiphertextBytes) {
      throw new Refusal('PAYLOAD_TOO_LARGE', `ciphertext exceeds ${ports.config.maxCiphertextBytes} bytes`);
    }
  }
  const now = ports.clock.now();
  const limits = queueLimits(ports.config);
  // The share the recipient's account will most likely confirm: one's own queues, or a presented token, a
  // contact's; with no token, certainly a stranger's.
  const predicted: QueueShare = toSelf || frame.deliveryToken !== undefined ? 'contact' : 'stranger';
  const addresses = [...new Set(frame.messages.map((m) => m.device))].map((device) => ({ userId: frame.to, device }));

  const [pair, decision, reserved, frankingKey, early] = await settleAll([
    ports.accounts.getPair(caller.userId, frame.to),
    takeRateToken(ports, 'send', caller.userId),
    reserveAll(
      ports,
      addresses.map((address) => ({ address, share: predicted })),
      limits,
      now,
    ),
    ports.frankingKeys.current(),
    // For the push right after the put; read beside the checks, whatever they decide (one Query).
    readConnections(ports, [frame.to], now),
  ] as const);
  const [sender, recipient] = pair.ok ? pair.value : [undefined, undefined];
  const reservations = reserved.ok ? reserved.value : [];
  const devices = new Set(recipient?.devices ?? []);
  // No account or no such device: its counter may be one this request made, and is not left behind.
  const giveBack = (which: readonly Reservation[]) => cancelReservations(ports, which, (a) => !devices.has(a.device));
  let key: FrankingKey;
  try {
    valueOf(pair);
    callerAccount(sender, caller);
    // The caller is current and not suspended, as `ack` requires: its acks apply whatever becomes of the send.
    riding.start();
    const rate = valueOf(decision);
    valueOf(reserved);
    key = valueOf(frankingKey);
    requireAllowed('send', rate);
    if (!recipient) throw new Refusal('NOT_FOUND', 'no such user');
  } catch (error) {
    await giveBack(reservations);
    throw error;
  }

  // ARCH §6.10: copies go to the recipient's current devices; the answer names the ones this frame left out
  // (the sender sends them the same id) and the ones it named that are gone (nothing is written for those).
  const named = new Set(frame.messages.map((m) => m.device));
  const current = frame.messages.filter((m) => devices.has(m.device));
  const stale = frame.messages.filter((m) => !devices.has(m.device)).map((m) => m.device);
  const missing = recipient.devices.filter((d) => !named.has(d) && !(toSelf && d === caller.device));
  const share = queueShareOf(recipient, caller.userId, frame.deliveryToken);
  let places = reservations.filter((r) => devices.has(r.address.device));
  if (share !== predicted) {
    // A token that is not (or no longer) the recipient's: the places were taken as a contact's, and are
    // taken again from the strangers' share. The only path with more round trips.
    await giveBack(reservations);
    places = await reserveAll(
      ports,
      places.map((r) => ({ address: r.address, share })),
      limits,
      now,
    );
  } else {
    await giveBack(reservations.filter((r) => !devices.has(r.address.device)));
  }
  if (places.some((r) => !r.granted)) {
    await giveBack(places);
    throw queueFull(share);
  }

  const lifetimeSeconds = Math.min(frame.expiresInSeconds ?? Infinity, ports.config.retentionDays * DAY_SECONDS);
  const sentAt = now;
  const expiresAt = Math.ceil((now + lifetimeSeconds * 1000) / 1000);
  const from: DeviceAddress = { userId: caller.userId, device: caller.device };
  if (current.length === 0) {
    ports.logger.info('send', { messageId: frame.id, devices: 0, duplicate: false });
    return { id: frame.id, sentAt, expiresAt: expiresAt * 1000, duplicate: false, missing, stale };
  }
  const copy = { id: frame.id, from, sentAt, expiresAt, share, frankingKey: key };
  const delivered = await deliverCopies(
    ports,
    current.map(({ device, ciphertext, commitment }) => ({ recipient: { userId: frame.to, device }, copy: { ...copy, ciphertext, commitment } })),
    // Never refused: a read that failed counts as none.
    valueOf(early),
    now,
  );
  const { kept } = delivered;
  const gone = delivered.gone.map((m) => m.recipient.device);
  wakeLater(ports, delivered.offline);
  if (kept.length === 0) return { id: frame.id, sentAt, expiresAt: expiresAt * 1000, duplicate: false, missing, stale: [...stale, ...gone] };
  const first = kept[0]!.message;
  // The frame's log line names the sender: naming the recipient here too would keep who wrote to whom (ARCH §12).
  ports.logger.info('send', { messageId: frame.id, devices: current.length, duplicate: kept.every((q) => q.duplicate) });
  return {
    id: frame.id,
    sentAt: first.sentAt,
    expiresAt: first.expiresAt * 1000,
    duplicate: kept.every((q) => q.duplicate),
    missing,
    stale: [...stale, ...gone],
  };
}

/** The retry hint is the same for both shares: room comes back when the recipient drains its queue. */
function queueFull(share: QueueShare): Refusal {
  const whose = share === 'stranger' ? ' for senders it has not written to' : '';
  return new Refusal('RATE_LIMITED', `the recipient's queue is full${whose}: retry later`, { retryAfterSeconds: QUEUE_FULL_RETRY_SECONDS });
}

/** A page of the caller's own queue, oldest first, unexpired only, small enough for one 128 KB message. */
export async function fetch(ports: Ports, caller: Caller, frame: FetchFrame): Promise<Results['fetch']> {
  requirePhaseAllows(ports, 'fetch');
  await requireAccount(ports, caller);
  if (frame.after !== undefined && !ports.queue.isCursor(frame.after)) throw new Refusal('BAD_REQUEST', 'after: is not a cursor from fetch');
  const own: DeviceAddress = { userId: caller.userId, device: caller.device };
  const page = await ports.queue.page(own, frame.after ?? null, frame.limit ?? Limits.maxFetchPage, ports.clock.now());
  const messages: Envelope[] = [];
  let chars = 0;
  for (const message of page.messages) {
    chars += message.ciphertext.length;
    if (messages.length > 0 && chars > Limits.fetchPageChars) {
      return { messages, cursor: ports.queue.cursorOf(page.messages[messages.length - 1]!), more: true };
    }
    messages.push(toEnvelope(message));
  }
  return { messages, cursor: page.cursor, more: page.cursor !== null };
}

/** Deletes from the caller's own queue only: the partition comes from the authenticated connection. */
export async function ack(ports: Ports, caller: Caller, frame: AckFrame): Promise<Results['ack']> {
  requirePhaseAllows(ports, 'ack');
  await requireAccount(ports, caller);
  await removeOwn(ports, caller, frame.messages);
  return { acked: frame.messages.length };
}
