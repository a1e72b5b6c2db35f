import { base64UrlByteLength } from '../../protocol/base64url';
import type { FanoutFrame, Results } from '../../protocol/frames';
import { callerAccount } from './accounts';
import { type RidingAcks, withRidingAcks } from './acks';
import { settleAll, valueOf } from './bounded';
import { queueLimits, queueShareOf } from './delivery-tokens';
import { requirePhaseAllows } from './phase';
import type { AccountRecord, Caller, DeviceAddress, FrankingKey, Ports, QueueShare } from './ports';
import { cancelReservations, deliverCopies, readConnections, reserveAll, type Reservation } from './queue-copy';
import { giveBackRateTokens, requireAllowed, takeRateToken } from './rate-limits';
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
 *
 * The same round trips as `send`, two to the first push and three to the answer: the accounts, both rate
 * limits, every named device's queue place (the share predicted from each recipient's token) and each
 * recipient's connections together; the puts, then the pushes; beside them the markers, the accounts again and
 * the recipients' connections again together, then the pushes to connections that appeared meanwhile. Each
 * step is bounded to FANOUT_CONCURRENCY requests.
 */
export async function fanout(ports: Ports, caller: Caller, frame: FanoutFrame): Promise<Results['fanout']> {
  requirePhaseAllows(ports, 'fanout');
  // The acks riding on the frame (ARCH §6.5), as `send` applies them: beside the round trips, never before a push.
  return withRidingAcks(ports, caller, frame.acks, (riding) => deliver(ports, caller, frame, riding));
}

async function deliver(ports: Ports, caller: Caller, frame: FanoutFrame, riding: RidingAcks): Promise<Results['fanout']> {
  if (base64UrlByteLength(frame.ciphertext) > ports.config.maxCiphertextBytes) {
    throw new Refusal('PAYLOAD_TOO_LARGE', `ciphertext exceeds ${ports.config.maxCiphertextBytes} bytes`);
  }
  // The caller's own user may be a recipient (the `sent` copies, ARCH §6.10); its sending device never is.
  if (frame.recipients.some((r) => r.user === caller.userId && r.devices.includes(caller.device))) {
    throw new Refusal('BAD_REQUEST', 'recipients: must not name the sending device');
  }
  const now = ports.clock.now();
  const limits = queueLimits(ports.config);
  // As in `send`: a token (or oneself) predicts a contact, none a stranger; the accounts confirm it below.
  const wanted = frame.recipients.flatMap((r) => {
    const share: QueueShare = r.user === caller.userId || r.deliveryToken !== undefined ? 'contact' : 'stranger';
    return [...new Set(r.devices)].map((device) => ({ address: { userId: r.user, device }, share }));
  });
  // Charged for every device the frame names, all or nothing: unknown users' and stale devices' too, so
  // one frame cannot probe 256 user ids for the price of one send token.
  const copies = frame.recipients.reduce((n, r) => n + r.devices.length, 0);
  const [read, sendTake, copiesTake, reserved, frankingKey, early] = await settleAll([
    ports.accounts.getMany([caller.userId, ...frame.recipients.map((r) => r.user)]),
    takeRateToken(ports, 'send', caller.userId),
    takeRateToken(ports, 'sendCopies', caller.userId, copies),
    reserveAll(ports, wanted, limits, now, FANOUT_CONCURRENCY),
    ports.frankingKeys.current(),
    // For the pushes right after the puts: one Query per named user, whatever the checks decide.
    readConnections(
      ports,
      frame.recipients.map((r) => r.user),
      now,
      FANOUT_CONCURRENCY,
    ),
  ] as const);
  const accounts = read.ok ? read.value : undefined;
  const reservations = reserved.ok ? reserved.value : [];
  const exists = (a: DeviceAddress) => accounts?.get(a.userId)?.devices.includes(a.device) === true;
  const giveBack = (which: readonly Reservation[]) => cancelReservations(ports, which, (a) => !exists(a), FANOUT_CONCURRENCY);
  let key: FrankingKey;
  try {
    valueOf(read);
    callerAccount(accounts?.get(caller.userId), caller);
    // As in `send`: the caller's acks apply once it is found current, whatever becomes of the fan-out.
    riding.start();
    const sendDecision = valueOf(sendTake);
    const copiesDecision = valueOf(copiesTake);
    valueOf(reserved);
    key = valueOf(frankingKey);
    requireAllowed('send', sendDecision);
    requireAllowed('sendCopies', copiesDecision);
  } catch (error) {
    // Both takes ran together (one round trip): a frame its send window refused gives back the copies it
    // took, so a refused fan-out costs no copies (one write, on the refusal path only).
    const copiesBack = sendTake.ok && !sendTake.value.allowed && copiesTake.ok && copiesTake.value.allowed;
    await Promise.all([giveBack(reservations), copiesBack && giveBackRateTokens(ports, 'sendCopies', caller.userId, copies, now).catch(() => {})]);
    throw error;
  }

  const { unknown, stale, missing, targets } = sortRecipients(frame, accounts!, caller);
  // Places for devices that are not current go back; those taken under a share the token did not earn are
  // taken again as a stranger's (one more round trip, on that path only).
  const shareOf = new Map(targets.map((t) => [`${t.address.userId}#${t.address.device}`, t.share]));
  const fits = (r: Reservation) => shareOf.get(`${r.address.userId}#${r.address.device}`) === r.share;
  const misfits = reservations.filter((r) => !fits(r));
  await giveBack(misfits);
  const places = [
    ...reservations.filter(fits),
    ...(await reserveAll(
      ports,
      misfits.filter((r) => shareOf.has(`${r.address.userId}#${r.address.device}`)).map((r) => ({ address: r.address, share: 'stranger' as const })),
      limits,
      now,
      FANOUT_CONCURRENCY,
    )),
  ];
  const granted = new Set(places.filter((r) => r.granted).map((r) => `${r.address.userId}#${r.address.device}`));
  const full: UserDevices[] = [];
  const writing: Target[] = [];
  // In the frame's order, as the answer lists them.
  for (const t of targets) {
    if (granted.has(`${t.address.userId}#${t.address.device}`)) writing.push(t);
    else addDevice(full, t.address.userId, t.address.device);
  }

  const lifetimeSeconds = Math.min(frame.expiresInSeconds ?? Infinity, ports.config.retentionDays * DAY_SECONDS);
  const expiresAt = Math.ceil((now + lifetimeSeconds * 1000) / 1000);
  const from: DeviceAddress = { userId: caller.userId, device: caller.device };
  const { id, ciphertext, commitment } = frame;
  const delivered = await deliverCopies(
    ports,
    writing.map(({ address, share }) => ({
      recipient: address,
      copy: { id, from, sentAt: now, expiresAt, ciphertext, commitment, share, frankingKey: key },
    })),
    // Never refused: a read that failed counts as none.
    valueOf(early),
    now,
    FANOUT_CONCURRENCY,
  );
  // A device removed since the accounts were read gets no copy: it is taken back and answered stale.
  for (const message of delivered.gone) addDevice(stale, message.recipient.userId, message.recipient.device);
  const kept = delivered.kept;
  // Offline devices are woken together once every push is done: one bounded batch (ARCH §6.13).
  wakeLater(ports, delivered.offline);

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
