import { toBase64Url } from '../../../protocol/base64url';
import type { ServiceLimits } from '../../../protocol/frames';
import { Limits } from '../../../protocol/limits';
import { frankCommitment, newFrankKey } from '../crypto/franking';
import { encodePlaintext } from '../crypto/plaintext';
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
import type { Sessions } from './sessions';
import { KeyedQueue } from '../keyed-queue';

export const MESSAGE_ID_BYTES = 16;

export interface OutboxOptions {
  readonly identity: Identity;
  readonly device: number;
  readonly store: KeyStore;
  readonly peers: PeerDirectory;
  readonly sessions: Sessions;
  readonly deliveryTokens: DeliveryTokens;
  /** The deployment's limits, once the session is ready. */
  readonly limits: () => Promise<ServiceLimits>;
  readonly send: (body: Body<'send'>) => Promise<Answer<'send'>>;
}

export interface Outgoing {
  /** Fresh per send() call, or the id of an earlier call the app retries. */
  readonly id: string;
  readonly to: string;
  readonly text?: string;
  readonly body: Uint8Array;
  readonly expiresInSeconds?: number;
  readonly burnAfterReadingSeconds?: number;
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
}

/**
 * The send path: one ciphertext per recipient device, each from that device's Double Ratchet
 * session, split over frames that fit the wire.
 * Sends to one recipient go out one after another so they are queued in the order sent.
 */
export class Outbox {
  private readonly lanes = new KeyedQueue();

  constructor(private readonly options: OutboxOptions) {}

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
    const commitment = frankCommitment(frankKey, { from: this.options.identity.userId, to: message.to, id, kind, body: message.body });
    return { id, frankKey, commitment: toBase64Url(commitment) };
  }

  private async deliver(stamp: MessageStamp, message: Outgoing): Promise<SendResult> {
    const limits = await this.options.limits();
    // Checked for the longest device number before any message goes out, so nothing is sent.
    const longest = this.plaintext(stamp, message, Limits.maxDevice, Number.MAX_SAFE_INTEGER, new Uint8Array(Limits.deliveryTokenBytes));
    const worstCase = maxWireLength(longest.length);
    if (worstCase > limits.maxCiphertextBytes) {
      throw new EbbError('PAYLOAD_TOO_LARGE', `the message encrypts to ${worstCase} bytes; this service accepts ${limits.maxCiphertextBytes}`);
    }
    // Ours goes inside the message, so the recipient's sends back count as a contact's (ARCH §6.6).
    const ownToken = await this.options.deliveryTokens.own();
    try {
      return await this.sendToDevices(stamp, message, await this.prepare(message.to, false), limits, ownToken);
    } catch (err) {
      // CONFLICT: our device list is stale. Refresh it once; the server drops repeats by id.
      if (!EbbError.is(err, 'CONFLICT')) throw err;
      return this.sendToDevices(stamp, message, await this.prepare(message.to, true), limits, ownToken);
    }
  }

  /**
   * The devices to encrypt for, each with a session: the full bundle is fetched when the device list
   * is unknown or stale, one device's bundle when only that device lacks a session. A device that
   * has not published a signed prekey cannot be reached yet and is left out.
   * @throws EbbError FORBIDDEN while the peer's changed identity key awaits acceptIdentity().
   * @throws EbbError NOT_FOUND when no device of the peer can be reached.
   */
  private async prepare(to: string, refresh: boolean): Promise<number[]> {
    const { peers, sessions } = this.options;
    await peers.sendableIdentity(to);
    let devices = refresh ? null : await peers.devices(to);
    if (devices === null) {
      const bundle = await peers.bundle(to);
      for (const prekeys of bundle.devices) await sessions.initiate(bundle, prekeys);
      devices = (await peers.devices(to)) ?? [];
    } else {
      for (const device of devices) {
        if (await sessions.has(to, device)) continue;
        const bundle = await peers.bundle(to, device).catch((err: unknown) => {
          if (EbbError.is(err, 'NOT_FOUND')) return null; // gone: the server answers CONFLICT if we still name it
          throw err;
        });
        for (const prekeys of bundle?.devices ?? []) await sessions.initiate(bundle!, prekeys);
      }
    }
    const ready: number[] = [];
    for (const device of devices) if (await sessions.has(to, device)) ready.push(device);
    if (ready.length === 0) throw new EbbError('NOT_FOUND', 'the user has no device that can receive messages yet');
    return ready;
  }

  private async sendToDevices(
    stamp: MessageStamp,
    message: Outgoing,
    devices: readonly number[],
    limits: ServiceLimits,
    ownToken: Uint8Array,
  ): Promise<SendResult> {
    const { id, commitment } = stamp;
    const messages: DeviceCiphertext[] = [];
    for (const device of devices) {
      const seq = await nextSendSeq(this.options.store, message.to, device);
      const ciphertext = await this.options.sessions.encrypt(message.to, device, this.plaintext(stamp, message, device, seq, ownToken));
      messages.push({ device, ciphertext: toBase64Url(ciphertext), commitment });
    }
    // The recipient's token, once a message from it brought one: the server then counts this as a contact's.
    const theirToken = await this.options.deliveryTokens.ofPeer(message.to);
    const base = {
      id,
      to: message.to,
      ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
      ...(theirToken !== undefined && { deliveryToken: theirToken }),
    };
    const frames = splitSend(
      base,
      messages,
      Math.min(Limits.maxFrameBytes, limits.maxFrameBytes),
      Math.min(Limits.maxDevicesPerSend, limits.maxDevicesPerSend),
    );
    let sentAt: number | undefined;
    for (const frame of frames) {
      const answer = await this.options.send(frame);
      sentAt ??= answer.sentAt;
    }
    return { id, sentAt: new Date(sentAt!) };
  }

  private plaintext(stamp: MessageStamp, message: Outgoing, toDevice: number, seq: number, deliveryToken: Uint8Array): Uint8Array {
    return encodePlaintext({
      from: this.options.identity.userId,
      fromDevice: this.options.device,
      to: message.to,
      toDevice,
      id: stamp.id,
      body: message.body,
      frankKey: stamp.frankKey,
      ...(message.text !== undefined && { text: message.text }),
      ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
      ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
      seq,
      deliveryToken,
    });
  }
}
