import { fromBase64Url } from '../../../protocol/base64url';
import { Envelope } from '../../../protocol/frames';
import { decodePlaintext } from '../crypto/plaintext';
import type { Identity } from '../identity/identity';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { ReceivedMessage } from '../types';
import type { AckBatcher } from './acks';
import type { Sessions } from './sessions';

export interface InboxOptions {
  readonly identity: Identity;
  readonly device: number;
  readonly store: KeyStore;
  readonly sessions: Sessions;
  readonly acks: AckBatcher;
  readonly now: () => number;
  readonly emit: (message: ReceivedMessage) => void;
}

/**
 * The receive path, exactly-once to the app over at-least-once delivery: each envelope is checked
 * against the seen ids, decrypted (its session state stored), recorded as seen, handed to the
 * app, then acked. Envelopes are
 * handled one at a time, so a push and a fetch of the same message cannot race.
 */
export class Inbox {
  private queue: Promise<void> = Promise.resolve();

  constructor(private readonly options: InboxOptions) {}

  /** Queues an unvalidated envelope; resolves once it has been handled. Garbage is ignored. */
  receive(raw: unknown): Promise<void> {
    const parsed = Envelope.safeParse(raw);
    if (!parsed.success) return this.queue;
    const envelope = parsed.data;
    // A store failure leaves the envelope unacked: it comes back on the next connect.
    this.queue = this.queue.then(() => this.handle(envelope)).catch(() => undefined);
    return this.queue;
  }

  /** Resolves once every queued envelope has been handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Forgets seen ids whose envelopes have expired: the server cannot deliver those again. */
  async pruneSeen(): Promise<void> {
    const { store, now } = this.options;
    const nowMs = now();
    for (const key of await store.list(StoreKeys.seenPrefix)) {
      const expiresAt = Number(await store.get(key));
      if (!(expiresAt > nowMs)) await store.delete(key);
    }
  }

  private async handle(envelope: Envelope): Promise<void> {
    const { store, acks, now, emit } = this.options;
    const ack = { id: envelope.id, sentAt: envelope.sentAt };
    const seenKey = StoreKeys.seen(envelope.from.user, envelope.id);
    if (envelope.expiresAt <= now() || (await store.get(seenKey)) !== undefined) {
      acks.add(ack);
      return;
    }
    const message = await this.open(envelope);
    if (message && !(message.expiresAt && message.expiresAt.getTime() <= now())) {
      await store.set(seenKey, String(envelope.expiresAt));
      emit(message);
    }
    acks.add(ack);
  }

  /** The message, or null if any check fails; which one is deliberately not said. */
  private async open(envelope: Envelope): Promise<ReceivedMessage | null> {
    const { identity, device, sessions } = this.options;
    let ciphertext: Uint8Array;
    try {
      ciphertext = fromBase64Url(envelope.ciphertext);
    } catch {
      return null;
    }
    // The session state is stored before this returns: a restart continues from it.
    const opened = await sessions.decrypt(envelope.from.user, envelope.from.device, ciphertext, (bytes) => {
      const p = decodePlaintext(bytes);
      const bound =
        p !== null &&
        p.from === envelope.from.user &&
        p.fromDevice === envelope.from.device &&
        p.to === identity.userId &&
        p.toDevice === device &&
        p.id === envelope.id;
      return bound ? p : null;
    });
    if (!opened) return null;
    const plaintext = opened.content;
    const expiresAt =
      plaintext.expiresInSeconds === undefined ? undefined : Math.min(envelope.expiresAt, envelope.sentAt + plaintext.expiresInSeconds * 1000);
    return {
      id: envelope.id,
      from: envelope.from.user,
      fromDevice: envelope.from.device,
      ...(plaintext.text !== undefined && { text: plaintext.text }),
      body: plaintext.body,
      sentAt: new Date(envelope.sentAt),
      ...(expiresAt !== undefined && { expiresAt: new Date(expiresAt) }),
      ...(plaintext.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: plaintext.burnAfterReadingSeconds }),
      ...(opened.fromChangedIdentity && { identityChanged: true as const }),
    };
  }
}
