/**
 * Frames per connection (`rateLimits.framesPerSecond`, burst `rateLimits.frameBurst`). API Gateway throttles
 * a stage, shared by every user, and has no per-connection limit: without this one client could spend the
 * stage's rate for all. Counted in memory by the container serving the frame, so the message path pays no
 * extra DynamoDB round trip; a connection spread over several containers gets at most that many budgets,
 * which still bounds it.
 *
 * GCRA, as in rate-limits.ts: `tat` is when the connection's bucket is full again.
 */

export type FrameSpend =
  | { readonly outcome: 'allowed' }
  /** The first frame over budget: the caller answers it and closes the connection. */
  | { readonly outcome: 'exceeded'; readonly retryAfterSeconds: number }
  /** A frame of a connection already being closed for flooding. */
  | { readonly outcome: 'closing'; readonly retryAfterSeconds: number };

interface Entry {
  tat: number;
  closing: boolean;
}

/** Most connections remembered; beyond it those whose bucket is full again are forgotten first. */
const DEFAULT_CAPACITY = 10_000;

export class FrameBudget {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly capacity = DEFAULT_CAPACITY) {}

  /** Spends one frame of `connectionId` at `nowMs`. */
  spend(connectionId: string, limits: { readonly framesPerSecond: number; readonly frameBurst: number }, nowMs: number): FrameSpend {
    const interval = 1000 / limits.framesPerSecond;
    const latest = nowMs + (limits.frameBurst - 1) * interval;
    const entry = this.entries.get(connectionId);
    const from = Math.max(entry?.tat ?? nowMs, nowMs);
    if (entry?.closing || from > latest) {
      const retryAfterSeconds = Math.max(1, Math.ceil((from - latest) / 1000));
      if (entry?.closing) return { outcome: 'closing', retryAfterSeconds };
      this.remember(connectionId, { tat: from, closing: true }, nowMs);
      return { outcome: 'exceeded', retryAfterSeconds };
    }
    this.remember(connectionId, { tat: from + interval, closing: false }, nowMs);
    return { outcome: 'allowed' };
  }

  /** Re-inserted, so the map's order runs from the least to the most recently active connection. */
  private remember(connectionId: string, entry: Entry, nowMs: number): void {
    this.entries.delete(connectionId);
    this.entries.set(connectionId, entry);
    if (this.entries.size <= this.capacity) return;
    for (const [id, { tat }] of this.entries) if (tat <= nowMs) this.entries.delete(id);
    // Trimmed below capacity, so a busy container does not scan on every frame.
    const target = Math.floor(this.capacity * 0.9);
    for (const id of this.entries.keys()) {
      if (this.entries.size <= target) break;
      this.entries.delete(id);
    }
  }
}
