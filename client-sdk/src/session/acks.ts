import { Limits } from '../../../protocol/limits';
import type { Body } from '../transport/requests';
import type { Answer } from '../transport/server-frames';

export interface AckEntry {
  readonly id: string;
  readonly sentAt: number;
}

/** How long acks wait for company before going out: one frame for a burst, little delay for one. */
export const ACK_DELAY_MS = 20;
/** close() waits this long at most for the server to confirm the last acks; unconfirmed ones are redelivered and deduped. */
export const ACK_CLOSE_WAIT_MS = 2000;
/**
 * While a send is coming anyway (a receipt being batched or sent), acks wait for it this long at most, counted
 * from the oldest, unless the batcher is given its own wait: the client gives the receipts' wait
 * (`receiptWaitMs`) plus ACK_RIDE_MARGIN_MS, so an ack outwaits the receipt it rides on.
 */
export const ACK_RIDE_WAIT_MS = 1000;
/** What a receipt takes, once its wait is over, to be encrypted and sent: an ack waits that much longer. */
export const ACK_RIDE_MARGIN_MS = 700;

/**
 * Collects acks into `ack` frames of up to Limits.maxAckBatch entries. A failed ack is dropped:
 * the message comes back later and is recognised as already seen.
 *
 * Acks ride on the next `send` or `fanout` that leaves before their batch is due (ARCH §6.5, `carryingAcks`):
 * `take` hands them to it and `restore` takes back those it did not confirm. With `sendComing` (a receipt is
 * being batched or sent), a due batch waits for that send, `rideWaitMs` at most: the usual receipt (or the reply it rides in) then
 * carries the ack of the message it confirms, and the ack costs no frame, invocation or account read of its own.
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
  /** When the oldest queued ack was added (epoch ms). */
  private oldest = 0;
  private discarded = false;

  constructor(
    private readonly sendAcks: (messages: AckEntry[]) => Promise<unknown>,
    private readonly postAcks?: (messages: AckEntry[]) => boolean,
    private readonly sendComing?: () => boolean,
    private readonly rideWaitMs: number = ACK_RIDE_WAIT_MS,
  ) {}

  add(entry: AckEntry): void {
    if (this.queued.size === 0) this.oldest = Date.now();
    // Keyed so a message delivered twice is acked once: a batch must not name a key twice.
    this.queued.set(`${entry.sentAt}:${entry.id}`, { id: entry.id, sentAt: entry.sentAt });
    if (this.queued.size >= Limits.maxAckBatch) this.sendQueued();
    else this.timer ??= setTimeout(() => this.due(), ACK_DELAY_MS);
  }

  /** Takes up to `max` queued acks, oldest first, for a frame the device sends anyway to carry. */
  take(max: number = Limits.maxAckBatch): AckEntry[] {
    const taken: AckEntry[] = [];
    for (const [key, entry] of this.queued) {
      if (taken.length >= max) break;
      taken.push(entry);
      this.queued.delete(key);
    }
    if (this.queued.size === 0 && this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    return taken;
  }

  /** Acks a frame carried that the server did not confirm: queued again (a repeated ack removes nothing more). */
  restore(entries: readonly AckEntry[]): void {
    if (this.discarded) return;
    for (const entry of entries) this.add(entry);
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
    this.discarded = true;
  }

  /** The batch timer: the acks go, unless a send is coming to carry them and they have not waited too long. */
  private due(): void {
    this.timer = null;
    if (this.sendComing?.() && Date.now() - this.oldest < this.rideWaitMs) {
      this.timer = setTimeout(() => this.due(), ACK_DELAY_MS);
      return;
    }
    this.sendQueued();
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

/**
 * Sends `body` as `action` carrying as many of `batcher`'s queued acks as the frame has room for (ARCH §6.5).
 * Those the answer does not confirm (`acksApplied` not true, or the request failed) go back to the batch and
 * leave in the next `ack`: an ack applied twice removes nothing the second time.
 */
export async function carryingAcks<A extends 'send' | 'fanout'>(
  batcher: AckBatcher,
  action: A,
  body: Body<A>,
  request: (body: Body<A>) => Promise<Answer<A>>,
  maxFrameBytes: number = Limits.maxFrameBytes,
): Promise<Answer<A>> {
  const taken = batcher.take();
  // The frame must stay under maxFrameBytes, as the frames it was split into were made to (ARCH §6.7).
  let bytes = frameBytes(action, { ...body, acks: [] });
  let fits = 0;
  while (fits < taken.length) {
    bytes += encoder.encode(JSON.stringify(taken[fits])).length + (fits > 0 ? 1 : 0);
    if (bytes >= maxFrameBytes) break;
    fits++;
  }
  const riding = taken.slice(0, fits);
  batcher.restore(taken.slice(fits));
  if (riding.length === 0) return request(body);
  let answer: Answer<A>;
  try {
    answer = await request({ ...body, acks: riding });
  } catch (error) {
    batcher.restore(riding);
    throw error;
  }
  if (answer.acksApplied !== true) batcher.restore(riding);
  return answer;
}

/** The longest `rid` the protocol allows: sizes are computed for the worst case. */
const RID_PLACEHOLDER = 'r'.repeat(64);
const encoder = new TextEncoder();

function frameBytes(action: string, body: object): number {
  return encoder.encode(JSON.stringify({ action, rid: RID_PLACEHOLDER, ...body })).length;
}
