import type { EbbConfigInput } from '../../protocol';

/**
 * Every local client connects from 127.0.0.1 and test clocks mostly stand still, so suites that are not
 * about rate limits lift them; test/integration/rate-limits.test.ts keeps them low on purpose.
 */
export const UNTHROTTLED: NonNullable<EbbConfigInput['rateLimits']> = {
  sendPerMinute: 100_000,
  connectPerMinute: 100_000,
  bundlePerMinute: 100_000,
  registerPerMinute: 100_000,
  reportPerMinute: 100_000,
};
