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
  /** 3 a minute; T0 is a minute boundary, so a window runs from T0 to T0 + 60 s. */
  const take = (nowMs: number, bucket = key) => limiter.take(bucket, 3, nowMs);

  it('admits the limit in a window, then says how long until the window ends', async () => {
    for (let i = 0; i < 3; i++) expect(await take(T0)).toEqual(allowed);
    expect(await take(T0)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(await take(T0 + 5_000)).toEqual({ allowed: false, retryAfterSeconds: 55 });
    expect(await take(T0 + 59_001)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('starts the next window afresh, whatever the last one spent', async () => {
    for (let i = 0; i < 3; i++) await take(T0 + 50_000);
    for (let i = 0; i < 3; i++) expect(await take(T0 + 60_000)).toEqual(allowed);
    expect(await take(T0 + 60_000)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    for (let i = 0; i < 3; i++) expect(await take(T0 + 180_000)).toEqual(allowed);
    expect((await take(T0 + 180_000)).allowed).toBe(false);
  });

  it('does not spend on a refused take', async () => {
    for (let i = 0; i < 2; i++) await take(T0);
    expect(await limiter.take(key, 3, T0, undefined, 2)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    for (let i = 0; i < 5; i++) expect((await limiter.take(key, 3, T0 + 1_000, undefined, 3)).allowed).toBe(false);
    expect(await take(T0 + 2_000)).toEqual(allowed);
  });

  it('keeps windows apart by key', async () => {
    for (let i = 0; i < 3; i++) await take(T0);
    expect(await take(T0, `${key}-other`)).toEqual(allowed);
  });

  it('counts over the period it is given', async () => {
    expect(await limiter.take(key, 2, T0, HOUR_MS)).toEqual(allowed);
    expect(await limiter.take(key, 2, T0 + 600_000, HOUR_MS)).toEqual(allowed);
    expect(await limiter.take(key, 2, T0 + 1_800_000, HOUR_MS)).toEqual({ allowed: false, retryAfterSeconds: 1800 });
    expect(await limiter.take(key, 2, T0 + HOUR_MS, HOUR_MS)).toEqual(allowed);
  });

  it('takes several at once, refusing a take that would pass the limit without spending any', async () => {
    expect(await limiter.take(key, 3, T0, undefined, 2)).toEqual(allowed);
    expect(await limiter.take(key, 3, T0, undefined, 2)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(await take(T0)).toEqual(allowed);
    expect(await take(T0)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(await limiter.take(key, 3, T0 + 60_000, undefined, 3)).toEqual(allowed);
    expect((await take(T0 + 60_000)).allowed).toBe(false);
  });

  it('refuses a take of more than the limit, and spends none', async () => {
    const refused = await limiter.take(key, 3, T0, undefined, 4);
    expect(refused.allowed).toBe(false);
    for (let i = 0; i < 3; i++) expect(await take(T0)).toEqual(allowed);
  });

  it('gives back what was taken in the same window, never below zero and never into a window not there', async () => {
    expect(await limiter.take(key, 3, T0, undefined, 3)).toEqual(allowed);
    await limiter.giveBack(key, T0 + 1_000, undefined, 2);
    for (let i = 0; i < 2; i++) expect(await take(T0 + 2_000)).toEqual(allowed);
    expect((await take(T0 + 2_000)).allowed).toBe(false);
    // More than the window holds: nothing is given back.
    await limiter.giveBack(key, T0 + 3_000, undefined, 4);
    expect((await take(T0 + 3_000)).allowed).toBe(false);
    // A window with no takes (the next one) stays empty: it still admits exactly the limit.
    await limiter.giveBack(key, T0 + 60_000, undefined, 2);
    for (let i = 0; i < 3; i++) expect(await take(T0 + 60_000)).toEqual(allowed);
    expect((await take(T0 + 60_000)).allowed).toBe(false);
  });

  it('never hands one place to two concurrent takes', async () => {
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
