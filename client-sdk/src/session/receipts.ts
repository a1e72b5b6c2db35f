import { type Control, MAX_CONTROL_IDS } from '../crypto/plaintext';
import { settledWithin } from './acks';

/** How long receipts wait for company: a burst of messages costs one receipt per sender, not one each. */
export const RECEIPT_DELAY_MS = 300;

export interface ReceiptBatcherOptions {
  /** Sends one control message to `to`'s devices; a failure is dropped (receipts are best effort). */
  readonly send: (to: string, control: Control) => Promise<unknown>;
  readonly delayMs?: number;
}

interface Batch {
  readonly to: string;
  readonly control: (ids: string[]) => Control;
  readonly ids: Set<string>;
  readonly sent: Promise<void>;
  readonly release: () => void;
}

/**
 * Collects receipts and read state (ARCH §8.6) per recipient and kind for RECEIPT_DELAY_MS, then sends each
 * batch as one control message of up to MAX_CONTROL_IDS ids: 50 messages from one sender in a burst cost
 * one `delivered` receipt send.
 */
export class ReceiptBatcher {
  private readonly batches = new Map<string, Batch>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(private readonly options: ReceiptBatcherOptions) {}

  /** A `delivered` or `read` receipt to `sender` for its message `id`; resolves once the batch holding it was sent (or failed). */
  receipt(sender: string, kind: 'delivered' | 'read', id: string): Promise<void> {
    return this.add(`receipt/${kind}/${sender}`, sender, (ids) => ({ type: 'receipt', kind, ids }), id);
  }

  /** Read state for this account's other devices (`self`): message `id` from `sender` was read here. */
  readSync(self: string, sender: string, id: string): Promise<void> {
    return this.add(`read/${sender}`, self, (ids) => ({ type: 'read', sender, ids }), id);
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
    if (batch.ids.size >= MAX_CONTROL_IDS) this.sendBatch(key, batch);
    else this.timer ??= setTimeout(() => this.sendAll(), this.options.delayMs ?? RECEIPT_DELAY_MS);
    return sent;
  }

  private sendAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    for (const [key, batch] of [...this.batches]) this.sendBatch(key, batch);
  }

  private sendBatch(key: string, batch: Batch): void {
    this.batches.delete(key);
    const sending = this.options
      .send(batch.to, batch.control([...batch.ids]))
      .catch(() => undefined)
      .finally(batch.release);
    this.inFlight.add(sending);
    void sending.then(() => this.inFlight.delete(sending));
  }
}
