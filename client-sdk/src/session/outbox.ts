import type { AttachmentRef } from '../../../protocol/attachment-ref';
import { toBase64Url } from '../../../protocol/base64url';
import type { ServiceLimits } from '../../../protocol/frames';
import { Limits } from '../../../protocol/limits';
import { FRANK_KEY_BYTES } from '../../../protocol/franking';
import { frankCommitment, newFrankKey } from '../crypto/franking';
import { type Control, type RidingReceipts, encodePlaintext } from '../crypto/plaintext';
import { maxWireLength } from '../crypto/envelope';
import { EbbError } from '../errors';
import type { Identity } from '../identity/identity';
import type { PeerDirectory } from '../identity/peers';
import type { Body } from '../transport/connection';
import type { Answer } from '../transport/server-frames';
import type { KeyStore } from '../store/key-store';
import type { SendResult } from '../types';
import { nextSendSeq } from './ordering';
import { type DeviceCiphertext, splitSend } from './frame-split';
import type { DeliveryTokens } from './delivery-tokens';
import type { TakenReceipts } from './receipts';
import type { Sessions } from './sessions';
import { KeyedQueue } from '../keyed-queue';

export const MESSAGE_ID_BYTES = 16;

export interface OutboxOptions {
  readonly identity: Identity;
  readonly store: KeyStore;
  readonly peers: PeerDirectory;
  readonly sessions: Sessions;
  readonly deliveryTokens: DeliveryTokens;
  /** This account's other devices as last listed (session/devices.ts): candidates for sent copies, each checked by its bundle. */
  readonly ownDevices: () => Promise<readonly number[]>;
  /** The deployment's limits, once the session is ready. */
  readonly limits: () => Promise<ServiceLimits>;
  readonly send: (body: Body<'send'>) => Promise<Answer<'send'>>;
  /** The receipts waiting for `to` (session/receipts.ts), taken to ride inside an ordinary message to it (ARCH §8.6). */
  readonly ridingReceipts?: (to: string) => TakenReceipts | undefined;
}

export interface Outgoing {
  /** Fresh per send() call, or the id of an earlier call the app retries. */
  readonly id: string;
  readonly to: string;
  readonly text?: string;
  readonly body: Uint8Array;
  readonly expiresInSeconds?: number;
  readonly burnAfterReadingSeconds?: number;
  /**
   * Control content (receipts, read sync): sent to `to`'s devices only, without a sent copy or a sequence
   * number, so it never holds back or reorders what the app sees.
   */
  readonly control?: Control;
  /** Uploaded already (attachments/upload.ts): the references ride inside every copy, under the commitment. */
  readonly attachments?: readonly AttachmentRef[];
}

/**
 * What makes one message the same message however often it goes out: its id, and its franking key
 * and commitment (ARCH §9.2). Chosen once per send() call and reused by every retry, so the server
 * queues it once and every device's copy carries the same commitment.
 */
interface MessageStamp {
  readonly id: string;
  readonly frankKey: Uint8Array;
  /** base64url, as every device entry of the send frames carries it. */
  readonly commitment: string;
  /** The commitment of the sent copies to this account's other devices (their recipient is this account). */
  readonly ownCommitment: string;
}

/** How long a device the service did not list (not ready yet) goes without its bundle being fetched again. */
const UNLISTED_RECHECK_MS = 60_000;

/** Rounds of fetching bundles for the devices a send answer says are missing; each round sends only to those. */
const MAX_MISSING_ROUNDS = 3;

/**
 * The send path: one ciphertext per recipient device, each from that device's Double Ratchet
 * session, split over frames that fit the wire; and a sent copy to each of this account's other
 * devices (ARCH §8.6), in a frame to this account's own user id that goes out at the same time.
 * Sends to one recipient go out one after another so they are queued in the order sent.
 */
export class Outbox {
  private readonly lanes = new KeyedQueue();
  /** Devices a send answer named that no certified bundle backs (ghosts): never encrypted to, not fetched again. */
  private readonly uncertified = new Set<string>();
  /** When a device's bundle last came back without it (linked, not ready yet): not asked for again for a while. */
  private readonly unlisted = new Map<string, number>();

  constructor(private readonly options: OutboxOptions) {}

  /** Resolves once every send started so far has settled. */
  idle(): Promise<void> {
    return this.lanes.idle();
  }

  send(message: Outgoing): Promise<SendResult> {
    // Chosen once: every retry, reconnect and extra frame reuses it, so the server queues it once.
    const stamp = this.stampOf(message);
    return this.lanes.run(message.to, async () => {
      try {
        return await this.deliver(stamp, message);
      } finally {
        // The sender has no use for the franking key once the message is queued: wipe it.
        stamp.frankKey.fill(0);
      }
    });
  }

  /**
   * The message's id, a fresh franking key, and the commitment to the content under that key. It binds sender
   * and recipient user ids, not devices: one commitment serves every device's copy.
   */
  private stampOf(message: Outgoing): MessageStamp {
    const { id } = message;
    const frankKey = newFrankKey();
    const kind = message.text === undefined ? 'bytes' : 'text';
    const from = this.options.identity.userId;
    const content = { from, id, kind, body: message.body, ...(message.attachments && { attachments: message.attachments }) } as const;
    const commitment = frankCommitment(frankKey, { ...content, to: message.to });
    const ownCommitment = frankCommitment(frankKey, { ...content, to: from });
    return { id, frankKey, commitment: toBase64Url(commitment), ownCommitment: toBase64Url(ownCommitment) };
  }

  /**
   * Whether `message` fits the deployment's `maxCiphertextBytes` for every device it may go to, checked before
   * anything is sent (also before its attachments are uploaded).
   * @throws EbbError PAYLOAD_TOO_LARGE when it does not.
   */
  async checkFits(message: Outgoing): Promise<void> {
    const limits = await this.options.limits();
    const stamp = { id: message.id, frankKey: new Uint8Array(FRANK_KEY_BYTES), commitment: '', ownCommitment: '' };
    const self = this.options.identity.userId;
    const sentCopy: Outgoing = { ...message, to: self, control: message.control ?? { type: 'sent', to: message.to } };
    const longest = this.plaintext(stamp, message, Limits.maxDevice, Number.MAX_SAFE_INTEGER, new Uint8Array(Limits.deliveryTokenBytes));
    const longestCopy = this.plaintext(stamp, sentCopy, Limits.maxDevice, undefined, undefined);
    const worstCase = maxWireLength(Math.max(longest.length, longestCopy.length));
    if (worstCase > limits.maxCiphertextBytes) {
      throw new EbbError('PAYLOAD_TOO_LARGE', `the message encrypts to ${worstCase} bytes; this service accepts ${limits.maxCiphertextBytes}`);
    }
  }

  private async deliver(stamp: MessageStamp, message: Outgoing): Promise<SendResult> {
    // Checked for the longest device number before any message goes out, so nothing is sent.
    await this.checkFits(message);
    const limits = await this.options.limits();
    const self = this.options.identity.userId;
    const sentCopy: Outgoing = { ...message, to: self, control: message.control ?? { type: 'sent', to: message.to } };
    // Ours goes inside the message, so the recipient's sends back count as a contact's (ARCH §6.6).
    const ownToken = await this.options.deliveryTokens.own();
    // A message to this account itself goes to its other devices as the sent copy it is.
    if (message.to === self) message = sentCopy;
    // Control content takes no sequence number: one allocated and never sent would be a gap the recipient waits for.
    const numbered = message.control === undefined;
    const riding = numbered ? this.takeReceipts(stamp, message, limits) : undefined;
    const toRecipient = this.fanOut(message.to, stamp.id, stamp.commitment, message.expiresInSeconds, limits, numbered, (device, seq) =>
      this.plaintext(stamp, message, device, seq, ownToken, riding?.receipts),
    );
    // Queued for the recipient: the receipts are delivered with it. Else they go alone now (best effort, as ever).
    void toRecipient.then(
      () => riding?.settle(true),
      () => riding?.settle(false),
    );
    if (message.control) return toRecipient;
    const toOwnDevices = this.fanOut(self, stamp.id, stamp.ownCommitment, message.expiresInSeconds, limits, false, (device) =>
      this.plaintext({ ...stamp, commitment: stamp.ownCommitment }, sentCopy, device, undefined, undefined),
    );
    // Both settle before either's error is thrown: a retry with the same id then repeats nothing half-done.
    const [sent] = await Promise.all([toRecipient, toOwnDevices.catch(ignoreNoDevice)]);
    return sent;
  }

  /**
   * The receipts waiting for `message.to`, to ride inside every recipient device's copy (never the sent copies
   * to this account's devices): none for a message that expires (the service drops it unread, and a receipt
   * would be lost with it), nor when they would take the message past `maxCiphertextBytes`.
   */
  private takeReceipts(stamp: MessageStamp, message: Outgoing, limits: ServiceLimits): TakenReceipts | undefined {
    if (message.expiresInSeconds !== undefined) return undefined;
    const taken = this.options.ridingReceipts?.(message.to);
    if (!taken) return undefined;
    const token = new Uint8Array(Limits.deliveryTokenBytes);
    const longest = this.plaintext(stamp, message, Limits.maxDevice, Number.MAX_SAFE_INTEGER, token, taken.receipts);
    if (maxWireLength(longest.length) > limits.maxCiphertextBytes) {
      taken.settle(false);
      return undefined;
    }
    return taken;
  }

  /**
   * Encrypts for and sends to every certified device of `to` (this device excepted), then follows the
   * service's answer: devices it says are gone are forgotten, devices it says are missing get their bundle
   * fetched, checked and the same message id, and are skipped when no certified key backs them.
   * @throws EbbError NOT_FOUND when no device of `to` can be reached (for a sent copy: no other device).
   */
  private async fanOut(
    to: string,
    id: string,
    commitment: string,
    expiresInSeconds: number | undefined,
    limits: ServiceLimits,
    numbered: boolean,
    plaintext: (device: number, seq: number | undefined) => Uint8Array,
  ): Promise<SendResult> {
    let devices = await this.prepare(to);
    let sentAt: number | undefined;
    const covered = new Set<number>();
    for (let round = 0; ; round++) {
      const answer = await this.sendToDevices(to, id, commitment, expiresInSeconds, devices, limits, numbered, plaintext);
      sentAt ??= answer.sentAt;
      for (const d of devices) covered.add(d);
      if (answer.stale.length > 0) await this.options.peers.forgetDevices(to, answer.stale);
      // Each round's frames name only that round's devices: the earlier rounds' are not missing.
      const missing = answer.missing.filter((d) => !covered.has(d) && !this.isOwnDevice(to, d) && !this.uncertified.has(`${to}/${d}`));
      if (missing.length === 0 || round >= MAX_MISSING_ROUNDS) break;
      // The service names only ready devices missing: one it did not list before is listed now.
      for (const d of missing) this.unlisted.delete(`${to}/${d}`);
      devices = await this.reach(to, missing);
      if (devices.length === 0) break;
    }
    return { id, sentAt: new Date(sentAt!) };
  }

  /**
   * The devices to encrypt for, each with a session: the full bundle is fetched when the device list
   * is unknown, one device's bundle when only that device lacks a session. A device that
   * has not published a signed prekey cannot be reached yet and is left out.
   * @throws EbbError FORBIDDEN while the peer's changed identity key awaits acceptIdentity().
   * @throws EbbError NOT_FOUND when no device of the peer can be reached.
   */
  private async prepare(to: string): Promise<number[]> {
    const { peers, sessions } = this.options;
    await peers.sendableIdentity(to);
    const own = to === this.options.identity.userId;
    // Our own bundle would use up this device's one-time prekeys too: ask for each other device instead.
    let devices = own ? await this.options.ownDevices() : await peers.devices(to);
    if (devices === null) {
      const bundle = await peers.bundle(to);
      for (const prekeys of bundle.devices) await sessions.initiate(bundle, prekeys);
      devices = (await peers.devices(to)) ?? [];
    } else {
      await this.reach(to, devices);
    }
    const ready: number[] = [];
    for (const device of devices) if (!this.isOwnDevice(to, device) && (await sessions.has(to, device))) ready.push(device);
    if (ready.length === 0)
      throw new EbbError('NOT_FOUND', own ? 'this account has no other device' : 'the user has no device that can receive messages yet');
    return ready;
  }

  /**
   * Of `devices`, those that have or get a session. The devices without one get their bundles checked: one
   * device's bundle when one lacks a session, the whole bundle when several do (one fetch, not one each:
   * the service limits how often one user fetches another's keys). A device the service does not list is
   * not ready yet or gone; one listed with keys the account did not certify is remembered and skipped.
   * A rate-limited fetch leaves its devices for the next send.
   */
  private async reach(to: string, devices: readonly number[]): Promise<number[]> {
    const { peers, sessions } = this.options;
    const candidates = devices.filter((d) => !this.isOwnDevice(to, d));
    const lacking: number[] = [];
    const now = Date.now();
    for (const device of candidates) {
      const unlistedAt = this.unlisted.get(`${to}/${device}`);
      if (unlistedAt !== undefined && now - unlistedAt < UNLISTED_RECHECK_MS) continue;
      if (!(await sessions.has(to, device))) lacking.push(device);
    }
    if (lacking.length > 0) {
      let unlisted = false;
      const bundle = await peers.bundle(to, lacking.length === 1 ? lacking[0] : undefined).catch((err: unknown) => {
        // Not ready or gone (the send answer says so if we still name it); fetched too often: try with a later send.
        unlisted = EbbError.is(err, 'NOT_FOUND');
        if (unlisted || EbbError.is(err, 'RATE_LIMITED')) return null;
        throw err;
      });
      for (const device of bundle?.refused ?? []) this.uncertified.add(`${to}/${device}`);
      for (const device of lacking) {
        const listed = bundle !== null && (bundle.devices.some((d) => d.device === device) || bundle.refused.includes(device));
        if ((bundle !== null || unlisted) && !listed) this.unlisted.set(`${to}/${device}`, now);
      }
      for (const prekeys of bundle?.devices ?? []) {
        if (lacking.includes(prekeys.device)) await sessions.initiate(bundle!, prekeys);
      }
    }
    const ready: number[] = [];
    for (const device of candidates) if (await sessions.has(to, device)) ready.push(device);
    return ready;
  }

  private isOwnDevice(to: string, device: number): boolean {
    return to === this.options.identity.userId && device === this.options.identity.device;
  }

  /** One copy per device, split over frames; the answers' missing and stale devices, united. */
  private async sendToDevices(
    to: string,
    id: string,
    commitment: string,
    expiresInSeconds: number | undefined,
    devices: readonly number[],
    limits: ServiceLimits,
    numbered: boolean,
    plaintext: (device: number, seq: number | undefined) => Uint8Array,
  ): Promise<{ sentAt: number; missing: number[]; stale: number[] }> {
    const messages: DeviceCiphertext[] = [];
    for (const device of devices) {
      const seq = numbered ? await nextSendSeq(this.options.store, to, device) : undefined;
      const ciphertext = await this.options.sessions.encrypt(to, device, plaintext(device, seq));
      messages.push({ device, ciphertext: toBase64Url(ciphertext), commitment });
    }
    // The recipient's token, once a message from it brought one: the server then counts this as a contact's.
    const theirToken = await this.options.deliveryTokens.ofPeer(to);
    const base = {
      id,
      to,
      ...(expiresInSeconds !== undefined && { expiresInSeconds }),
      ...(theirToken !== undefined && { deliveryToken: theirToken }),
    };
    const frames = splitSend(
      base,
      messages,
      Math.min(Limits.maxFrameBytes, limits.maxFrameBytes),
      Math.min(Limits.maxDevicesPerSend, limits.maxDevicesPerSend),
    );
    let sentAt: number | undefined;
    const missing = new Set<number>();
    const stale = new Set<number>();
    const named = new Set(devices);
    for (const frame of frames) {
      const answer = await this.options.send(frame);
      sentAt ??= answer.sentAt;
      for (const d of answer.stale) stale.add(d);
      for (const d of answer.missing) missing.add(d);
    }
    // Each frame names only some devices: those another frame named are not missing.
    return { sentAt: sentAt!, missing: [...missing].filter((d) => !named.has(d)), stale: [...stale] };
  }

  private plaintext(
    stamp: MessageStamp,
    message: Outgoing,
    toDevice: number,
    seq: number | undefined,
    deliveryToken: Uint8Array | undefined,
    receipts?: RidingReceipts,
  ): Uint8Array {
    return encodePlaintext({
      from: this.options.identity.userId,
      fromDevice: this.options.identity.device,
      to: message.to,
      toDevice,
      id: stamp.id,
      body: message.body,
      frankKey: stamp.frankKey,
      ...(message.text !== undefined && { text: message.text }),
      ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
      ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
      ...(seq !== undefined && { seq }),
      ...(deliveryToken && { deliveryToken }),
      ...(message.control && { control: message.control }),
      ...(message.attachments && { attachments: message.attachments }),
      ...(receipts && { receipts }),
    });
  }
}

/** Having no other device is no failure of a send. */
function ignoreNoDevice(err: unknown): void {
  if (!EbbError.is(err, 'NOT_FOUND')) throw err;
}
