import { DynamoRateLimiter } from '../../lambdas/adapters/dynamodb';
import { MemoryRateLimiter } from '../../lambdas/adapters/memory';
import type { RateLimiter } from '../../lambdas/core/ports';
import { HOUR_MS } from '../../lambdas/core/rate-limits';
import { T0, freshUserId, useDynalite } from './backends';

/** The RateLimiter contract (lambdas/core/ports.ts), run against the memory and the DynamoDB adapter. */
function rateLimiterContract(make: () => Promise<RateLimiter>): void {
  let limiter: RateLimiter;
  let key: string;
  beforeEach(async () => {
    limiter = await make();
    key = `send#${freshUserId()}`;
  });
  const allowed = { allowed: true };
  /** 3 a minute: one token comes back every 20 s. */
  const take = (nowMs: number, bucket = key) => limiter.take(bucket, 3, nowMs);

  it('lets a full bucket burst its limit, then says when the next token is there', async () => {
    for (let i = 0; i < 3; i++) expect(await take(T0)).toEqual(allowed);
    expect(await take(T0)).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(await take(T0 + 5_000)).toEqual({ allowed: false, retryAfterSeconds: 15 });
  });

  it('refills one token an interval, and a whole burst after a quiet period', async () => {
    for (let i = 0; i < 3; i++) await take(T0);
    expect(await take(T0 + 20_000)).toEqual(allowed);
    expect(await take(T0 + 20_000)).toEqual({ allowed: false, retryAfterSeconds: 20 });
    for (let i = 0; i < 3; i++) expect(await take(T0 + 80_000)).toEqual(allowed);
    expect((await take(T0 + 80_000)).allowed).toBe(false);
  });

  it('does not spend a token on a refused take', async () => {
    for (let i = 0; i < 3; i++) await take(T0);
    for (let i = 0; i < 5; i++) expect((await take(T0 + 19_000)).allowed).toBe(false);
    expect(await take(T0 + 20_000)).toEqual(allowed);
  });

  it('keeps buckets apart by key', async () => {
    for (let i = 0; i < 3; i++) await take(T0);
    expect(await take(T0, `${key}-other`)).toEqual(allowed);
  });

  it('refills over the period it is given', async () => {
    expect(await limiter.take(key, 2, T0, HOUR_MS)).toEqual(allowed);
    expect(await limiter.take(key, 2, T0, HOUR_MS)).toEqual(allowed);
    expect(await limiter.take(key, 2, T0, HOUR_MS)).toEqual({ allowed: false, retryAfterSeconds: 1800 });
    expect(await limiter.take(key, 2, T0 + HOUR_MS / 2, HOUR_MS)).toEqual(allowed);
  });

  it('takes several tokens at once, refusing a take that would pass the burst without spending any', async () => {
    expect(await limiter.take(key, 3, T0, undefined, 2)).toEqual(allowed);
    expect(await limiter.take(key, 3, T0, undefined, 2)).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(await take(T0)).toEqual(allowed);
    expect(await take(T0)).toEqual({ allowed: false, retryAfterSeconds: 20 });
    // After a quiet minute the whole burst is there again, in one take.
    expect(await limiter.take(key, 3, T0 + 60_000, undefined, 3)).toEqual(allowed);
    expect((await take(T0 + 60_000)).allowed).toBe(false);
  });

  it('charges a take of several tokens on a bucket in use from where it stands', async () => {
    expect(await take(T0)).toEqual(allowed);
    expect(await limiter.take(key, 3, T0, undefined, 2)).toEqual(allowed);
    expect(await limiter.take(key, 3, T0 + 20_000, undefined, 2)).toEqual({ allowed: false, retryAfterSeconds: 20 });
    expect(await limiter.take(key, 3, T0 + 40_000, undefined, 2)).toEqual(allowed);
  });

  it('refuses a take of more tokens than the limit holds, and spends none', async () => {
    const refused = await limiter.take(key, 3, T0, undefined, 4);
    expect(refused.allowed).toBe(false);
    for (let i = 0; i < 3; i++) expect(await take(T0)).toEqual(allowed);
  });

  it('never hands one token to two concurrent takes', async () => {
    const results = await Promise.all(Array.from({ length: 10 }, () => take(T0)));
    expect(results.filter((r) => r.allowed)).toHaveLength(3);
  });
}

describe('MemoryRateLimiter', () => rateLimiterContract(async () => new MemoryRateLimiter()));

describe('DynamoRateLimiter on dynalite', () => {
  const dynamo = useDynalite();
  rateLimiterContract(async () => {
    const { db, names } = await dynamo.fresh();
    return new DynamoRateLimiter(db, names.rateLimits);
  });
});
