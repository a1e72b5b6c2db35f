import { base64UrlByteLength } from '../../protocol/base64url';
import type { FanoutFrame, Results } from '../../protocol/frames';
import { callerAccount } from './accounts';
import { mapBounded, forEachBounded } from './bounded';
import { queueLimits, queueShareOf } from './delivery-tokens';
import { requirePhaseAllows } from './phase';
import type { AccountRecord, Caller, DeviceAddress, Ports, QueuedMessage, QueueShare } from './ports';
import { pushToRecipient, queueCopy, takeBackRemoved, type QueuedCopy } from './queue-copy';
import { requireRateToken } from './rate-limits';
import { Refusal } from './refusal';
import { wakeLater } from './wakeups';

const DAY_SECONDS = 86_400;
/** Queue writes, and recipients pushed to, in flight at once: one frame must not open thousands of requests. */
export const FANOUT_CONCURRENCY = 32;

type UserDevices = { user: string; devices: number[] };

/** One named, current recipient device, and the share its copy counts in. */
interface Target {
  readonly address: DeviceAddress;
  readonly share: QueueShare;
}

/**
 * ARCH §6.11: one ciphertext queued for every named current device of every recipient, each copy with its
 * own franking tag, as `send` queues one (ARCH §6.2, reusing its steps: core/queue-copy.ts). The server keeps
 * no list of the recipients: each copy is an item in its own device's queue, as a `send` writes it.
 */
export async function fanout(ports: Ports, caller: Caller, frame: FanoutFrame): Promise<Results['fanout']> {
  requirePhaseAllows(ports, 'fanout');
  const accounts = await ports.accounts.getMany([caller.userId, ...frame.recipients.map((r) => r.user)]);
  callerAccount(accounts.get(caller.userId), caller);
  await requireRateToken(ports, 'send', caller.userId);
  if (base64UrlByteLength(frame.ciphertext) > ports.config.maxCiphertextBytes) {
    throw new Refusal('PAYLOAD_TOO_LARGE', `ciphertext exceeds ${ports.config.maxCiphertextBytes} bytes`);
  }
  // The caller's own user may be a recipient (the `sent` copies, ARCH §6.10); its sending device never is.
  if (frame.recipients.some((r) => r.user === caller.userId && r.devices.includes(caller.device))) {
    throw new Refusal('BAD_REQUEST', 'recipients: must not name the sending device');
  }

  const { unknown, stale, missing, targets } = sortRecipients(frame, accounts, caller);
  // Charged before anything is written, all or nothing, for every device the frame names: unknown users'
  // and stale devices too, so one frame cannot probe 256 user ids for the price of one send token.
  await requireRateToken(
    ports,
    'sendCopies',
    caller.userId,
    frame.recipients.reduce((n, r) => n + r.devices.length, 0),
  );

  const now = ports.clock.now();
  const lifetimeSeconds = Math.min(frame.expiresInSeconds ?? Infinity, ports.config.retentionDays * DAY_SECONDS);
  const expiresAt = Math.ceil((now + lifetimeSeconds * 1000) / 1000);
  const from: DeviceAddress = { userId: caller.userId, device: caller.device };
  const frankingKey = await ports.frankingKeys.current();
  const limits = queueLimits(ports.config);
  const { id, ciphertext, commitment } = frame;

  const outcomes = await mapBounded(targets, FANOUT_CONCURRENCY, ({ address, share }) =>
    queueCopy(ports, address, { id, from, sentAt: now, expiresAt, ciphertext, commitment, share, frankingKey }, limits, now),
  );
  const full: UserDevices[] = [];
  const queued: QueuedCopy[] = [];
  const byRecipient = new Map<string, QueuedMessage[]>();
  outcomes.forEach((outcome, i) => {
    const { userId, device } = targets[i]!.address;
    if (outcome === 'full') return addDevice(full, userId, device);
    queued.push(outcome);
  });
  // A device removed since the accounts were read gets no copy: it is taken back and answered stale.
  const gone = new Set(
    await takeBackRemoved(
      ports,
      queued.map((q) => q.message),
      now,
    ),
  );
  for (const message of gone) addDevice(stale, message.recipient.userId, message.recipient.device);
  const kept = queued.filter((q) => !gone.has(q.message));
  for (const { message } of kept) {
    byRecipient.set(message.recipient.userId, [...(byRecipient.get(message.recipient.userId) ?? []), message]);
  }
  // Offline devices are woken together once every push is done: one bounded batch (ARCH §6.13).
  const offline: DeviceAddress[] = [];
  await forEachBounded([...byRecipient], FANOUT_CONCURRENCY, async ([userId, messages]) => {
    offline.push(...(await pushToRecipient(ports, userId, messages)));
  });
  wakeLater(ports, offline);

  const duplicate = kept.length > 0 && kept.every((q) => q.duplicate);
  // Counts only: naming the recipients here would keep who wrote to whom (ARCH §12).
  ports.logger.info('fanout', { messageId: id, devices: kept.length, duplicate });
  const first = kept[0]?.message;
  return {
    id,
    sentAt: first?.sentAt ?? now,
    expiresAt: (first?.expiresAt ?? expiresAt) * 1000,
    duplicate,
    missing,
    stale,
    full,
    unknown,
  };
}

/** Per recipient, as `send` sorts one recipient's devices (ARCH §6.10), and the copies left to write. */
function sortRecipients(frame: FanoutFrame, accounts: ReadonlyMap<string, AccountRecord>, caller: Caller) {
  const unknown: string[] = [];
  const stale: UserDevices[] = [];
  const missing: UserDevices[] = [];
  const targets: Target[] = [];
  for (const r of frame.recipients) {
    const account = accounts.get(r.user);
    if (!account) {
      unknown.push(r.user);
      continue;
    }
    const gone = r.devices.filter((d) => !account.devices.includes(d));
    const left = account.devices.filter((d) => !r.devices.includes(d) && !(r.user === caller.userId && d === caller.device));
    if (gone.length > 0) stale.push({ user: r.user, devices: gone });
    if (left.length > 0) missing.push({ user: r.user, devices: left });
    const share = queueShareOf(account, caller.userId, r.deliveryToken);
    for (const device of r.devices) if (account.devices.includes(device)) targets.push({ address: { userId: r.user, device }, share });
  }
  return { unknown, stale, missing, targets };
}

function addDevice(list: UserDevices[], user: string, device: number): void {
  const entry = list.find((e) => e.user === user);
  if (entry) entry.devices.push(device);
  else list.push({ user, devices: [device] });
}
