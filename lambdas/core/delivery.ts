import { base64UrlByteLength } from '../../protocol/base64url';
import type { AckFrame, Envelope, FetchFrame, Results, SendFrame } from '../../protocol/frames';
import { Limits } from '../../protocol/limits';
import { callerAccount, requireAccount } from './accounts';
import { queueLimits, queueShareOf } from './delivery-tokens';
import { requirePhaseAllows } from './phase';
import { requireRateToken } from './rate-limits';
import type { Caller, DeviceAddress, Ports, QueueShare } from './ports';
import { pushToRecipient, queueCopy, takeBackRemoved, toEnvelope } from './queue-copy';
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
 */
export async function send(ports: Ports, caller: Caller, frame: SendFrame): Promise<Results['send']> {
  requirePhaseAllows(ports, 'send');
  const [sender, recipient] = await ports.accounts.getPair(caller.userId, frame.to);
  callerAccount(sender, caller);
  await requireRateToken(ports, 'send', caller.userId);
  if (!recipient) throw new Refusal('NOT_FOUND', 'no such user');
  const toSelf = frame.to === caller.userId;
  // A copy to one's own other devices (the `sent` sync, ARCH §6.10) never names the sending device.
  if (toSelf && frame.messages.some((m) => m.device === caller.device))
    throw new Refusal('BAD_REQUEST', 'messages: must not name the sending device');
  for (const { ciphertext } of frame.messages) {
    if (base64UrlByteLength(ciphertext) > ports.config.maxCiphertextBytes) {
      throw new Refusal('PAYLOAD_TOO_LARGE', `ciphertext exceeds ${ports.config.maxCiphertextBytes} bytes`);
    }
  }
  // ARCH §6.10: copies go to the recipient's current devices; the answer names the ones this frame left out
  // (the sender sends them the same id) and the ones it named that are gone (nothing is written for those).
  const named = new Set(frame.messages.map((m) => m.device));
  const current = frame.messages.filter((m) => recipient.devices.includes(m.device));
  const stale = frame.messages.filter((m) => !recipient.devices.includes(m.device)).map((m) => m.device);
  const missing = recipient.devices.filter((d) => !named.has(d) && !(toSelf && d === caller.device));

  const now = ports.clock.now();
  const lifetimeSeconds = Math.min(frame.expiresInSeconds ?? Infinity, ports.config.retentionDays * DAY_SECONDS);
  const sentAt = now;
  const expiresAt = Math.ceil((now + lifetimeSeconds * 1000) / 1000);
  const from: DeviceAddress = { userId: caller.userId, device: caller.device };
  const frankingKey = await ports.frankingKeys.current();
  const share = queueShareOf(recipient, caller.userId, frame.deliveryToken);
  const limits = queueLimits(ports.config);

  if (current.length === 0) {
    ports.logger.info('send', { messageId: frame.id, devices: 0, duplicate: false });
    return { id: frame.id, sentAt, expiresAt: expiresAt * 1000, duplicate: false, missing, stale };
  }
  const copy = { id: frame.id, from, sentAt, expiresAt, share, frankingKey };
  const queued = await Promise.all(
    current.map(async ({ device, ciphertext, commitment }) => {
      const outcome = await queueCopy(ports, { userId: frame.to, device }, { ...copy, ciphertext, commitment }, limits, now);
      if (outcome === 'full') throw queueFull(share);
      return outcome;
    }),
  );

  const gone = (
    await takeBackRemoved(
      ports,
      queued.map((q) => q.message),
      now,
    )
  ).map((m) => m.recipient.device);
  const kept = queued.filter((q) => !gone.includes(q.message.recipient.device));
  wakeLater(
    ports,
    await pushToRecipient(
      ports,
      frame.to,
      kept.map((q) => q.message),
    ),
  );
  if (kept.length === 0) return { id: frame.id, sentAt, expiresAt: expiresAt * 1000, duplicate: false, missing, stale: [...stale, ...gone] };
  const first = kept[0]!.message;
  // The frame's log line names the sender: naming the recipient here too would keep who wrote to whom (ARCH §12).
  ports.logger.info('send', { messageId: frame.id, devices: current.length, duplicate: queued.every((q) => q.duplicate) });
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
  const own: DeviceAddress = { userId: caller.userId, device: caller.device };
  // Each removed message gives back the share it was reserved under.
  await ports.queue.release(own, await ports.queue.remove(own, frame.messages, ports.clock.now()));
  return { acked: frame.messages.length };
}
