import { register } from '../../lambdas/core/accounts';
import type { Caller } from '../../lambdas/core/ports';
import { prekeyBundle, publishPrekeys } from '../../lambdas/core/prekeys';
import { Refusal } from '../../lambdas/core/refusal';
import { connectionOpened } from '../../lambdas/core/connect';
import { everyInterleaving } from '../support/interleavings';
import { makeIdentity, oneTimePrekeys, registerFrame, signedPrekey, type TestIdentity } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';

const T0 = Date.UTC(2027, 0, 1);

async function registered(world: MemoryWorld, id: TestIdentity = makeIdentity()): Promise<Caller> {
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  return caller;
}

const publish = (world: MemoryWorld, caller: Caller, count: number, firstId = 1) =>
  publishPrekeys(world.ports, caller, { action: 'keys.publish', rid: 'r', oneTimePrekeys: oneTimePrekeys(count, firstId) });
const bundle = (world: MemoryWorld, caller: Caller, user: string) => prekeyBundle(world.ports, caller, { action: 'keys.bundle', rid: 'r', user });
const left = (world: MemoryWorld, caller: Caller) => world.prekeys.countOneTime({ userId: caller.userId, device: 1 });

async function expectRefusal(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toBeInstanceOf(Refusal);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('keys.publish', () => {
  it('is rate limited per user: past keysPublishPerMinute RATE_LIMITED with retryAfterSeconds, storing nothing', async () => {
    const world = memoryWorld({ rateLimits: { keysPublishPerMinute: 2 } }, T0);
    const alice = await registered(world);
    await publish(world, alice, 10, 1);
    await publish(world, alice, 10, 11);
    const refused = publish(world, alice, 10, 21);
    await expectRefusal(refused, 'RATE_LIMITED');
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 60 });
    expect(await left(world, alice)).toBe(20);
  });

  it('stores nothing of a frame past the cap, its signed prekey included', async () => {
    const world = memoryWorld({ maxOneTimePrekeysPerDevice: 150 }, T0);
    const id = makeIdentity();
    const alice = await registered(world, id);
    await publish(world, alice, 100);
    const over = publishPrekeys(world.ports, alice, {
      action: 'keys.publish',
      rid: 'r',
      signedPrekey: signedPrekey(id, 7),
      oneTimePrekeys: oneTimePrekeys(51, 101),
    });
    await expectRefusal(over, 'CONFLICT');
    expect(await left(world, alice)).toBe(100);
    expect(world.prekeys.signed.size).toBe(0);
    expect(await publish(world, alice, 50, 101)).toEqual({ oneTimePrekeys: 150, signedPrekeyId: null });
  });

  it('never stores more than the cap, however two publishes near it interleave', async () => {
    // Made once: key generation would cost more than the runs themselves.
    const id = makeIdentity();
    const registration = registerFrame(id);
    const [held, first, second] = [oneTimePrekeys(100), oneTimePrekeys(60, 1000), oneTimePrekeys(60, 2000)];
    const runs = await everyInterleaving(async (interleaving) => {
      const world = memoryWorld({ maxOneTimePrekeysPerDevice: 200, rateLimits: { keysPublishPerMinute: 1000 } }, T0);
      const alice = callerOf(id);
      await register(world.ports, alice, registration as never);
      await world.prekeys.putOneTimePrekeys({ userId: alice.userId, device: 1 }, held);
      const gated = (op: number) => ({ ...world.ports, prekeys: interleaving.gate(world.prekeys, op) });
      const results = await interleaving.run(
        [first, second].map((keys, op) => () => publishPrekeys(gated(op), alice, { action: 'keys.publish', rid: 'r', oneTimePrekeys: keys })),
      );
      const stored = await left(world, alice);
      expect(stored).toBeLessThanOrEqual(200);
      expect(stored).toBe(100 + 60 * results.filter((r) => r.status === 'fulfilled').length);
    });
    expect(runs).toBeGreaterThan(10);
  });
});

describe('keys.bundle', () => {
  it('refuses one requester past bundlePerPairPerHour of one target, not others, and not one’s own bundle', async () => {
    const world = memoryWorld({ rateLimits: { bundlePerPairPerHour: 2 } }, T0);
    const [victim, stranger, friend] = [await registered(world), await registered(world), await registered(world)];
    await publish(world, victim, 10);
    await bundle(world, stranger, victim.userId);
    await bundle(world, stranger, victim.userId);
    const refused = bundle(world, stranger, victim.userId);
    await expectRefusal(refused, 'RATE_LIMITED');
    // The hour's window ends an hour after T0.
    await expect(refused).rejects.toMatchObject({ retryAfterSeconds: 3600 });
    expect((await bundle(world, friend, victim.userId)).devices[0]?.oneTimePrekey).not.toBeNull();
    for (let i = 0; i < 3; i++) await bundle(world, victim, victim.userId);
    expect(await left(world, victim)).toBe(4);
  });

  it('pushes keys.low to the low device’s live connections only, and nothing while keys remain', async () => {
    const world = memoryWorld({ prekeyLowWater: 3 }, T0);
    const [owner, stranger] = [await registered(world), await registered(world)];
    await connectionOpened(world.ports, owner);
    await connectionOpened(world.ports, stranger);
    await publish(world, owner, 4);
    await bundle(world, stranger, owner.userId); // 3 left: not below 3
    expect(world.notifier.pushes).toEqual([]);
    await bundle(world, stranger, owner.userId); // 2 left
    expect(world.notifier.pushes).toEqual([{ connectionId: owner.connectionId, frame: { type: 'keys.low', device: 1, remaining: 2 } }]);
  });
});
