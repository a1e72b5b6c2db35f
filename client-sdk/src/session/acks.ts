import { Limits } from '../../../protocol/limits';

export interface AckEntry {
  readonly id: string;
  readonly sentAt: number;
}

/** How long acks wait for company before going out: one frame for a burst, little delay for one. */
export const ACK_DELAY_MS = 20;
/** close() waits this long at most for the server to confirm the last acks; unconfirmed ones are redelivered and deduped. */
export const ACK_CLOSE_WAIT_MS = 2000;

/**
 * Collects acks into `ack` frames of up to Limits.maxAckBatch entries. A failed ack is dropped:
 * the message comes back later and is recognised as already seen.
 *
 * With `postAcks`, batches go out as quiet acks (`quiet: true`): the server answers only a failure, so each
 * ack costs one API Gateway message instead of two (a person's messages arrive seconds apart, so at human
 * pace nearly every ack names one message). `postAcks` returns false when it could not send (no open
 * socket): that batch becomes an answered request, re-sent after a reconnect. `flush` (on close) always
 * sends answered acks, so close() still waits until the server removed what was received.
 */
export class AckBatcher {
  private readonly queued = new Map<string, AckEntry>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private readonly inFlight = new Set<Promise<unknown>>();

  constructor(
    private readonly sendAcks: (messages: AckEntry[]) => Promise<unknown>,
    private readonly postAcks?: (messages: AckEntry[]) => boolean,
  ) {}

  add(entry: AckEntry): void {
    // Keyed so a message delivered twice is acked once: a batch must not name a key twice.
    this.queued.set(`${entry.sentAt}:${entry.id}`, { id: entry.id, sentAt: entry.sentAt });
    if (this.queued.size >= Limits.maxAckBatch) this.sendQueued();
    else this.timer ??= setTimeout(() => this.sendQueued(), ACK_DELAY_MS);
  }

  /** Sends what is queued and waits, at most `maxWaitMs`, for every ack still in flight to be answered. */
  async flush(maxWaitMs: number): Promise<void> {
    this.sendQueued(true);
    await settledWithin(this.inFlight, maxWaitMs);
  }

  /** Forgets queued acks (the connection is gone for good). */
  discard(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.queued.clear();
  }

  private sendQueued(answered = false): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const entries = [...this.queued.values()];
    this.queued.clear();
    for (let i = 0; i < entries.length; i += Limits.maxAckBatch) {
      const batch = entries.slice(i, i + Limits.maxAckBatch);
      if (!answered && this.postAcks?.(batch)) continue;
      const sent = this.sendAcks(batch).catch(() => undefined);
      this.inFlight.add(sent);
      void sent.then(() => this.inFlight.delete(sent));
    }
  }
}

/** Waits until every one of `pending` settled, or `maxWaitMs` passed: what a batcher's `flush` waits for. */
export async function settledWithin(pending: Iterable<Promise<unknown>>, maxWaitMs: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, maxWaitMs)));
  await Promise.race([Promise.all([...pending]), deadline]);
  clearTimeout(timer);
}
