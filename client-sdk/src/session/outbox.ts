import { toBase64Url } from '../../../protocol/base64url';
import type { ServiceLimits } from '../../../protocol/frames';
import { Limits } from '../../../protocol/limits';
import { encodePlaintext } from '../crypto/plaintext';
import { randomId } from '../crypto/random';
import { maxWireLength } from '../crypto/envelope';
import { EbbError } from '../errors';
import type { Identity } from '../identity/identity';
import type { PeerDirectory } from '../identity/peers';
import type { Body } from '../transport/connection';
import type { Answer } from '../transport/server-frames';
import type { SendResult } from '../types';
import { type DeviceCiphertext, splitSend } from './frame-split';
import type { Sessions } from './sessions';

export const MESSAGE_ID_BYTES = 16;

export interface OutboxOptions {
  readonly identity: Identity;
  readonly device: number;
  readonly peers: PeerDirectory;
  readonly sessions: Sessions;
  /** The deployment's limits, once the session is ready. */
  readonly limits: () => Promise<ServiceLimits>;
  readonly send: (body: Body<'send'>) => Promise<Answer<'send'>>;
}

export interface Outgoing {
  readonly to: string;
  readonly text?: string;
  readonly body: Uint8Array;
  readonly expiresInSeconds?: number;
  readonly burnAfterReadingSeconds?: number;
}

/**
 * The send path: one ciphertext per recipient device, each from that device's Double Ratchet
 * session, split over frames that fit the wire.
 * Sends to one recipient go out one after another so they are queued in the order sent.
 */
export class Outbox {
  private readonly lanes = new Map<string, Promise<unknown>>();

  constructor(private readonly options: OutboxOptions) {}

  send(message: Outgoing): Promise<SendResult> {
    // Chosen once: every retry, reconnect and extra frame reuses it, so the server queues it once.
    const id = randomId(MESSAGE_ID_BYTES);
    const previous = this.lanes.get(message.to) ?? Promise.resolve();
    const result = previous.then(() => this.deliver(id, message));
    const tail = result.catch(() => undefined);
    this.lanes.set(message.to, tail);
    void tail.then(() => {
      if (this.lanes.get(message.to) === tail) this.lanes.delete(message.to);
    });
    return result;
  }

  private async deliver(id: string, message: Outgoing): Promise<SendResult> {
    const limits = await this.options.limits();
    // Checked for the longest device number before any network traffic, so nothing is sent.
    const worstCase = maxWireLength(this.plaintext(id, message, Limits.maxDevice).length);
    if (worstCase > limits.maxCiphertextBytes) {
      throw new EbbError('PAYLOAD_TOO_LARGE', `the message encrypts to ${worstCase} bytes; this service accepts ${limits.maxCiphertextBytes}`);
    }
    try {
      return await this.sendToDevices(id, message, await this.prepare(message.to, false), limits);
    } catch (err) {
      // CONFLICT: our device list is stale. Refresh it once; the server drops repeats by id.
      if (!EbbError.is(err, 'CONFLICT')) throw err;
      return this.sendToDevices(id, message, await this.prepare(message.to, true), limits);
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

  private async sendToDevices(id: string, message: Outgoing, devices: readonly number[], limits: ServiceLimits): Promise<SendResult> {
    const messages: DeviceCiphertext[] = [];
    for (const device of devices) {
      const ciphertext = await this.options.sessions.encrypt(message.to, device, this.plaintext(id, message, device));
      messages.push({ device, ciphertext: toBase64Url(ciphertext) });
    }
    const base = { id, to: message.to, ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }) };
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

  private plaintext(id: string, message: Outgoing, toDevice: number): Uint8Array {
    return encodePlaintext({
      from: this.options.identity.userId,
      fromDevice: this.options.device,
      to: message.to,
      toDevice,
      id,
      body: message.body,
      ...(message.text !== undefined && { text: message.text }),
      ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
      ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
    });
  }
}
