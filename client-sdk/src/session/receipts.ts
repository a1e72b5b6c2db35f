import { type Control, MAX_CONTROL_IDS, type RidingReceipts } from '../crypto/plaintext';
import { settledWithin } from './acks';

/**
 * How long receipts wait, at most, for a message to the same user to ride inside (ARCH §8.6), then for
 * company: at a person's pace a reply leaves about a second after the message it answers arrived, so 1.5 s
 * lets the receipt (and the ack of what it confirms) ride inside the reply; a delivered tick a second late is
 * invisible to a person. A burst of messages still costs one receipt per sender, not one each.
 */
export const RECEIPT_WAIT_MS = 1500;
/** The longest `receiptWaitMs` an app may set: a receipt later than a minute is no receipt. */
export const MAX_RECEIPT_WAIT_MS = 60_000;

export interface ReceiptBatcherOptions {
  /** Sends one control message to `to`'s devices; a failure is dropped (receipts are best effort). */
  readonly send: (to: string, control: Control) => Promise<unknown>;
  /** @default RECEIPT_WAIT_MS */
  readonly delayMs?: number;
}

/** Receipts taken to ride inside a message to their user (session/outbox.ts). */
export interface TakenReceipts {
  readonly receipts: RidingReceipts;
  /** The message carrying them was queued (true); or it failed (false): they go alone now. */
  settle(sent: boolean): void;
}

interface Batch {
  readonly to: string;
  readonly control: (ids: string[]) => Control;
  readonly ids: Set<string>;
  readonly sent: Promise<void>;
  readonly release: () => void;
}

/**
 * Collects receipts and read state (ARCH §8.6) per recipient and kind. A message this device sends to a user
 * in the meantime takes that user's receipts along inside it (`take`); what no message took goes, once the
 * first of them waited `delayMs`, as one control message per batch of up to MAX_CONTROL_IDS ids: 50 messages
 * from one sender in a burst cost one `delivered` receipt send, and a reply costs none.
 */
export class ReceiptBatcher {
  private readonly batches = new Map<string, Batch>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: ReceiptBatcherOptions) {}

  /** A `delivered` or `read` receipt to `sender` for its message `id`; resolves once the batch holding it was sent (or failed). */
  receipt(sender: string, kind: 'delivered' | 'read', id: string): Promise<void> {
    return this.add(receiptKey(kind, sender), sender, (ids) => ({ type: 'receipt', kind, ids }), id);
  }

  /** Read state for this account's other devices (`self`): message `id` from `sender` was read here. */
  readSync(self: string, sender: string, id: string): Promise<void> {
    return this.add(`read/${sender}`, self, (ids) => ({ type: 'read', sender, ids }), id);
  }

  /**
   * The receipts waiting for `to`, of both kinds, for a message to `to` to carry: they are no longer waiting.
   * Undefined when there are none. Read state for this account's own devices is never taken.
   */
  take(to: string): TakenReceipts | undefined {
    const taken: Batch[] = [];
    const receipts: { delivered?: string[]; read?: string[] } = {};
    for (const kind of ['delivered', 'read'] as const) {
      const key = receiptKey(kind, to);
      const batch = this.batches.get(key);
      if (!batch) continue;
      this.batches.delete(key);
      taken.push(batch);
      receipts[kind] = [...batch.ids];
    }
    if (taken.length === 0) return undefined;
    if (this.batches.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    let settled = false;
    return {
      receipts,
      settle: (sent) => {
        if (settled) return;
        settled = true;
        for (const batch of taken) {
          if (sent) batch.release();
          else this.sendBatch(batch);
        }
      },
    };
  }

  /** Whether a receipt is waiting for company or being sent: a `send` is coming that acks may ride on. */
  get pending(): boolean {
    return this.batches.size > 0 || this.inFlight.size > 0;
  }

  /** Sends every batch now; resolves once each is answered or `maxWaitMs` passed. */
  async flush(maxWaitMs: number): Promise<void> {
    this.sendAll();
    await settledWithin(this.inFlight, maxWaitMs);
  }

  /** Forgets what is queued (the client is closing without a connection). */
  discard(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const batch of this.batches.values()) batch.release();
    this.batches.clear();
  }

  private add(key: string, to: string, control: (ids: string[]) => Control, id: string): Promise<void> {
    let batch = this.batches.get(key);
    if (!batch) {
      let release!: () => void;
      const sent = new Promise<void>((resolve) => (release = resolve));
      batch = { to, control, ids: new Set(), sent, release };
      this.batches.set(key, batch);
    }
    batch.ids.add(id);
    const { sent } = batch;
    if (batch.ids.size >= MAX_CONTROL_IDS) {
      this.batches.delete(key);
      this.sendBatch(batch);
    } else this.timer ??= setTimeout(() => this.sendAll(), this.options.delayMs ?? RECEIPT_WAIT_MS);
    return sent;
  }

  private sendAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batches = [...this.batches.values()];
    this.batches.clear();
    for (const batch of batches) this.sendBatch(batch);
  }

  private sendBatch(batch: Batch): void {
    const sending = this.options
      .send(batch.to, batch.control([...batch.ids]))
      .catch(() => undefined)
      .finally(batch.release);
    this.inFlight.add(sending);
    void sending.then(() => this.inFlight.delete(sending));
  }
}

function receiptKey(kind: 'delivered' | 'read', to: string): string {
  return `receipt/${kind}/${to}`;
}
