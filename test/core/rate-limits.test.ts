import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { MemoryRateLimiter } from '../../lambdas/adapters/memory';
import { register } from '../../lambdas/core/accounts';
import { send } from '../../lambdas/core/delivery';
import type { Caller, RateLimiter } from '../../lambdas/core/ports';
import { prekeyBundle, publishPrekeys } from '../../lambdas/core/prekeys';
import { takeCell } from '../../lambdas/core/rate-limits';
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

describe('token bucket', () => {
  const T0 = Date.UTC(2027, 0, 1);

  it('starts full: `limit` takes in a burst, then none', () => {
    let tat: number | undefined;
    for (let i = 0; i < 6; i++) {
      const step = takeCell(tat, 6, T0);
      expect(step.allowed).toBe(true);
      if (step.allowed) tat = step.tat;
    }
    expect(takeCell(tat, 6, T0)).toEqual({ allowed: false, retryAfterSeconds: 10 });
  });

  it('refills limit/60 tokens a second and says how long until the next one', () => {
    // 6 a minute: one token every 10 s. An empty bucket at T0 is full again a minute later.
    const empty = T0 + 60_000;
    expect(takeCell(empty, 6, T0 + 4_000)).toEqual({ allowed: false, retryAfterSeconds: 6 });
    expect(takeCell(empty, 6, T0 + 9_999)).toEqual({ allowed: false, retryAfterSeconds: 1 });
    // Taken at once: the bucket is empty again (full only a minute from now).
    expect(takeCell(empty, 6, T0 + 10_000)).toMatchObject({ allowed: true, tat: T0 + 10_000 + 60_000 });
  });

  it('never holds more than the limit, and expires once full again', () => {
    // Two tokens left at T0 (full at T0 + 40 s); an hour later it holds 6, not more: one take leaves 5.
    const step = takeCell(T0 + 40_000, 6, T0 + 3_600_000);
    // One token short of full: 10 s to refill it.
    expect(step).toEqual({ allowed: true, tat: T0 + 3_600_000 + 10_000, expiresAt: (T0 + 3_600_000 + 10_000) / 1000 });
  });

  it('treats an expired bucket as absent in memory, as DynamoDB TTL would', async () => {
    const limiter = new MemoryRateLimiter();
    expect(await limiter.take('k', 1, T0)).toEqual({ allowed: true });
    expect(await limiter.take('k', 1, T0 + 1_000)).toEqual({ allowed: false, retryAfterSeconds: 59 });
    expect(await limiter.take('k', 1, T0 + 60_000)).toEqual({ allowed: true });
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
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 20 });
    await expect(send(world.ports, carol, sendFrame(bob.userId))).resolves.toMatchObject({ duplicate: false });

    world.clock.t += 20_000;
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
    expect(await refusalOf(prekeyBundle(world.ports, alice, frame))).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 30 });
    await expect(prekeyBundle(world.ports, carol, frame)).resolves.toBeDefined();
  });

  it('limits register per source address, not per identity', async () => {
    const world = memoryWorld({ rateLimits: { registerPerMinute: 2 } });
    await registered(world, makeIdentity(), '198.51.100.7');
    await registered(world, makeIdentity(), '198.51.100.7');
    const third = makeIdentity();
    const refusal = await refusalOf(register(world.ports, { ...callerOf(third), sourceIp: '198.51.100.7' }, registerFrame(third) as never));
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 30 });
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
    const rateLimiter: RateLimiter = { take: (key, limit, now) => (takes.push(key.split('#')[0]!), take(key, limit, now)) };
    const ports = { ...world.ports, rateLimiter };
    for (let i = 0; i < 20; i++) await expect(authorize(connectEvent(world, '203.0.113.4', true), ports)).rejects.toThrow('Unauthorized');
    // Three takes admitted, the fourth refused; the container then knows the budget is spent.
    expect(takes).toEqual(['connectFailure', 'connectFailure', 'connectFailure', 'connectFailure']);
    await expect(authorize(connectEvent(world, '203.0.113.4'), ports)).resolves.toMatchObject({ principalId: expect.any(String) });
    expect(takes.slice(4)).toEqual(['connect']);
    // Once the bucket refills, failures are counted again.
    world.clock.t += 60_000;
    await expect(authorize(connectEvent(world, '203.0.113.4', true), ports)).rejects.toThrow('Unauthorized');
    expect(takes.slice(5)).toEqual(['connectFailure']);
  });
});
