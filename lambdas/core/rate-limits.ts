import type { Ports, RateDecision } from './ports';
import { Refusal } from './refusal';

/**
 * Rate limits (ARCH §3.2 `rateLimits`, §13.2) as fixed windows: at most `limit` takes in each period (a
 * minute, or an hour for the `…PerHour` keys) counted from the epoch. A window is one counter, so DynamoDB
 * applies a take as one conditional `ADD` with no read first and never a second write (adapters/dynamodb/
 * rate-limiter.ts); memory applies `takeWindow` directly. A token bucket (GCRA) needs `max(tat, now)`, which no
 * single UpdateItem can compute: a fast sender paid a failed update and a second one on every send. The
 * price of one request is the boundary: a client may take `limit` at the end of one window and `limit` at the
 * start of the next (up to twice the limit within one period), while the sustained rate stays at the limit.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

export interface RateWindow {
  /** Which window `nowMs` falls in: `floor(nowMs / periodMs)`; part of the counter's key. */
  readonly index: number;
  /** Epoch seconds at the window's end: when its counter stops counting, so TTL may remove it. */
  readonly expiresAt: number;
  /** Seconds from `nowMs` to the window's end (at least 1): what a refused take is told to wait. */
  readonly retryAfterSeconds: number;
}

export function rateWindow(nowMs: number, periodMs = MINUTE_MS): RateWindow {
  const index = Math.floor(nowMs / periodMs);
  const endMs = (index + 1) * periodMs;
  return { index, expiresAt: Math.ceil(endMs / 1000), retryAfterSeconds: Math.max(1, Math.ceil((endMs - nowMs) / 1000)) };
}

export type WindowStep =
  | { readonly allowed: true; /** The window's new count. */ readonly used: number; readonly expiresAt: number }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

/**
 * `count` takes at once from a window that has admitted `used` (none: 0) at `nowMs`: all or none, as the
 * DynamoDB condition `attribute_not_exists(n) OR n <= limit - count` decides. Pure.
 */
export function takeWindow(used: number | undefined, limit: number, nowMs: number, periodMs = MINUTE_MS, count = 1): WindowStep {
  const window = rateWindow(nowMs, periodMs);
  const before = used ?? 0;
  if (count > limit || before > limit - count) return { allowed: false, retryAfterSeconds: window.retryAfterSeconds };
  return { allowed: true, used: before + count, expiresAt: window.expiresAt };
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

/** Takes `count` (one by default) for `action` by `subject` (a user id or a source IP) at the ports' clock. */
export function takeRateToken(
  ports: Pick<Ports, 'rateLimiter' | 'config' | 'clock'>,
  action: RateLimitedAction,
  subject: string,
  count = 1,
): Promise<RateDecision> {
  const key = LIMIT_OF[action];
  return ports.rateLimiter.take(`${action}#${subject}`, ports.config.rateLimits[key], ports.clock.now(), periodOf(key), count);
}

/** Gives back `count` of `action` by `subject` taken at `nowMs`: for a take made beside one that was refused. */
export function giveBackRateTokens(
  ports: Pick<Ports, 'rateLimiter' | 'config'>,
  action: RateLimitedAction,
  subject: string,
  count: number,
  nowMs: number,
): Promise<void> {
  return ports.rateLimiter.giveBack(`${action}#${subject}`, nowMs, periodOf(LIMIT_OF[action]), count);
}

/**
 * Like `takeRateToken`, for routes.
 * @throws Refusal RATE_LIMITED with `retryAfterSeconds` when the window is spent.
 */
export async function requireRateToken(
  ports: Pick<Ports, 'rateLimiter' | 'config' | 'clock'>,
  action: RateLimitedAction,
  subject: string,
  count = 1,
): Promise<void> {
  requireAllowed(action, await takeRateToken(ports, action, subject, count));
}

/**
 * For routes that take in parallel with other requests and judge afterwards (ARCH §6.2).
 * @throws Refusal RATE_LIMITED with `retryAfterSeconds` when `decision` refused the take.
 */
export function requireAllowed(action: RateLimitedAction, decision: RateDecision): void {
  if (!decision.allowed)
    throw new Refusal('RATE_LIMITED', `too many ${action} requests: retry later`, { retryAfterSeconds: decision.retryAfterSeconds });
}
