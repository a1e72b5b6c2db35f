export interface BackoffOptions {
  /** First reconnect delay, before jitter. @default 250 */
  readonly baseDelayMs?: number;
  /** Longest reconnect delay. @default 30000 */
  readonly maxDelayMs?: number;
}

export const DEFAULT_BACKOFF = { baseDelayMs: 250, maxDelayMs: 30_000 } as const;

/**
 * Delay before reconnect attempt number `failures` (0 for the first): exponential, capped, with
 * "equal jitter" (half fixed, half random) so a fleet of clients dropped together does not
 * reconnect in lockstep, yet no client retries instantly. A server's Retry-After wins if longer.
 */
export function backoffDelay(failures: number, options: Required<BackoffOptions>, retryAfterMs = 0, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** Math.min(failures, 30));
  return Math.max(ceiling / 2 + random() * (ceiling / 2), retryAfterMs);
}
