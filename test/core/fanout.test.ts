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
    expect(lookups.calls).toBe(recipients.length);
    expect(lookups.max).toBe(FANOUT_CONCURRENCY);
    expect(world.notifier.pushes).toHaveLength(Limits.maxFanoutDevicesPerFrame);
  });
});
