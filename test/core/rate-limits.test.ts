import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { MemoryRateLimiter } from '../../lambdas/adapters/memory';
import { register } from '../../lambdas/core/accounts';
import { send } from '../../lambdas/core/delivery';
import type { Caller, RateLimiter } from '../../lambdas/core/ports';
import { prekeyBundle, publishPrekeys } from '../../lambdas/core/prekeys';
import { HOUR_MS, MINUTE_MS, rateWindow, takeWindow } from '../../lambdas/core/rate-limits';
import { authorize } from '../../lambdas/handlers/authorize';
import type { AuthorizerRequestEvent } from '../../lambdas/handlers/events';
import { Refusal } from '../../lambdas/core/refusal';
import { TEST_HOST, connectParams, makeIdentity, messageId, registerFrame, signedPrekey, type TestIdentity } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';
import { anyCommitment } from '../support/franking';

const sendFrame = (to: string) => ({
  action: 'send' as const,
  rid: 'r',
  id: messageId(),
  to,
  messages: [{ device: 1, ciphertext: toBase64Url(nacl.randomBytes(64)), commitment: anyCommitment() }],
});

async function registered(world: MemoryWorld, id: TestIdentity, sourceIp = '192.0.2.1'): Promise<Caller> {
  const caller = { ...callerOf(id), sourceIp };
  await register(world.ports, caller, registerFrame(id) as never);
  await publishPrekeys(world.ports, caller, { action: 'keys.publish', rid: 'p', signedPrekey: signedPrekey(id), oneTimePrekeys: [] } as never);
  return caller;
}

async function refusalOf(promise: Promise<unknown>): Promise<Refusal> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Refusal);
  return error as Refusal;
}

describe('fixed window', () => {
  // A minute boundary: windows count from the epoch.
  const T0 = Date.UTC(2027, 0, 1);

  it('admits `limit` takes in a window, then refuses until the window ends', () => {
    let used: number | undefined;
    for (let i = 0; i < 6; i++) {
      const step = takeWindow(used, 6, T0 + i * 1_000);
      expect(step.allowed).toBe(true);
      if (step.allowed) used = step.used;
    }
    expect(takeWindow(used, 6, T0 + 6_000)).toEqual({ allowed: false, retryAfterSeconds: 54 });
    expect(takeWindow(used, 6, T0 + 59_999)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('keys each window by its index and expires it at its end', () => {
    expect(rateWindow(T0 + 59_999).index).toBe(rateWindow(T0).index);
    expect(rateWindow(T0 + 60_000).index).toBe(rateWindow(T0).index + 1);
    expect(takeWindow(undefined, 6, T0 + 4_500)).toEqual({ allowed: true, used: 1, expiresAt: (T0 + 60_000) / 1000 });
    expect(rateWindow(T0 + 1_000, HOUR_MS)).toEqual({ index: T0 / HOUR_MS, expiresAt: (T0 + HOUR_MS) / 1000, retryAfterSeconds: 3599 });
  });

  it('takes several at once, all or none, and never more than the limit', () => {
    expect(takeWindow(4, 6, T0, MINUTE_MS, 2)).toMatchObject({ allowed: true, used: 6 });
    expect(takeWindow(5, 6, T0, MINUTE_MS, 2)).toEqual({ allowed: false, retryAfterSeconds: 60 });
    expect(takeWindow(undefined, 6, T0, MINUTE_MS, 7)).toMatchObject({ allowed: false });
  });

  it('starts each window afresh in memory: a burst across a boundary is the price, the rate over windows is the limit', async () => {
    const limiter = new MemoryRateLimiter();
    expect(await limiter.take('k', 1, T0 + 59_000)).toEqual({ allowed: true });
    expect(await limiter.take('k', 1, T0 + 59_500)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    expect(await limiter.take('k', 1, T0 + 60_000)).toEqual({ allowed: true });
    expect(await limiter.take('k', 1, T0 + 61_000)).toEqual({ allowed: false, retryAfterSeconds: 59 });
  });
});

describe('rate limits on routes', () => {
  it('refuses the send past sendPerMinute with RATE_LIMITED and a retry hint; other senders are unaffected', async () => {
    const world = memoryWorld({ rateLimits: { sendPerMinute: 3 } });
    const [alice, bob, carol] = [
      await registered(world, makeIdentity()),
      await registered(world, makeIdentity()),
      await registered(world, makeIdentity()),
    ];
    for (let i = 0; i < 3; i++) await send(world.ports, alice, sendFrame(bob.userId));
    const refusal = await refusalOf(send(world.ports, alice, sendFrame(bob.userId)));
    // Seconds to the minute's end: the world's clock stands at a minute boundary.
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
    await expect(send(world.ports, carol, sendFrame(bob.userId))).resolves.toMatchObject({ duplicate: false });

    world.clock.t += 60_000;
    await expect(send(world.ports, alice, sendFrame(bob.userId))).resolves.toMatchObject({ duplicate: false });
  });

  it('limits keys.bundle per caller', async () => {
    const world = memoryWorld({ rateLimits: { bundlePerMinute: 2 } });
    const [alice, bob, carol] = [
      await registered(world, makeIdentity()),
      await registered(world, makeIdentity()),
      await registered(world, makeIdentity()),
    ];
    const frame = { action: 'keys.bundle' as const, rid: 'b', user: bob.userId };
    await prekeyBundle(world.ports, alice, frame);
    await prekeyBundle(world.ports, alice, frame);
    expect(await refusalOf(prekeyBundle(world.ports, alice, frame))).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
    await expect(prekeyBundle(world.ports, carol, frame)).resolves.toBeDefined();
  });

  it('limits register per source address, not per identity', async () => {
    const world = memoryWorld({ rateLimits: { registerPerMinute: 2 } });
    await registered(world, makeIdentity(), '198.51.100.7');
    await registered(world, makeIdentity(), '198.51.100.7');
    const third = makeIdentity();
    const refusal = await refusalOf(register(world.ports, { ...callerOf(third), sourceIp: '198.51.100.7' }, registerFrame(third) as never));
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
    expect(world.accounts.items.has(third.uid)).toBe(false);
    await expect(registered(world, third, '198.51.100.8')).resolves.toBeDefined();
  });

  /** A `$connect` authorizer event from `sourceIp`, validly signed unless `forged`. */
  const connectEvent = (world: MemoryWorld, sourceIp: string, forged = false): AuthorizerRequestEvent => {
    const p = connectParams(makeIdentity(), { ts: world.clock.t, signWith: forged ? nacl.sign.keyPair().secretKey : undefined });
    return {
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:local:0:api/stage/$connect',
      headers: { Host: TEST_HOST },
      queryStringParameters: { ...p, dev: String(p.dev), ts: String(p.ts) },
      requestContext: { identity: { sourceIp } } as AuthorizerRequestEvent['requestContext'],
    };
  };

  it('refuses a connect past connectPerMinute from one address at the authorizer', async () => {
    const world = memoryWorld({ rateLimits: { connectPerMinute: 2 } });
    const event = (sourceIp: string) => connectEvent(world, sourceIp);
    await authorize(event('203.0.113.1'), world.ports);
    await authorize(event('203.0.113.1'), world.ports);
    await expect(authorize(event('203.0.113.1'), world.ports)).rejects.toThrow('Unauthorized');
    await expect(authorize(event('203.0.113.2'), world.ports)).resolves.toMatchObject({ principalId: expect.any(String) });
  });

  it('charges forged and malformed connects to their own budget, never to the connects of the address', async () => {
    const world = memoryWorld({ rateLimits: { connectPerMinute: 2, connectFailuresPerMinute: 5 } });
    const junk = { ...connectEvent(world, '203.0.113.3'), queryStringParameters: { uid: 'x' } };
    for (let i = 0; i < 25; i++)
      await expect(authorize(i % 2 ? junk : connectEvent(world, '203.0.113.3', true), world.ports)).rejects.toThrow('Unauthorized');
    await expect(authorize(connectEvent(world, '203.0.113.3'), world.ports)).resolves.toMatchObject({ principalId: expect.any(String) });
    await expect(authorize(connectEvent(world, '203.0.113.3'), world.ports)).resolves.toMatchObject({ principalId: expect.any(String) });
    await expect(authorize(connectEvent(world, '203.0.113.3'), world.ports)).rejects.toThrow('Unauthorized');
  });

  it('stops writing failures once an address spent its failure budget, and still admits a valid signature', async () => {
    const world = memoryWorld({ rateLimits: { connectFailuresPerMinute: 3 } });
    const takes: string[] = [];
    const take = world.rateLimits.take.bind(world.rateLimits);
    const rateLimiter: RateLimiter = {
      take: (key, limit, now) => (takes.push(key.split('#')[0]!), take(key, limit, now)),
      giveBack: async () => undefined,
    };
    const ports = { ...world.ports, rateLimiter };
    for (let i = 0; i < 20; i++) await expect(authorize(connectEvent(world, '203.0.113.4', true), ports)).rejects.toThrow('Unauthorized');
    // Three takes admitted, the fourth refused; the container then knows the budget is spent.
    expect(takes).toEqual(['connectFailure', 'connectFailure', 'connectFailure', 'connectFailure']);
    await expect(authorize(connectEvent(world, '203.0.113.4'), ports)).resolves.toMatchObject({ principalId: expect.any(String) });
    expect(takes.slice(4)).toEqual(['connect']);
    // Once the window is over, failures are counted again.
    world.clock.t += 60_000;
    await expect(authorize(connectEvent(world, '203.0.113.4', true), ports)).rejects.toThrow('Unauthorized');
    expect(takes.slice(5)).toEqual(['connectFailure']);
  });
});
