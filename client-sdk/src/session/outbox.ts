import { toBase64Url } from '../../../protocol/base64url';
import type { ServiceLimits } from '../../../protocol/frames';
import { Limits } from '../../../protocol/limits';
import { encodePlaintext } from '../crypto/plaintext';
import { randomId } from '../crypto/random';
import { seal, sealedLength, sharedKey } from '../crypto/static-box';
import { EbbError } from '../errors';
import type { Identity } from '../identity/identity';
import type { Peer, PeerDirectory } from '../identity/peers';
import type { Body } from '../transport/connection';
import type { Answer } from '../transport/server-frames';
import type { SendResult } from '../types';
import { splitSend } from './frame-split';

export const MESSAGE_ID_BYTES = 16;

export interface OutboxOptions {
  readonly identity: Identity;
  readonly device: number;
  readonly peers: PeerDirectory;
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
 * The send path: one ciphertext per recipient device, split over frames that fit the wire.
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
    const worstCase = sealedLength(this.plaintext(id, message, Limits.maxDevice).length);
    if (worstCase > limits.maxCiphertextBytes) {
      throw new EbbError('PAYLOAD_TOO_LARGE', `the message encrypts to ${worstCase} bytes; this service accepts ${limits.maxCiphertextBytes}`);
    }
    const peer = await this.options.peers.forSending(message.to);
    try {
      return await this.sendToDevices(id, message, peer, limits);
    } catch (err) {
      // CONFLICT: our device list is stale. Refresh it once; the server drops repeats by id.
      if (!EbbError.is(err, 'CONFLICT')) throw err;
      return this.sendToDevices(id, message, await this.options.peers.refresh(message.to), limits);
    }
  }

  private async sendToDevices(id: string, message: Outgoing, peer: Peer, limits: ServiceLimits): Promise<SendResult> {
    const { identity } = this.options;
    const shared = sharedKey(peer.identityKey, identity.identitySecretKey);
    const messages = peer.devices.map((device) => ({
      device,
      ciphertext: toBase64Url(seal(this.plaintext(id, message, device), identity, shared)),
    }));
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
