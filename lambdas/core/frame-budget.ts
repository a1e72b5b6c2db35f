/**
 * Frames per connection (`rateLimits.framesPerSecond`, burst `rateLimits.frameBurst`). API Gateway throttles
 * a stage, shared by every user, and has no per-connection limit: without this one client could spend the
 * stage's rate for all. Counted in memory by the container serving the frame, so the message path pays no
 * extra DynamoDB round trip; a connection spread over several containers gets at most that many budgets,
 * which still bounds it.
 *
 * GCRA (the generic cell rate algorithm, a token bucket kept as one number): `tat` is when the connection's
 * bucket is full again. In memory it costs nothing; the stored limits use fixed windows instead (rate-limits.ts).
 */

/**
 * `exceeded`: the first frame over budget, which the caller answers before closing the connection (no retry
 * time: the connection is gone, and a new one starts with a full budget). `closing`: a frame of a connection
 * already being closed for flooding.
 */
export type FrameSpend = 'allowed' | 'exceeded' | 'closing';

export interface FrameLimits {
  readonly framesPerSecond: number;
  readonly frameBurst: number;
}

export interface FrameBudget {
  /** Spends one frame of `connectionId` at `nowMs`. */
  spend(connectionId: string, limits: FrameLimits, nowMs: number): FrameSpend;
}

/** The `tat` of a connection being closed: never full again, so never allowed again. */
const CLOSING = Infinity;

/**
 * A budget remembering at most `capacity` connections; beyond it those whose bucket is full again are
 * forgotten, and if all are busy (far beyond what one container serves) counting starts afresh.
 */
export function frameBudget(capacity = 10_000): FrameBudget {
  const tats = new Map<string, number>();
  return {
    spend(connectionId, limits, nowMs) {
      const interval = 1000 / limits.framesPerSecond;
      const latest = nowMs + (limits.frameBurst - 1) * interval;
      const from = Math.max(tats.get(connectionId) ?? nowMs, nowMs);
      if (from === CLOSING) return 'closing';
      const allowed = from <= latest;
      tats.set(connectionId, allowed ? from + interval : CLOSING);
      if (tats.size > capacity) {
        for (const [id, tat] of tats) if (tat <= nowMs) tats.delete(id);
        if (tats.size > capacity) tats.clear();
      }
      return allowed ? 'allowed' : 'exceeded';
    },
  };
}
