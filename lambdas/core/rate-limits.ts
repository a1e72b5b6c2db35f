import type { Ports, RateDecision } from './ports';
import { Refusal } from './refusal';

/**
 * Rate limits (ARCH §3.2 `rateLimits`) as GCRA, the generic cell rate algorithm: the same rule as a bucket of
 * `limit` tokens refilled at `limit` a period (a minute, or an hour for the `…PerHour` keys: a quiet client
 * may burst up to the limit, a busy one is held to the rate), kept as one number, `tat`: when the bucket is
 * full again. One number lets DynamoDB apply a take as a conditional update with no read first
 * (adapters/dynamodb.ts); memory applies `takeCell` directly.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

export interface CellWindow {
  /** Milliseconds one token takes to come back. */
  readonly interval: number;
  /** The latest `tat` a take may start from: a full bucket admits `limit` takes at once. */
  readonly latest: number;
  /** Epoch seconds by which any bucket touched now is full again, so TTL may remove it. */
  readonly expiresAt: number;
}

export function cellWindow(limit: number, nowMs: number, periodMs = MINUTE_MS): CellWindow {
  const interval = periodMs / limit;
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

/**
 * `count` takes at once from a bucket last left at `tat` (none: full) at `nowMs`: all or none. GCRA for a
 * weight: the last of the tokens must still fit the burst, so the take starts no later than `latest` less
 * `count - 1` intervals. Pure.
 */
export function takeCell(tat: number | undefined, limit: number, nowMs: number, periodMs = MINUTE_MS, count = 1): CellStep {
  const { interval, latest } = cellWindow(limit, nowMs, periodMs);
  const from = Math.max(tat ?? nowMs, nowMs);
  const last = latestStart(latest, interval, count);
  if (from > last) return { allowed: false, retryAfterSeconds: retryAfterSeconds(from, last) };
  const next = from + count * interval;
  return { allowed: true, tat: next, expiresAt: Math.ceil(next / 1000) };
}

/** The latest `tat` a take of `count` tokens may start from. */
export function latestStart(latest: number, interval: number, count: number): number {
  return latest - (count - 1) * interval;
}

/**
 * `bundleTarget` counts bundles handed out *for* a user (whoever asks), `bundle` those asked *by* a user,
 * `bundlePair` those one user asked of one other (its subject is `requester#device>target`); `connect` counts
 * verified connects per address, `connectFailure` the failed ones.
 */
export type RateLimitedAction =
  | 'send'
  | 'sendCopies'
  | 'connect'
  | 'connectFailure'
  | 'bundle'
  | 'bundleTarget'
  | 'bundlePair'
  | 'register'
  | 'report'
  | 'usernameSet'
  | 'usernameLookup'
  | 'keysPublish'
  | 'deviceAdd'
  | 'pushRegister'
  | 'attachmentUpload'
  | 'attachmentDownload';

type RateLimitKey = keyof Ports['config']['rateLimits'];

const LIMIT_OF = {
  send: 'sendPerMinute',
  sendCopies: 'sendCopiesPerMinute',
  connect: 'connectPerMinute',
  connectFailure: 'connectFailuresPerMinute',
  bundle: 'bundlePerMinute',
  bundleTarget: 'bundlePerMinute',
  bundlePair: 'bundlePerPairPerHour',
  register: 'registerPerMinute',
  report: 'reportPerMinute',
  usernameSet: 'usernameSetPerMinute',
  usernameLookup: 'usernameLookupPerMinute',
  keysPublish: 'keysPublishPerMinute',
  // Linking is rare; it shares the limit of registering, which it resembles, in its own bucket.
  deviceAdd: 'registerPerMinute',
  // Subscribing a device is as rare: `push.register` and `push.unregister` share one bucket per user.
  pushRegister: 'registerPerMinute',
  attachmentUpload: 'attachmentUploadPerMinute',
  attachmentDownload: 'attachmentDownloadPerMinute',
} as const satisfies Record<RateLimitedAction, RateLimitKey>;

/** The period a limit key counts over, from its name. */
function periodOf(key: RateLimitKey): number {
  return key.endsWith('PerHour') ? HOUR_MS : MINUTE_MS;
}

/** Takes `count` tokens (one by default) for `action` by `subject` (a user id or a source IP) at the ports' clock. */
export function takeRateToken(
  ports: Pick<Ports, 'rateLimiter' | 'config' | 'clock'>,
  action: RateLimitedAction,
  subject: string,
  count = 1,
): Promise<RateDecision> {
  const key = LIMIT_OF[action];
  return ports.rateLimiter.take(`${action}#${subject}`, ports.config.rateLimits[key], ports.clock.now(), periodOf(key), count);
}

/**
 * Like `takeRateToken`, for routes.
 * @throws Refusal RATE_LIMITED with `retryAfterSeconds` when the bucket is empty.
 */
export async function requireRateToken(
  ports: Pick<Ports, 'rateLimiter' | 'config' | 'clock'>,
  action: RateLimitedAction,
  subject: string,
  count = 1,
): Promise<void> {
  const decision = await takeRateToken(ports, action, subject, count);
  if (!decision.allowed)
    throw new Refusal('RATE_LIMITED', `too many ${action} requests: retry later`, { retryAfterSeconds: decision.retryAfterSeconds });
}
