import nacl from 'tweetnacl';
import { Limits, toBase64Url } from '../../protocol';
import { FANOUT_CONCURRENCY, fanout } from '../../lambdas/core/fanout';
import type { Caller } from '../../lambdas/core/ports';
import { anyCommitment } from '../support/franking';
import { makeIdentity, messageId } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';

/** `fanout` (ARCH §6.11) over the memory ports: how much it does at once. The wire behaviour is in test/integration/fanout.test.ts. */

function account(world: MemoryWorld, devices = [1]): string {
  const { uid } = makeIdentity();
  world.accounts.items.set(uid, { userId: uid, signingKey: 'sk', identityKey: 'ik', identitySig: 'sig', devices, createdAt: 0 });
  return uid;
}

/** Wraps `method` of `target` so each call takes a tick, and records the most calls in flight at once. */
function inFlight<T extends object>(target: T, method: keyof T & string): { max: number; calls: number } {
  const seen = { max: 0, calls: 0 };
  let running = 0;
  const original = (target[method] as (...args: unknown[]) => Promise<unknown>).bind(target);
  (target as Record<string, unknown>)[method] = async (...args: unknown[]) => {
    running++;
    seen.calls++;
    seen.max = Math.max(seen.max, running);
    try {
      await new Promise((r) => setTimeout(r, 1));
      return await original(...args);
    } finally {
      running--;
    }
  };
  return seen;
}

describe('fanout', () => {
  let world: MemoryWorld;
  let sender: Caller;
  beforeEach(() => {
    world = memoryWorld();
    const id = makeIdentity();
    world.accounts.items.set(id.uid, { userId: id.uid, signingKey: id.pk, identityKey: 'ik', identitySig: 'sig', devices: [1], createdAt: 0 });
    sender = callerOf(id);
  });

  it(`keeps at most ${FANOUT_CONCURRENCY} queue writes and ${FANOUT_CONCURRENCY} recipients' pushes in flight, however many copies`, async () => {
    // 64 recipients of 4 devices: the most one frame may ask for.
    const recipients = Array.from({ length: Limits.maxFanoutDevicesPerFrame / 4 }, () => ({
      user: account(world, [1, 2, 3, 4]),
      devices: [1, 2, 3, 4],
    }));
    for (const { user } of recipients) {
      for (const device of [1, 2, 3, 4])
        await world.connections.put({ userId: user, device, connectionId: `${user}-${device}`, connectedAt: 0, expiresAt: 2 ** 31 });
    }
    const puts = inFlight(world.queue, 'put');
    const lookups = inFlight(world.connections, 'ofUser');
    const frame = {
      action: 'fanout' as const,
      rid: 'r',
      id: messageId(),
      ciphertext: toBase64Url(nacl.randomBytes(64)),
      commitment: anyCommitment(),
      recipients,
    };
    const answer = await fanout(world.ports, sender, frame);

    expect(answer).toMatchObject({ duplicate: false, missing: [], stale: [], full: [], unknown: [] });
    expect(puts.calls).toBe(Limits.maxFanoutDevicesPerFrame);
    expect(puts.max).toBe(FANOUT_CONCURRENCY);
    // One Query per recipient beside the checks (for the push after the puts) and one after the puts.
    expect(lookups.calls).toBe(2 * recipients.length);
    expect(lookups.max).toBe(FANOUT_CONCURRENCY);
    expect(world.notifier.pushes).toHaveLength(Limits.maxFanoutDevicesPerFrame);
  });
});

describe('a fanout refused by its send window', () => {
  it('gives back the sendCopies it took beside it: a refused frame costs no copies', async () => {
    // 256 copies a minute, the least allowed: one frame to 200 devices, and the next must still fit.
    const world = memoryWorld({ rateLimits: { sendPerMinute: 1, sendCopiesPerMinute: Limits.maxFanoutDevicesPerFrame } });
    const sender = callerOf(makeIdentity());
    world.accounts.items.set(sender.userId, {
      userId: sender.userId,
      signingKey: 'sk',
      identityKey: 'ik',
      identitySig: 'sig',
      devices: [1],
      createdAt: 0,
    });
    const recipients = (n: number) => Array.from({ length: n }, () => ({ user: account(world), devices: [1] }));
    const frame = (n: number) => ({
      action: 'fanout' as const,
      rid: 'r',
      id: messageId(),
      ciphertext: toBase64Url(nacl.randomBytes(64)),
      commitment: anyCommitment(),
      recipients: recipients(n),
    });
    await expect(fanout(world.ports, sender, frame(2))).resolves.toMatchObject({ unknown: [], full: [] });
    // The send window is spent: refused, and the 200 copies it took together are given back.
    await expect(fanout(world.ports, sender, frame(200))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    const copies = [...world.rateLimits.items].filter(([key]) => key.startsWith(`sendCopies#${sender.userId}#`));
    expect(copies.map(([, item]) => item.n)).toEqual([2]);
    // The next minute's window holds the whole allowance again.
    world.clock.t += 60_000;
    await expect(fanout(world.ports, sender, frame(Limits.maxFanoutDevicesPerFrame))).resolves.toMatchObject({ full: [] });
  });
});
