import * as v from 'valibot';
import { type AttachmentRef, attachmentRefToWire } from '../../../protocol/attachment-ref';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { Envelope } from '../../../protocol/frames';
import { verifyCommitment } from '../crypto/franking';
import { type Control, type Plaintext, type RidingReceipts, decodePlaintext } from '../crypto/plaintext';
import type { Identity } from '../identity/identity';
import type { KeyStore } from '../store/key-store';
import type { Answer } from '../transport/server-frames';
import { StoreKeys } from '../store/layout';
import type { ReceivedAttachment, ReceivedMessage, Receipt, SentMessage } from '../types';
import type { AckBatcher } from './acks';
import { ReceiveOrder } from './ordering';
import type { Reportable, Reportables } from './reportables';
import type { Sessions } from './sessions';

export interface InboxOptions {
  readonly identity: Identity;
  readonly device: number;
  readonly store: KeyStore;
  readonly sessions: Sessions;
  readonly acks: AckBatcher;
  readonly reportables: Reportables;
  readonly now: () => number;
  /** Hands a message to the app (and has its delivery receipt sent). */
  readonly emit: (message: ReceivedMessage) => void;
  /** A copy of a message another device of this account sent. */
  readonly emitSent: (sent: SentMessage) => void;
  /** Receipts from a recipient, or read state from another device of this account. */
  readonly emitReceipt: (receipt: Receipt) => void;
  /** Keeps the delivery token an accepted message carried (session/delivery-tokens.ts). */
  readonly learnDeliveryToken: (from: string, token: Uint8Array, sentAt: number) => Promise<void>;
  /** Takes the account's delivery token another device of it rotated to (ARCH §6.6). */
  readonly adoptDeliveryToken: (token: string, sentAt: number) => Promise<void>;
  /** One page of the queue on the current connection, for drains between connects. */
  readonly fetch: Fetch;
  /** Group messages and group control content (groups/wiring.ts). */
  readonly groups: GroupReceiver;
  /** A received attachment, bound to what downloads it (attachments/received.ts). */
  readonly attachment: (ref: AttachmentRef) => ReceivedAttachment;
}

/** What the inbox needs of groups (ARCH §8.8). */
export interface GroupReceiver {
  /** Whether the envelope's ciphertext is a group (sender-key) message rather than a pairwise one. */
  isGroupMessage(envelope: Envelope): boolean;
  /**
   * Opens a group message: null to drop it (not a member, forged, moved); 'wait' when no sender key held opens
   * it yet but its sender shares a group with this device, so its distribution may still be queued.
   */
  open(envelope: Envelope): Promise<GroupOpened | 'wait' | null>;
  /**
   * Takes group control content from a pairwise message (changes, a sender key) before it counts as seen; a
   * sender key answers with the lane its messages are ordered in and the number they go on from.
   */
  control(from: { user: string; device: number }, control: Control, body: Uint8Array): Promise<{ lane: string; seq: number } | void>;
}

/** A group message opened, with what the inbox needs to hand it on. */
export interface GroupOpened {
  readonly message: ReceivedMessage;
  readonly reportable: Reportable;
  /** The per-sender ordering lane (group and sender user); `seq` is the number in it. */
  readonly lane: string;
  readonly seq: number;
  readonly deliveryToken?: Uint8Array;
}

/** Group messages held at once waiting for their sender key's distribution; beyond it they are dropped. */
export const MAX_WAITING_FOR_KEY = 500;

/** Fetches the queue page after `after` (from the start when undefined). */
export type Fetch = (after?: string) => Promise<Answer<'fetch'>>;

/** Attempts at an in-session drain before waiting for the next connect, which drains anyway. */
const DRAIN_ATTEMPTS = 3;
const DRAIN_RETRY_MS = 250;

/** A decrypted message with what it takes to report it. */
interface Opened {
  readonly message: ReceivedMessage;
  readonly control?: Control;
  readonly reportable: Reportable;
  /** The sender's sequence number for this device (session/ordering.ts); absent from older senders. */
  readonly seq?: number;
  readonly deliveryToken?: Uint8Array;
  /** Receipts riding inside the message (ARCH §8.6); `receiptsRefused` when its field was malformed. */
  readonly receipts?: RidingReceipts;
  readonly receiptsRefused?: boolean;
}

/**
 * The receive path, exactly-once to the app over at-least-once delivery: each envelope is checked
 * against the seen ids, decrypted (its session state stored), its franking commitment checked,
 * recorded as seen, kept for report(), handed to the app in the sender's order (session/ordering.ts),
 * then acked. Envelopes are handled one at a time, so a push and a fetch of the same message cannot race.
 */
export class Inbox {
  private queue: Promise<void> = Promise.resolve();
  private dropped = 0;
  private repeats = 0;
  private readonly order: ReceiveOrder;
  /** Drains started so far: a held message may be given up on by a drain that started after it was held. */
  private generation = 0;
  private drainLoop: Promise<void> | null = null;
  private drainAgain = false;
  private closed = false;
  /** Group messages whose sender key has not arrived yet, with the drain generation current when they came. */
  private readonly waiting = new Map<string, { envelope: Envelope; heldIn: number }>();
  private keyless = 0;
  private refusedReceipts = 0;

  constructor(private readonly options: InboxOptions) {
    this.order = new ReceiveOrder(options.store, options.now);
  }

  /**
   * Fetches queue pages until the server says there are no more, handling each envelope in order, then
   * hands over the held messages whose gaps this drain did not fill.
   */
  async drain(fetch: Fetch): Promise<void> {
    const generation = ++this.generation;
    let after: string | undefined;
    for (;;) {
      const page = await fetch(after);
      // Held from this drain's own pages: the gap was not in the queue when it was read, so this drain may give up on it.
      for (const envelope of page.messages) await this.receive(envelope, generation - 1);
      if (!page.more || page.cursor === null) break;
      after = page.cursor;
    }
    await this.enqueue(async () => {
      for (const message of await this.order.release(generation)) this.options.emit(message);
      // A group message's distribution is queued before it: a drain that started after it came and found none gives up on it.
      for (const [key, { envelope, heldIn }] of this.waiting) {
        if (heldIn >= generation) continue;
        this.waiting.delete(key);
        this.keyless++;
        this.options.acks.add({ id: envelope.id, sentAt: envelope.sentAt });
      }
    });
  }

  /** Group messages dropped because their sender key never came. Internal, for tests and diagnostics. */
  get withoutSenderKey(): number {
    return this.keyless;
  }

  /** Messages whose riding receipts were refused as malformed (the message itself went on). Internal, for tests. */
  get receiptsRefused(): number {
    return this.refusedReceipts;
  }

  /** Stops in-session drains and the handling of pushes (the client is closing). */
  stop(): void {
    this.closed = true;
  }

  /** Messages held back waiting for an earlier one. Internal, for tests. */
  get held(): number {
    return this.order.heldCount;
  }

  /**
   * Queues an unvalidated envelope; resolves once it has been handled. Garbage is ignored. `heldIn` is
   * the last drain generation that cannot give up on its gap if it is held: by default (a push) every
   * drain started so far, since the gap may be stored after their reads.
   */
  receive(raw: unknown, heldIn?: number): Promise<void> {
    const parsed = v.safeParse(Envelope, raw);
    // Once closing, a push is left in the queue (unacked) for the next connect: nothing writes to the store after close().
    if (!parsed.success || this.closed) return this.queue;
    const envelope = parsed.output;
    // A store failure leaves the envelope unacked: it comes back on the next connect.
    return this.enqueue(() => this.handle(envelope, heldIn ?? this.generation));
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    this.queue = this.queue.then(task).catch(() => undefined);
    return this.queue;
  }

  /** A message skipped ahead: drain the queue for the gap, once more if asked again meanwhile. */
  private requestDrain(): void {
    if (this.drainLoop) {
      this.drainAgain = true;
      return;
    }
    this.drainLoop = (async () => {
      let failures = 0;
      do {
        this.drainAgain = false;
        try {
          await this.drain(this.options.fetch);
        } catch {
          // Held messages wait for the next drain: this one again shortly, or the one on reconnect.
          if (++failures >= DRAIN_ATTEMPTS) return;
          this.drainAgain = true;
          await new Promise((resolve) => setTimeout(resolve, DRAIN_RETRY_MS * failures));
        }
      } while (this.drainAgain && !this.closed);
    })().finally(() => (this.drainLoop = null));
  }

  /**
   * Messages dropped because the envelope's commitment did not match the content (ARCH §9.2): such a
   * message could not be reported, so it is never shown. Internal, for tests and diagnostics.
   */
  get commitmentFailures(): number {
    return this.dropped;
  }

  /** Envelopes not handed to the app again because their id was seen already. Internal, for tests. */
  get duplicates(): number {
    return this.repeats;
  }

  /** Resolves once every queued envelope has been handled. */
  idle(): Promise<void> {
    return this.queue;
  }

  /**
   * Forgets seen ids whose envelopes have expired (the server cannot deliver those again), and
   * reportable messages that have expired or exceed the cap.
   */
  async prune(): Promise<void> {
    const { store, now } = this.options;
    const nowMs = now();
    for (const key of await store.list(StoreKeys.seenPrefix)) {
      const expiresAt = Number(await store.get(key));
      if (!(expiresAt > nowMs)) await store.delete(key);
    }
    await this.options.reportables.prune();
  }

  private async handle(envelope: Envelope, heldIn: number): Promise<void> {
    const { store, acks, now, emit } = this.options;
    const ack = { id: envelope.id, sentAt: envelope.sentAt };
    const seenKey = StoreKeys.seen(envelope.from.user, envelope.id);
    if (envelope.expiresAt <= now()) {
      acks.add(ack);
      return;
    }
    if ((await store.get(seenKey)) !== undefined) {
      this.repeats++;
      acks.add(ack);
      return;
    }
    if (this.options.groups.isGroupMessage(envelope)) return this.handleGroup(envelope, heldIn);
    const opened = await this.open(envelope);
    if (opened && (opened.control || envelope.from.user === this.options.identity.userId)) {
      // Control content and copies from this account's devices: never 'message', never reported or receipted.
      // Kept before it counts as seen (and is acked): a token lost here would leave this device's contacts strangers.
      if (opened.control?.type === 'token' && envelope.from.user === this.options.identity.userId) {
        await this.options.adoptDeliveryToken(opened.control.token, envelope.sentAt);
      }
      const groupControl = opened.control?.type === 'group' || opened.control?.type === 'senderKey' || opened.control?.type === 'groupSync';
      if (groupControl) await this.takeGroupControl(envelope, opened);
      await store.set(seenKey, String(envelope.expiresAt));
      this.dispatchControl(envelope, opened);
    } else if (opened && !(opened.message.expiresAt && opened.message.expiresAt.getTime() <= now())) {
      await store.set(seenKey, String(envelope.expiresAt));
      this.ridingReceipts(envelope, opened);
      // Best effort: a token not kept only makes the next send back count as a stranger's.
      if (opened.deliveryToken)
        await this.options.learnDeliveryToken(envelope.from.user, opened.deliveryToken, envelope.sentAt).catch(() => undefined);
      // Best effort: a store failure here costs the ability to report the message, not the message.
      await this.options.reportables.keep(opened.reportable).catch(() => undefined);
      const ready =
        opened.seq === undefined
          ? [opened.message]
          : await this.order.accept(envelope.from.user, envelope.from.device, opened.seq, opened.message, heldIn);
      for (const message of ready) emit(message);
      if (ready.length === 0 && !this.closed) this.requestDrain();
    }
    acks.add(ack);
  }

  /**
   * A group message: dropped unless a member's sender key opens it for a group this device is in; held while
   * its sender key may still be on its way; else handed on in the sender's order, or as 'sent' when another
   * device of this account sent it.
   */
  private async handleGroup(envelope: Envelope, heldIn: number): Promise<void> {
    const { store, acks, emit } = this.options;
    const ack = { id: envelope.id, sentAt: envelope.sentAt };
    const waitKey = `${envelope.from.user}/${envelope.from.device}/${envelope.id}`;
    const opened = await this.options.groups.open(envelope);
    if (opened === 'wait') {
      if (this.waiting.size >= MAX_WAITING_FOR_KEY && !this.waiting.has(waitKey)) {
        this.keyless++;
        acks.add(ack);
        return;
      }
      this.waiting.set(waitKey, { envelope, heldIn: this.waiting.get(waitKey)?.heldIn ?? this.generation });
      if (!this.closed) this.requestDrain();
      return;
    }
    this.waiting.delete(waitKey);
    if (opened && !(opened.message.expiresAt && opened.message.expiresAt.getTime() <= this.options.now())) {
      await store.set(StoreKeys.seen(envelope.from.user, envelope.id), String(envelope.expiresAt));
      const { message } = opened;
      if (envelope.from.user === this.options.identity.userId) {
        this.options.emitSent({
          id: message.id,
          to: message.group!,
          group: message.group!,
          ...(message.text !== undefined && { text: message.text }),
          body: message.body,
          sentAt: message.sentAt,
          fromDevice: message.fromDevice,
          ...(message.expiresAt && { expiresAt: message.expiresAt }),
          ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
          ...(message.attachments && { attachments: message.attachments }),
        });
      } else {
        if (opened.deliveryToken)
          await this.options.learnDeliveryToken(envelope.from.user, opened.deliveryToken, envelope.sentAt).catch(() => undefined);
        await this.options.reportables.keep(opened.reportable).catch(() => undefined);
        const ready = await this.order.accept(opened.lane, envelope.from.device, opened.seq, message, heldIn);
        for (const m of ready) emit(m);
        if (ready.length === 0 && !this.closed) this.requestDrain();
      }
    }
    acks.add(ack);
  }

  /** Group changes and sender keys go to the group wiring; a sender key lets the messages waiting for it go on. */
  private async takeGroupControl(envelope: Envelope, opened: Opened): Promise<void> {
    const from = { user: envelope.from.user, device: envelope.from.device };
    const started = await this.options.groups.control(from, opened.control!, opened.message.body);
    if (!started) return;
    await this.order.start(started.lane, from.device, started.seq);
    for (const [key, { envelope: waiting, heldIn }] of this.waiting) {
      if (waiting.from.user !== from.user || waiting.from.device !== from.device) continue;
      this.waiting.delete(key);
      void this.enqueue(() => this.handle(waiting, heldIn));
    }
  }

  /**
   * A sent copy from another device of this account becomes 'sent'; its read state becomes 'receipt' with
   * `from` this account and `sender` set; a recipient's receipts become 'receipt'. Anything else from this
   * account (a token rotation is taken before this), and control content of the account's own kinds from
   * another account, is dropped.
   */
  private dispatchControl(envelope: Envelope, opened: Opened): void {
    const { message, control } = opened;
    const own = envelope.from.user === this.options.identity.userId;
    const at = new Date(envelope.sentAt);
    if (own && control?.type === 'sent') {
      if (message.expiresAt && message.expiresAt.getTime() <= this.options.now()) return;
      this.options.emitSent({
        id: message.id,
        to: control.to,
        ...(message.text !== undefined && { text: message.text }),
        body: message.body,
        sentAt: at,
        fromDevice: message.fromDevice,
        ...(message.expiresAt && { expiresAt: message.expiresAt }),
        ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
        ...(message.attachments && { attachments: message.attachments }),
      });
    } else if (own && control?.type === 'read') {
      for (const messageId of control.ids) {
        this.options.emitReceipt({ messageId, from: message.from, fromDevice: message.fromDevice, kind: 'read', at, sender: control.sender });
      }
    } else if (!own && control?.type === 'receipt') {
      for (const messageId of control.ids) {
        this.options.emitReceipt({ messageId, from: message.from, fromDevice: message.fromDevice, kind: control.kind, at });
      }
    }
  }

  /**
   * Receipts riding inside a message from another account (ARCH §8.6) become 'receipt' exactly as a `receipt`
   * control from the same device would: from the envelope's sender and device (the plaintext is bound to them),
   * at the envelope's time, one per id and kind. They only ever say that the sender received or read messages.
   */
  private ridingReceipts(envelope: Envelope, opened: Opened): void {
    if (opened.receiptsRefused) this.refusedReceipts++;
    if (!opened.receipts) return;
    const from = envelope.from.user;
    const fromDevice = envelope.from.device;
    const at = new Date(envelope.sentAt);
    for (const kind of ['delivered', 'read'] as const) {
      for (const messageId of opened.receipts[kind] ?? []) this.options.emitReceipt({ messageId, from, fromDevice, kind, at });
    }
  }

  /** The message, or null if any check fails; which one is deliberately not said. */
  private async open(envelope: Envelope): Promise<Opened | null> {
    const { identity, device, sessions } = this.options;
    let ciphertext: Uint8Array;
    try {
      ciphertext = fromBase64Url(envelope.ciphertext);
    } catch {
      return null;
    }
    let uncommitted = false;
    // The session state is stored before this returns: a restart continues from it. A refused
    // plaintext (moved to another envelope, or not what the commitment commits to) leaves it as it was.
    const opened = await sessions.decrypt(envelope.from.user, envelope.from.device, ciphertext, (bytes) => {
      const p = decodePlaintext(bytes);
      const bound =
        p !== null &&
        p.from === envelope.from.user &&
        p.fromDevice === envelope.from.device &&
        p.to === identity.userId &&
        p.toDevice === device &&
        p.id === envelope.id;
      if (!bound) return null;
      uncommitted = !this.commits(envelope, p);
      return uncommitted ? null : p;
    });
    if (uncommitted) this.dropped++;
    if (!opened) return null;
    const plaintext = opened.content;
    // The envelope's times are the server's word, unauthenticated: the lifetime sealed by the sender
    // counts from sentAt only when that is not later than now, so the server may shorten it, never extend it.
    const expiresAt =
      plaintext.expiresInSeconds === undefined
        ? undefined
        : Math.min(envelope.expiresAt, Math.min(envelope.sentAt, this.options.now()) + plaintext.expiresInSeconds * 1000);
    const message: ReceivedMessage = {
      id: envelope.id,
      from: envelope.from.user,
      fromDevice: envelope.from.device,
      ...(plaintext.text !== undefined && { text: plaintext.text }),
      body: plaintext.body,
      sentAt: new Date(envelope.sentAt),
      ...(expiresAt !== undefined && { expiresAt: new Date(expiresAt) }),
      ...(plaintext.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: plaintext.burnAfterReadingSeconds }),
      ...(opened.fromChangedIdentity && { identityChanged: true as const }),
      ...(plaintext.attachments && { attachments: plaintext.attachments.map(this.options.attachment) }),
    };
    const reportable: Reportable = {
      id: envelope.id,
      from: envelope.from,
      sentAt: envelope.sentAt,
      expiresAt: expiresAt ?? envelope.expiresAt,
      frank: envelope.frank,
      frankKey: toBase64Url(plaintext.frankKey),
      kind: kindOf(plaintext),
      body: toBase64Url(plaintext.body),
      ...(plaintext.attachments && { attachments: plaintext.attachments.map(attachmentRefToWire) }),
    };
    return {
      message,
      ...(plaintext.control && { control: plaintext.control }),
      reportable,
      ...(plaintext.seq !== undefined && { seq: plaintext.seq }),
      ...(plaintext.deliveryToken && { deliveryToken: plaintext.deliveryToken }),
      ...(plaintext.receipts && { receipts: plaintext.receipts }),
      ...(plaintext.receiptsRefused && { receiptsRefused: true }),
    };
  }

  /**
   * Whether the envelope's commitment is the one the sender made for this content under the franking
   * key inside the ciphertext (ARCH §9.2): only then can the recipient prove the content in a report.
   */
  private commits(envelope: Envelope, p: Plaintext): boolean {
    const content = {
      from: envelope.from.user,
      to: this.options.identity.userId,
      id: envelope.id,
      kind: kindOf(p),
      body: p.body,
      ...(p.attachments && { attachments: p.attachments }),
    };
    return verifyCommitment(p.frankKey, content, envelope.frank.commitment);
  }
}

function kindOf(p: Plaintext): 'text' | 'bytes' {
  return p.text === undefined ? 'bytes' : 'text';
}
