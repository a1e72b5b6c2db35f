import type { Ports, RateDecision } from './ports';
import { Refusal } from './refusal';

/**
 * Token buckets (DESIGN §3 `rateLimits`): capacity is the per-minute limit and tokens refill at limit/60
 * per second, so a quiet client may burst up to the limit and a busy one is held to the rate.
 */

/** A stored bucket: tokens left as of `updatedAt` (epoch ms). */
export interface BucketState {
  readonly tokens: number;
  readonly updatedAt: number;
}

export type BucketStep =
  | { readonly allowed: true; readonly next: BucketState; /** Epoch seconds when the bucket is full again. */ readonly expiresAt: number }
  | { readonly allowed: false; readonly retryAfterSeconds: number };

const MINUTE_MS = 60_000;

/** Takes one token from `previous` (a new bucket is full) at `nowMs`; pure, shared by every RateLimiter. */
export function takeToken(previous: BucketState | undefined, limit: number, nowMs: number): BucketStep {
  const elapsed = previous ? Math.max(0, nowMs - previous.updatedAt) : 0;
  const tokens = previous ? Math.min(limit, previous.tokens + (elapsed * limit) / MINUTE_MS) : limit;
  if (tokens < 1) return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(((1 - tokens) * MINUTE_MS) / limit / 1000)) };
  const left = tokens - 1;
  // Once full again the bucket is as good as absent, so TTL may remove it then.
  const expiresAt = Math.ceil((nowMs + ((limit - left) * MINUTE_MS) / limit) / 1000);
  return { allowed: true, next: { tokens: left, updatedAt: nowMs }, expiresAt };
}

/** `bundleTarget` counts bundles handed out *for* a user (whoever asks), `bundle` those asked *by* a user. */
export type RateLimitedAction = 'send' | 'connect' | 'bundle' | 'bundleTarget' | 'register' | 'report';

const LIMIT_OF = {
  send: 'sendPerMinute',
  connect: 'connectPerMinute',
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
