import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { send } from '../../lambdas/core/delivery';
import { fanout } from '../../lambdas/core/fanout';
import type { Caller, Ports } from '../../lambdas/core/ports';
import { anyCommitment } from '../support/franking';
import { makeIdentity, messageId } from '../support/identity';
import { memoryWorld, type MemoryWorld } from '../support/memory-ports';

/**
 * How many sequential store round trips lie between a `send` (or `fanout`) and its first push (ARCH §6.2,
 * §6.11), with the shipped rate limits. Every call to a store port (accounts, queue, rate limits, connections,
 * franking keys) is held until the test releases all held calls at once: one release is one wave, one round
 * trip a real DynamoDB would cost. Calls a route makes together are held together; a call made only after
 * another's answer lands in a later wave.
 */

const STORES = ['accounts', 'queue', 'rateLimiter', 'connections', 'frankingKeys'] as const;

interface Waves {
  /** Waves released before the first push; Infinity when nothing was pushed. */
  beforePush: number;
  /** The calls of each wave, as `store.method`. */
  calls: string[][];
}

/** Runs `route` over `ports` with every store call gated into waves. */
async function countWaves(ports: Ports, route: (ports: Ports) => Promise<unknown>): Promise<Waves> {
  const held: { name: string; release: () => void }[] = [];
  const gate = <T extends object>(store: string, target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) => {
          const result = Promise.resolve((value as (...a: unknown[]) => unknown).apply(object, args));
          return new Promise((resolve, reject) => {
            held.push({ name: `${store}.${String(property)}`, release: () => void result.then(resolve, reject) });
          });
        };
      },
    });
  const waves: Waves = { beforePush: Infinity, calls: [] };
  const gated = { ...ports } as Record<string, unknown>;
  for (const store of STORES) gated[store] = gate(store, ports[store]);
  gated.notifier = {
    ...ports.notifier,
    push: (connectionId: string, data: string) => {
      waves.beforePush = Math.min(waves.beforePush, waves.calls.length);
      return ports.notifier.push(connectionId, data);
    },
  };
  let done = false;
  // Settled here, judged after the last wave: a refusal is the route's answer, not an unhandled rejection.
  const outcome = route(gated as unknown as Ports).then(
    () => ({ error: undefined }),
    (error: unknown) => ({ error: error ?? new Error('rejected') }),
  );
  void outcome.then(() => (done = true));
  for (let idle = 0; !done && idle < 100;) {
    await new Promise((r) => setImmediate(r));
    if (held.length === 0) {
      idle++;
      continue;
    }
    const wave = held.splice(0);
    waves.calls.push(wave.map((c) => c.name));
    for (const call of wave) call.release();
  }
  const { error } = await outcome;
  if (error !== undefined) throw error;
  return waves;
}

const ciphertext = () => toBase64Url(nacl.randomBytes(64));

function account(world: MemoryWorld, devices = [1]): Caller {
  const { uid, pk } = makeIdentity();
  const linked = devices
    .filter((d) => d !== 1)
    .map((device) => ({ device, signingKey: `sk${device}`, cert: 'cert', name: null, linkedAt: 0, ready: true }));
  world.accounts.items.set(uid, { userId: uid, signingKey: pk, identityKey: 'ik', identitySig: 'sig', devices, createdAt: 0, linked });
  return { userId: uid, device: 1, connectionId: `c-${uid.slice(0, 8)}`, signingKey: pk };
}

/** A live connection for each of `devices` of `user`, so the route pushes. */
async function online(world: MemoryWorld, user: Caller, devices: number[]): Promise<void> {
  for (const device of devices) {
    await world.connections.put({
      connectionId: `${user.connectionId}-${device}`,
      userId: user.userId,
      device,
      connectedAt: world.clock.t,
      expiresAt: world.clock.t / 1000 + 7200,
    });
  }
}

const sendFrame = (to: string, devices: number[]) => ({
  action: 'send' as const,
  rid: 'r',
  id: messageId(),
  to,
  messages: devices.map((device) => ({ device, ciphertext: ciphertext(), commitment: anyCommitment() })),
});

const fanoutFrame = (recipients: { user: string; devices: number[] }[]) => ({
  action: 'fanout' as const,
  rid: 'f',
  id: messageId(),
  ciphertext: ciphertext(),
  commitment: anyCommitment(),
  recipients,
});

describe('round trips before the push', () => {
  let world: MemoryWorld;
  let alice: Caller;
  beforeEach(() => {
    // The shipped configuration, rate limits on.
    world = memoryWorld();
    alice = account(world);
  });

  it('a send to a one-device recipient: three waves, the accounts, rate limit and place in the first', async () => {
    const bob = account(world);
    await online(world, bob, [1]);
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1])));
    expect(waves.beforePush).toBe(3);
    expect(waves.calls[0]!.sort()).toEqual(['accounts.getPair', 'frankingKeys.current', 'queue.reserve', 'rateLimiter.take']);
    expect(waves.calls[1]).toEqual(['queue.put']);
    expect(waves.calls[2]!.sort()).toEqual(['connections.ofUser', 'queue.claim']);
    expect(world.notifier.pushes).toHaveLength(1);
  });

  it('a send to a three-device recipient: still three waves, the second read of the accounts in the third', async () => {
    const bob = account(world, [1, 2, 3]);
    await online(world, bob, [1, 2, 3]);
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1, 2, 3])));
    expect(waves.beforePush).toBe(3);
    expect(waves.calls[2]).toEqual(expect.arrayContaining(['accounts.getMany', 'connections.ofUser', 'queue.claim']));
    expect(world.notifier.pushes).toHaveLength(3);
  });

  it('a fast sender: every send of a minute’s allowance takes three waves, none a second rate-limit write', async () => {
    const bob = account(world);
    await online(world, bob, [1]);
    for (let i = 0; i < world.ports.config.rateLimits.sendPerMinute; i++) {
      world.clock.t += 100;
      const waves = await countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1])));
      expect(waves.beforePush).toBe(3);
      expect(waves.calls.flat().filter((c) => c === 'rateLimiter.take')).toHaveLength(1);
    }
    // The next one in the same window is refused after its first wave and the return of its place.
    const refused = countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1])));
    await expect(refused).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('a fanout to three recipients, linked devices among them: three waves', async () => {
    const [bob, carol, dave] = [account(world, [1, 2]), account(world), account(world, [1, 2, 3])];
    await online(world, bob, [1, 2]);
    await online(world, carol, [1]);
    await online(world, dave, [1, 3]);
    const waves = await countWaves(world.ports, (ports) =>
      fanout(
        ports,
        alice,
        fanoutFrame([
          { user: bob.userId, devices: [1, 2] },
          { user: carol.userId, devices: [1] },
          { user: dave.userId, devices: [1, 2, 3] },
        ]),
      ),
    );
    expect(waves.beforePush).toBe(3);
    expect(waves.calls[0]).toEqual(expect.arrayContaining(['accounts.getMany', 'rateLimiter.take', 'queue.reserve']));
    expect(waves.calls[0]!.filter((c) => c === 'rateLimiter.take')).toHaveLength(2);
    expect(world.notifier.pushes).toHaveLength(5);
  });

  it('a send carrying acks (a receipt with the ack of what it confirms): still three waves, the removal beside the put and the release beside the claim', async () => {
    const bob = account(world);
    await online(world, bob, [1]);
    await send(world.ports, alice, sendFrame(bob.userId, [1]));
    const [toBob] = (await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t)).messages;
    world.notifier.pushes.length = 0;
    await online(world, alice, [1]);
    const acks = [{ id: toBob!.id, sentAt: toBob!.sentAt }];
    const waves = await countWaves(world.ports, (ports) => send(ports, bob, { ...sendFrame(alice.userId, [1]), acks }));
    expect(waves.beforePush).toBe(3);
    expect(waves.calls[1]!.sort()).toEqual(['queue.put', 'queue.remove']);
    expect(waves.calls[2]!.sort()).toEqual(['connections.ofUser', 'queue.claim', 'queue.release']);
    expect(world.notifier.pushes).toHaveLength(1);
    expect((await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t)).messages).toEqual([]);
  });

  it('a fanout carrying acks: still three waves', async () => {
    const [bob, carol] = [account(world), account(world)];
    await online(world, bob, [1]);
    await online(world, carol, [1]);
    await send(world.ports, bob, sendFrame(alice.userId, [1]));
    const [toAlice] = (await world.queue.page({ userId: alice.userId, device: 1 }, null, 10, world.clock.t)).messages;
    world.notifier.pushes.length = 0;
    const waves = await countWaves(world.ports, (ports) =>
      fanout(ports, alice, {
        ...fanoutFrame([
          { user: bob.userId, devices: [1] },
          { user: carol.userId, devices: [1] },
        ]),
        acks: [{ id: toAlice!.id, sentAt: toAlice!.sentAt }],
      }),
    );
    expect(waves.beforePush).toBe(3);
    expect(waves.calls[1]).toContain('queue.remove');
    expect(world.notifier.pushes).toHaveLength(2);
    expect((await world.queue.page({ userId: alice.userId, device: 1 }, null, 10, world.clock.t)).messages).toEqual([]);
  });

  it('counts a wave the route adds: a send that read the accounts before reserving would take four', async () => {
    const bob = account(world);
    await online(world, bob, [1]);
    const slow = async (ports: Ports) => {
      await ports.accounts.getPair(alice.userId, bob.userId);
      return send(ports, alice, sendFrame(bob.userId, [1]));
    };
    expect((await countWaves(world.ports, slow)).beforePush).toBe(4);
  });
});

describe('places the first round trip over-took', () => {
  // Two places a queue, one of them strangers'.
  const small = { maxQueueDepth: 2, strangerQueuePercent: 50 };
  /** Reservations granted and neither put nor given back, over every queue of the world. */
  const held = (world: MemoryWorld) =>
    [...(world.queue as unknown as { pending: Map<string, { contact: number; stranger: number }> }).pending.values()].reduce(
      (n, p) => n + p.contact + p.stranger,
      0,
    );

  it('a send refused by its rate limit gives its place back', async () => {
    const world = memoryWorld({ ...small, rateLimits: { sendPerMinute: 1 } });
    const [alice, bob, carol, dave] = [account(world), account(world), account(world), account(world)];
    await send(world.ports, alice, sendFrame(dave.userId, [1]));
    await expect(send(world.ports, alice, sendFrame(bob.userId, [1]))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // Bob's one strangers' place is still free.
    await expect(send(world.ports, carol, sendFrame(bob.userId, [1]))).resolves.toMatchObject({ duplicate: false });
    expect(held(world)).toBe(0);
  });

  it('a send to no such user or device holds nothing afterwards', async () => {
    const world = memoryWorld(small);
    const [alice, bob] = [account(world), account(world)];
    await expect(send(world.ports, alice, sendFrame(makeIdentity().uid, [1, 2]))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(send(world.ports, alice, sendFrame(bob.userId, [1, 5]))).resolves.toMatchObject({ stale: [5] });
    expect(held(world)).toBe(0);
  });

  it('a token that is not the recipient’s counts in the strangers’ share after all', async () => {
    const world = memoryWorld(small);
    const [alice, bob, carol] = [account(world), account(world), account(world)];
    await send(world.ports, carol, sendFrame(bob.userId, [1]));
    const bogus = { ...sendFrame(bob.userId, [1]), deliveryToken: toBase64Url(nacl.randomBytes(32)) };
    await expect(send(world.ports, alice, bogus)).rejects.toMatchObject({ code: 'RATE_LIMITED', message: expect.stringContaining('full') });
    expect(held(world)).toBe(0);
    const page = await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t);
    expect(page.messages).toHaveLength(1);
  });
});
