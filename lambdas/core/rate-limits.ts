import type { Ports, RateDecision } from './ports';
import { Refusal } from './refusal';

/**
 * Rate limits (DESIGN §3 `rateLimits`) as GCRA, the generic cell rate algorithm: the same rule as a bucket of
 * `limit` tokens refilled at `limit` a minute (a quiet client may burst up to the limit, a busy one is held to
 * the rate), kept as one number, `tat`: when the bucket is full again. One number lets DynamoDB apply a take
 * as a conditional update with no read first (adapters/dynamodb.ts); memory applies `takeCell` directly.
 */

const MINUTE_MS = 60_000;

export interface CellWindow {
  /** Milliseconds one token takes to come back. */
  readonly interval: number;
  /** The latest `tat` a take may start from: a full bucket admits `limit` takes at once. */
  readonly latest: number;
  /** Epoch seconds by which any bucket touched now is full again, so TTL may remove it. */
  readonly expiresAt: number;
}

export function cellWindow(limit: number, nowMs: number): CellWindow {
  const interval = MINUTE_MS / limit;
  const latest = nowMs + (limit - 1) * interval;
  return { interval, latest, expiresAt: Math.ceil((latest + interval) / 1000) };
}

/** Seconds until a bucket whose `tat` is past `latest` admits a take again (at least 1). */
export function retryAfterSeconds(tat: number, latest: number): number {
  return Math.max(1, Math.ceil((tat - latest) / 1000));
}

export type CellStep =
  | { readonly allowed: true; /** The bucket's new `tat`. */ readonly tat: number; readonly expiresAt: number }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/** One take from a bucket last left at `tat` (none: full) at `nowMs`. Pure. */
export function takeCell(tat: number | undefined, limit: number, nowMs: number): CellStep {
  const { interval, latest } = cellWindow(limit, nowMs);
  const from = Math.max(tat ?? nowMs, nowMs);
  if (from > latest) return { allowed: false, retryAfterSeconds: retryAfterSeconds(from, latest) };
  const next = from + interval;
  return { allowed: true, tat: next, expiresAt: Math.ceil(next / 1000) };
}

/**
 * `bundleTarget` counts bundles handed out *for* a user (whoever asks), `bundle` those asked *by* a user;
 * `connect` counts verified connects per address, `connectFailure` the failed ones.
 */
export type RateLimitedAction = 'send' | 'connect' | 'connectFailure' | 'bundle' | 'bundleTarget' | 'register' | 'report';

const LIMIT_OF = {
  send: 'sendPerMinute',
  connect: 'connectPerMinute',
  connectFailure: 'connectFailuresPerMinute',
  bundle: 'bundlePerMinute',
  bundleTarget: 'bundlePerMinute',
  register: 'registerPerMinute',
  report: 'reportPerMinute',
} as const satisfies Record<RateLimitedAction, keyof Ports['config']['rateLimits']>;

/** Takes a token for `action` by `subject` (a user id or a source IP) at the ports' clock. */
export function takeRateToken(
  ports: Pick<Ports, 'rateLimiter' | 'config' | 'clock'>,
  action: RateLimitedAction,
  subject: string,
): Promise<RateDecision> {
  return ports.rateLimiter.take(`${action}#${subject}`, ports.config.rateLimits[LIMIT_OF[action]], ports.clock.now());
}

/**
 * Like `takeRateToken`, for routes.
 * @throws Refusal RATE_LIMITED with `retryAfterSeconds` when the bucket is empty.
 */
export async function requireRateToken(
  ports: Pick<Ports, 'rateLimiter' | 'config' | 'clock'>,
  action: RateLimitedAction,
  subject: string,
): Promise<void> {
  const decision = await takeRateToken(ports, action, subject);
  if (!decision.allowed) throw new Refusal('RATE_LIMITED', `too many ${action} requests: retry later`, decision.retryAfterSeconds);
}
