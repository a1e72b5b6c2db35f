import type { AttachmentRef } from '../../../protocol/attachment-ref';
import { toBase64Url } from '../../../protocol/base64url';
import { FANOUT_RECIPIENT } from '../../../protocol/franking';
import type { ServiceLimits } from '../../../protocol/frames';
import { Limits } from '../../../protocol/limits';
import { frankCommitment, newFrankKey } from '../crypto/franking';
import { randomId } from '../crypto/random';
import { SENDER_KEY_OVERHEAD } from '../crypto/sender-key';
import { EbbError } from '../errors';
import type { Identity } from '../identity/identity';
import type { PeerDirectory } from '../identity/peers';
import type { DeliveryTokens } from '../session/delivery-tokens';
import { MESSAGE_ID_BYTES, type Outbox } from '../session/outbox';
import type { Sessions } from '../session/sessions';
import type { Answer } from '../transport/server-frames';
import type { SendResult } from '../types';
import type { OwnKey, SenderKeys } from './distribution';
import { type FanoutBody, type FanoutRecipient, splitFanout } from './wiring-fanout';
import { encodeGroupPlaintext, groupAssociatedData } from './wiring-message';

export interface GroupSenderOptions {
  readonly identity: Identity;
  readonly peers: PeerDirectory;
  readonly sessions: Sessions;
  readonly outbox: Outbox;
  readonly senderKeys: SenderKeys;
  readonly deliveryTokens: DeliveryTokens;
  /** This account's devices as last listed (session/devices.ts). */
  readonly ownDevices: () => Promise<readonly number[]>;
  readonly limits: () => Promise<ServiceLimits>;
  readonly fanout: (body: FanoutBody) => Promise<Answer<'fanout'>>;
  /** Waits before retrying devices whose queue share was full. @default setTimeout */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** One group message as the app sent it. */
export interface GroupOutgoing {
  readonly id: string;
  readonly text?: string;
  readonly body: Uint8Array;
  readonly expiresInSeconds?: number;
  readonly burnAfterReadingSeconds?: number;
  /** Uploaded already (attachments/upload.ts): the references ride in the plaintext, under the commitment. */
  readonly attachments?: readonly AttachmentRef[];
}

/** Rounds of following a fan-out's answer (missing devices reached, full ones retried) after the first frames. */
const MAX_ROUNDS = 4;
/** First wait before devices whose queue share was full are tried again; doubled each round. */
const FULL_RETRY_MS = 250;
/** Members whose sender-key distribution is sent at once: one user's sends queue behind each other anyway. */
const DISTRIBUTION_CONCURRENCY = 8;
/**
 * A message's `fanout` frames in flight at once (each up to 256 copies): the service queues each frame's copies
 * in its own invocation, so 4 frames take about the time of one, while a 1 000-member group's 8 frames do not
 * all spend the sender's rate tokens in the same instant.
 */
export const FANOUT_FRAME_CONCURRENCY = 4;

/**
 * The group send path (ARCH §8.8): the own sender key's distribution to every member device that lacks it,
 * over the pairwise sessions; then the message encrypted ONCE under the sender key, franked once for every
 * recipient (`FANOUT_RECIPIENT`), and one `fanout` frame naming every member device and this account's other
 * devices (split only past the frame's device count or bytes). The answer is followed: `missing` devices get
 * the distribution and the same message, `stale` ones are forgotten, `full` ones are retried with backoff,
 * `unknown` users are reported to the caller, whose account is gone.
 */
export class GroupSender {
  constructor(private readonly options: GroupSenderOptions) {}

  /**
   * Sends `message` to `members` (user ids, this account included for its other devices) of `group`. Calls to
   * one group must not overlap (the caller runs them in one lane per group).
   * @throws EbbError PAYLOAD_TOO_LARGE when the ciphertext would exceed `maxCiphertextBytes`; nothing is sent.
   */
  async send(group: string, members: readonly string[], message: GroupOutgoing, onGone: (users: string[]) => Promise<void>): Promise<SendResult> {
    const { identity, senderKeys } = this.options;
    const limits = await this.options.limits();
    const frankKey = newFrankKey();
    try {
      const longest = this.plaintext(group, message, frankKey, Number.MAX_SAFE_INTEGER, new Uint8Array(Limits.deliveryTokenBytes));
      if (longest.length + SENDER_KEY_OVERHEAD > limits.maxCiphertextBytes) {
        throw new EbbError(
          'PAYLOAD_TOO_LARGE',
          `the message encrypts to ${longest.length + SENDER_KEY_OVERHEAD} bytes; this service accepts ${limits.maxCiphertextBytes}`,
        );
      }
      const key = await senderKeys.own(group);
      const holders = await this.distribute(group, members, key);
      const ownToken = await this.options.deliveryTokens.own();
      const plaintext = this.plaintext(group, message, frankKey, key.nextSeq, ownToken);
      // The key as this message uses it: a device found missing below must be able to read this very message.
      const atMessage = await senderKeys.distribution(group);
      const ciphertext = await senderKeys.encrypt(group, plaintext, groupAssociatedData(group, identity.userId, identity.device), key.nextSeq);
      const kind = message.text === undefined ? 'bytes' : 'text';
      const commitment = frankCommitment(frankKey, {
        from: identity.userId,
        to: FANOUT_RECIPIENT,
        id: message.id,
        kind,
        body: message.body,
        ...(message.attachments && { attachments: message.attachments }),
      });
      const base = {
        id: message.id,
        ciphertext: toBase64Url(ciphertext),
        commitment: toBase64Url(commitment),
        ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
      };
      try {
        return await this.fanOut(group, base, holders, { ...key, distribution: atMessage }, limits, onGone);
      } finally {
        atMessage.fill(0);
      }
    } finally {
      // Only recipients may hold the franking key once the message is out.
      frankKey.fill(0);
    }
  }

  /**
   * Sends the own key's distribution to every member device that lacks it; resolves with the devices of each
   * member that hold it. A member that cannot be reached (no device yet, account gone, identity changed and not
   * accepted) is left out of this message.
   */
  private async distribute(group: string, members: readonly string[], key: OwnKey): Promise<Map<string, number[]>> {
    const holders = new Map<string, number[]>();
    const queue = [...members];
    const worker = async () => {
      for (let user = queue.shift(); user !== undefined; user = queue.shift()) {
        const devices = await this.holdersOf(group, user, key);
        if (devices.length > 0) holders.set(user, devices);
      }
    };
    await Promise.all(Array.from({ length: DISTRIBUTION_CONCURRENCY }, worker));
    return holders;
  }

  /** `user`'s devices that hold the key, sending the distribution first when a known device lacks it (or none is known). */
  private async holdersOf(
    group: string,
    user: string,
    key: OwnKey & { readonly distribution?: Uint8Array },
    force = false,
    extra: readonly number[] = [],
  ): Promise<number[]> {
    const had = key.sentTo[user] ?? [];
    const known = await this.knownDevices(user);
    if (!force && known !== null && known.every((d) => had.includes(d))) return known.filter((d) => had.includes(d));
    const body = key.distribution?.slice() ?? (await this.options.senderKeys.distribution(group));
    try {
      await this.options.outbox.send({
        id: randomId(MESSAGE_ID_BYTES),
        to: user,
        body,
        control: { type: 'senderKey', group, seq: key.nextSeq },
      });
    } catch (err) {
      // No device that can receive, or an identity change the app has not accepted: this member misses the message.
      if (EbbError.is(err, 'NOT_FOUND') || EbbError.is(err, 'FORBIDDEN')) return [];
      throw err;
    } finally {
      body.fill(0);
    }
    const reached: number[] = [];
    // The devices the service named missing too: reaching one by its own bundle need not update the cached list.
    for (const device of new Set([...((await this.knownDevices(user)) ?? []), ...extra])) {
      if (await this.options.sessions.has(user, device)) reached.push(device);
    }
    await this.options.senderKeys.sent(group, user, reached);
    return reached;
  }

  /** The devices a member's copies go to: its certified devices, or this account's other devices. Null when never fetched. */
  private async knownDevices(user: string): Promise<readonly number[] | null> {
    const { identity } = this.options;
    if (user !== identity.userId) return this.options.peers.devices(user);
    return (await this.options.ownDevices()).filter((d) => d !== identity.device);
  }

  private async fanOut(
    group: string,
    base: Omit<FanoutBody, 'recipients'>,
    holders: Map<string, number[]>,
    key: OwnKey & { readonly distribution: Uint8Array },
    limits: ServiceLimits,
    onGone: (users: string[]) => Promise<void>,
  ): Promise<SendResult> {
    const { peers, senderKeys } = this.options;
    const sleep = this.options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    const covered = new Map<string, Set<number>>();
    let targets = holders;
    let sentAt: number | undefined;
    for (let round = 0; targets.size > 0; round++) {
      const answer = await this.sendFrames(base, targets, limits);
      sentAt ??= answer.sentAt;
      for (const [user, devices] of targets) for (const d of devices) (covered.get(user) ?? covered.set(user, new Set()).get(user)!).add(d);
      if (answer.unknown.length > 0) await onGone(answer.unknown);
      for (const { user, devices } of answer.stale) {
        await peers.forgetDevices(user, devices);
        await senderKeys.unsent(group, user, devices);
      }
      if (round >= MAX_ROUNDS) break;
      const next = new Map<string, number[]>();
      for (const { user, devices } of answer.full) next.set(user, [...devices]);
      for (const { user, devices } of answer.missing) {
        const uncovered = devices.filter((d) => !covered.get(user)?.has(d));
        if (uncovered.length === 0) continue;
        // A device linked since: it gets the key over a new session, then the same message.
        const reached = await this.holdersOf(group, user, key, true, uncovered);
        const fresh = reached.filter((d) => uncovered.includes(d));
        if (fresh.length > 0) next.set(user, [...new Set([...(next.get(user) ?? []), ...fresh])]);
      }
      if (answer.full.length > 0) await sleep(FULL_RETRY_MS * 2 ** round);
      targets = next;
    }
    return { id: base.id, sentAt: new Date(sentAt ?? Date.now()) };
  }

  /** One round's frames, their answers united (a user's devices named by another frame are not missing). */
  private async sendFrames(base: Omit<FanoutBody, 'recipients'>, targets: Map<string, number[]>, limits: ServiceLimits) {
    const recipients: FanoutRecipient[] = [];
    for (const [user, devices] of targets) {
      const token = await this.options.deliveryTokens.ofPeer(user);
      recipients.push({ user, devices, ...(token !== undefined && { deliveryToken: token }) });
    }
    const frames = splitFanout(
      base,
      recipients,
      Math.min(Limits.maxFrameBytes, limits.maxFrameBytes),
      Math.min(Limits.maxFanoutDevicesPerFrame, limits.maxFanoutDevicesPerFrame),
    );
    const lists = { missing: new Map<string, Set<number>>(), stale: new Map<string, Set<number>>(), full: new Map<string, Set<number>>() };
    const unknown = new Set<string>();
    // Every frame of one message together (a window of them); the caller's lane starts the next message only once
    // all of them are answered, so its frames never overtake this one's.
    const answers = await settleBounded(frames, FANOUT_FRAME_CONCURRENCY, (frame) => this.options.fanout(frame));
    // The first frame's time, as when the frames went one by one.
    const sentAt = answers[0]?.sentAt;
    for (const answer of answers) {
      for (const which of ['missing', 'stale', 'full'] as const) {
        for (const { user, devices } of answer[which])
          for (const d of devices) (lists[which].get(user) ?? lists[which].set(user, new Set()).get(user)!).add(d);
      }
      for (const user of answer.unknown) unknown.add(user);
    }
    const named = (user: string, d: number) => targets.get(user)?.includes(d) ?? false;
    const flatten = (m: Map<string, Set<number>>, keep: (user: string, d: number) => boolean) =>
      [...m].map(([user, devices]) => ({ user, devices: [...devices].filter((d) => keep(user, d)) })).filter((e) => e.devices.length > 0);
    return {
      sentAt: sentAt!,
      missing: flatten(lists.missing, (u, d) => !named(u, d)),
      stale: flatten(lists.stale, () => true),
      full: flatten(lists.full, () => true),
      unknown: [...unknown],
    };
  }

  private plaintext(group: string, message: GroupOutgoing, frankKey: Uint8Array, seq: number, deliveryToken: Uint8Array | undefined): Uint8Array {
    const { identity } = this.options;
    return encodeGroupPlaintext({
      from: identity.userId,
      fromDevice: identity.device,
      group,
      id: message.id,
      body: message.body,
      frankKey,
      seq,
      ...(message.text !== undefined && { text: message.text }),
      ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
      ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
      ...(deliveryToken && { deliveryToken }),
      ...(message.attachments && { attachments: message.attachments }),
    });
  }
}

/**
 * `run` over `items`, at most `limit` at once; the results in the items' order. After a failure no further item
 * starts, and the first error is thrown only once every started one has settled: nothing of this call is still in
 * flight when it rejects (a message retried, or the next one sent, cannot overtake a frame of this one). Not
 * p-limit (only a transitive dependency here): it neither stops starting items after a failure nor waits for the
 * started ones before rejecting.
 */
async function settleBounded<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        results[i] = await run(items[i]!);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure) throw failure.error;
  return results;
}
