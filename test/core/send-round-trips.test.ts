import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { connectionOpened } from '../../lambdas/core/connect';
import { ack, fetch, send } from '../../lambdas/core/delivery';
import { fanout } from '../../lambdas/core/fanout';
import type { Caller, DeviceAddress, Ports } from '../../lambdas/core/ports';
import { anyCommitment } from '../support/franking';
import { makeIdentity, messageId } from '../support/identity';
import { memoryWorld, type MemoryWorld } from '../support/memory-ports';

/**
 * How many sequential store round trips lie between a `send` (or `fanout`) and its pushes and answer (ARCH
 * §6.2, §6.11), with the shipped rate limits. Every call to a store port (accounts, queue, rate limits, connections,
 * franking keys) is held until the test releases all held calls at once: one release is one wave, one round
 * trip a real DynamoDB would cost. Calls a route makes together are held together; a call made only after
 * another's answer lands in a later wave.
 */

const STORES = ['accounts', 'queue', 'rateLimiter', 'connections', 'frankingKeys'] as const;

interface Waves {
  /** Waves released before the first push; Infinity when nothing was pushed. */
  beforePush: number;
  /** Every push, with the waves released before it. */
  pushes: { connectionId: string; id: unknown; sentAt: unknown; wave: number }[];
  /** The calls of each wave, as `store.method`; as many waves as the answer waited for. */
  calls: string[][];
}

/**
 * Runs `route` over `ports` with every store call gated into waves. `between[n]` runs (on the ungated world)
 * after wave n's answers landed and before wave n + 1 is released: what another request does meanwhile.
 */
async function countWaves(
  ports: Ports,
  route: (ports: Ports) => Promise<unknown>,
  between: Record<number, () => Promise<void>> = {},
): Promise<Waves> {
  const held: { name: string; release: () => void }[] = [];
  const gate = <T extends object>(store: string, target: T): T =>
    new Proxy(target, {
      get(object, property, receiver) {
        const value = Reflect.get(object, property, receiver) as unknown;
        if (typeof value !== 'function') return value;
        // The call itself waits for its release too, so what another request does between waves lands before it.
        return (...args: unknown[]) =>
          new Promise((resolve, reject) => {
            const release = () =>
              void Promise.resolve()
                .then(() => (value as (...a: unknown[]) => unknown).apply(object, args))
                .then(resolve, reject);
            held.push({ name: `${store}.${String(property)}`, release });
          });
      },
    });
  const waves: Waves = { beforePush: Infinity, pushes: [], calls: [] };
  const gated = { ...ports } as Record<string, unknown>;
  for (const store of STORES) gated[store] = gate(store, ports[store]);
  gated.notifier = {
    ...ports.notifier,
    push: (connectionId: string, data: string) => {
      waves.beforePush = Math.min(waves.beforePush, waves.calls.length);
      const { id, sentAt } = JSON.parse(data) as { id?: unknown; sentAt?: unknown };
      waves.pushes.push({ connectionId, id, sentAt, wave: waves.calls.length });
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
    await between[waves.calls.length]?.();
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

  it('a send to a one-device recipient: two waves to the push, three to the answer, the connections in the first', async () => {
    const bob = account(world);
    await online(world, bob, [1]);
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1])));
    expect(waves.beforePush).toBe(2);
    expect(waves.calls).toHaveLength(3);
    expect(waves.calls[0]!.sort()).toEqual(['accounts.getPair', 'connections.ofUser', 'frankingKeys.current', 'queue.reserve', 'rateLimiter.take']);
    expect(waves.calls[1]).toEqual(['queue.put']);
    expect(waves.calls[2]!.sort()).toEqual(['connections.ofUser', 'queue.claim']);
    expect(world.notifier.pushes).toHaveLength(1);
  });

  it('a send to a three-device recipient: still two waves to the pushes, the second read of the accounts in the third', async () => {
    const bob = account(world, [1, 2, 3]);
    await online(world, bob, [1, 2, 3]);
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1, 2, 3])));
    expect(waves.beforePush).toBe(2);
    expect(waves.calls).toHaveLength(3);
    expect(waves.calls[0]!.filter((c) => c === 'connections.ofUser')).toHaveLength(1);
    expect(waves.calls[2]).toEqual(expect.arrayContaining(['accounts.getMany', 'connections.ofUser', 'queue.claim']));
    // Every device once, all after the put: RT3 found no connection RT1 had not.
    expect(waves.pushes.map((p) => [p.connectionId, p.wave]).sort()).toEqual([1, 2, 3].map((d) => [`${bob.connectionId}-${d}`, 2]));
    expect(world.notifier.pushes).toHaveLength(3);
  });

  it('a fast sender: every send of a minute’s allowance takes two waves to the push and three to the answer, none a second rate-limit write', async () => {
    const bob = account(world);
    await online(world, bob, [1]);
    for (let i = 0; i < world.ports.config.rateLimits.sendPerMinute; i++) {
      world.clock.t += 100;
      const waves = await countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1])));
      expect(waves.beforePush).toBe(2);
      expect(waves.calls).toHaveLength(3);
      expect(waves.calls.flat().filter((c) => c === 'rateLimiter.take')).toHaveLength(1);
    }
    // The next one in the same window is refused after its first wave and the return of its place.
    const refused = countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1])));
    await expect(refused).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });

  it('a fanout to three recipients, linked devices among them: two waves to the pushes, three to the answer', async () => {
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
    expect(waves.beforePush).toBe(2);
    expect(waves.calls).toHaveLength(3);
    expect(waves.calls[0]).toEqual(expect.arrayContaining(['accounts.getMany', 'rateLimiter.take', 'queue.reserve']));
    expect(waves.calls[0]!.filter((c) => c === 'rateLimiter.take')).toHaveLength(2);
    // One Query per recipient user in each of RT1 and RT3.
    expect(waves.calls[0]!.filter((c) => c === 'connections.ofUser')).toHaveLength(3);
    expect(waves.calls[2]!.filter((c) => c === 'connections.ofUser')).toHaveLength(3);
    expect(waves.pushes.every((p) => p.wave === 2)).toBe(true);
    expect(world.notifier.pushes).toHaveLength(5);
  });

  it('a send carrying acks (a receipt with the ack of what it confirms): still two waves to the push and three to the answer, the removal beside the put and the release beside the claim', async () => {
    const bob = account(world);
    await online(world, bob, [1]);
    await send(world.ports, alice, sendFrame(bob.userId, [1]));
    const [toBob] = (await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t)).messages;
    world.notifier.pushes.length = 0;
    await online(world, alice, [1]);
    const acks = [{ id: toBob!.id, sentAt: toBob!.sentAt }];
    const waves = await countWaves(world.ports, (ports) => send(ports, bob, { ...sendFrame(alice.userId, [1]), acks }));
    expect(waves.beforePush).toBe(2);
    expect(waves.calls).toHaveLength(3);
    expect(waves.calls[1]!.sort()).toEqual(['queue.put', 'queue.remove']);
    expect(waves.calls[2]!.sort()).toEqual(['connections.ofUser', 'queue.claim', 'queue.release']);
    expect(world.notifier.pushes).toHaveLength(1);
    expect((await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t)).messages).toEqual([]);
  });

  it('a fanout carrying acks: still two waves to the pushes, three to the answer', async () => {
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
    expect(waves.beforePush).toBe(2);
    expect(waves.calls).toHaveLength(3);
    expect(waves.calls[1]).toContain('queue.remove');
    expect(world.notifier.pushes).toHaveLength(2);
    expect((await world.queue.page({ userId: alice.userId, device: 1 }, null, 10, world.clock.t)).messages).toEqual([]);
  });

  it('counts a wave the route adds: a send that read the accounts before reserving would take three to the push', async () => {
    const bob = account(world);
    await online(world, bob, [1]);
    const slow = async (ports: Ports) => {
      await ports.accounts.getPair(alice.userId, bob.userId);
      return send(ports, alice, sendFrame(bob.userId, [1]));
    };
    expect((await countWaves(world.ports, slow)).beforePush).toBe(3);
  });
});

describe('two pushes: after the put to the connections RT1 read, after RT3 to those that appeared meanwhile', () => {
  let world: MemoryWorld;
  let alice: Caller;
  /** The devices wake-ups were asked for (ARCH §6.13), in order. */
  let woken: DeviceAddress[];
  beforeEach(() => {
    world = memoryWorld();
    alice = account(world);
    woken = [];
    jest.spyOn(world.ports.wakeupClaims, 'claimWakeup').mockImplementation(async (device) => {
      woken.push(device);
      return false;
    });
  });

  /** `user`'s `device` on its own connection `connectionId`, connected through the route that records it. */
  const device = (user: Caller, n: number, connectionId: string): Caller => ({ ...user, device: n, connectionId });

  it('a device that connects and drains between RT1’s read and the put gets the copy pushed after RT3', async () => {
    const bob = account(world);
    const frame = sendFrame(bob.userId, [1]);
    let drained: unknown[] | undefined;
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, frame), {
      // Its $connect writes the record, then its handshake drains the queue, before the put lands.
      1: async () => {
        await connectionOpened(world.ports, bob);
        drained = (await fetch(world.ports, bob, { action: 'fetch', rid: 'f' })).messages;
      },
    });
    expect(drained).toEqual([]);
    expect(waves.calls).toHaveLength(3);
    expect(waves.pushes).toEqual([{ connectionId: bob.connectionId, id: frame.id, sentAt: world.clock.t, wave: 3 }]);
    expect(woken).toEqual([]);
  });

  it('reads the connections in RT3 strongly consistent (a record written before the put is seen), in RT1 not', async () => {
    const bob = account(world);
    const reads = jest.spyOn(world.connections, 'ofUser');
    await countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1])));
    expect(reads.mock.calls.map(([user, , options]) => [user, options?.consistent === true])).toEqual([
      [bob.userId, false],
      [bob.userId, true],
    ]);
  });

  it('pushes each connection once: the one RT1 read after the put, a second tab opened in the window after RT3', async () => {
    const bob = account(world);
    await connectionOpened(world.ports, device(bob, 1, 'tab-1'));
    const frame = sendFrame(bob.userId, [1]);
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, frame), {
      1: () => connectionOpened(world.ports, device(bob, 1, 'tab-2')),
    });
    expect(waves.pushes.map(({ connectionId, wave }) => [connectionId, wave])).toEqual([
      ['tab-1', 2],
      ['tab-2', 3],
    ]);
    expect(woken).toEqual([]);
  });

  it('wakes only a device neither push reached, once; a device whose read connection is gone and that reconnected is pushed, not woken', async () => {
    const bob = account(world, [1, 2, 3]);
    await connectionOpened(world.ports, device(bob, 1, 'one'));
    await connectionOpened(world.ports, device(bob, 2, 'two-old'));
    world.notifier.gone.add('two-old');
    const frame = sendFrame(bob.userId, [1, 2, 3]);
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, frame), {
      1: () => connectionOpened(world.ports, device(bob, 2, 'two-new')),
    });
    await world.afterAnswer.settled();
    expect(waves.pushes.map(({ connectionId, wave }) => [connectionId, wave])).toEqual([
      ['one', 2],
      ['two-old', 2],
      ['two-new', 3],
    ]);
    expect(world.notifier.pushes.map((p) => p.connectionId)).toEqual(['one', 'two-new']);
    expect((await world.connections.ofUser(bob.userId, world.clock.t)).map((c) => c.connectionId).sort()).toEqual(['one', 'two-new']);
    expect(woken).toEqual([{ userId: bob.userId, device: 3 }]);
  });

  it('wakes a device whose only connection, read by both, is gone: once, and pushes it no second time', async () => {
    const bob = account(world);
    await connectionOpened(world.ports, bob);
    world.notifier.gone.add(bob.connectionId);
    // RT3's read races the first push's delete of the gone record: here the read comes first and still sees it.
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, sendFrame(bob.userId, [1])));
    await world.afterAnswer.settled();
    expect(waves.pushes.map((p) => p.connectionId)).toEqual([bob.connectionId]);
    expect(woken).toEqual([{ userId: bob.userId, device: 1 }]);
  });

  it('a retry: its own copy may be pushed before its claim says duplicate; the original follows, and acking both empties the queue', async () => {
    const bob = account(world);
    const frame = sendFrame(bob.userId, [1]);
    // The first attempt wrote its copy and was lost before its push (or its answer): bob was offline.
    const first = await send(world.ports, alice, frame);
    await connectionOpened(world.ports, bob);
    woken.length = 0;
    world.clock.t += 1500;
    const retried = world.clock.t;
    const received: { id: string; sentAt: number }[] = [];
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, frame), {
      // The SDK acks each copy it is pushed, a repeat of an id it has seen too: here the retry's own copy, acked
      // before the route drops it.
      2: async () => {
        received.push(...world.notifier.pushes.map((p) => p.frame as { id: string; sentAt: number }));
        await ack(world.ports, bob, { action: 'ack', rid: 'a', messages: received.map(({ id, sentAt }) => ({ id, sentAt })) });
      },
    });
    expect(waves.pushes.map(({ id, sentAt, wave }) => [id, sentAt, wave])).toEqual([
      [frame.id, retried, 2],
      [frame.id, first.sentAt, 3],
    ]);
    // The original is what is left, and what the answer names.
    const left = (await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t)).messages;
    expect(left.map((m) => [m.id, m.sentAt])).toEqual([[frame.id, first.sentAt]]);
    await ack(world.ports, bob, { action: 'ack', rid: 'a', messages: [{ id: frame.id, sentAt: first.sentAt }] });
    expect((await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t)).messages).toEqual([]);
    expect(woken).toEqual([]);
  });

  it('a retry in the same millisecond: one item, pushed once', async () => {
    const bob = account(world);
    const frame = sendFrame(bob.userId, [1]);
    await send(world.ports, alice, frame);
    await connectionOpened(world.ports, bob);
    const waves = await countWaves(world.ports, (ports) => send(ports, alice, frame));
    expect(waves.pushes.map((p) => p.wave)).toEqual([2]);
    expect((await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t)).messages).toHaveLength(1);
  });

  it('a fanout: a member connecting in the window is pushed after RT3, the others after the put, each once', async () => {
    const [bob, carol] = [account(world), account(world, [1, 2])];
    await connectionOpened(world.ports, bob);
    await connectionOpened(world.ports, device(carol, 1, 'carol-1'));
    const frame = fanoutFrame([
      { user: bob.userId, devices: [1] },
      { user: carol.userId, devices: [1, 2] },
    ]);
    const waves = await countWaves(world.ports, (ports) => fanout(ports, alice, frame), {
      1: () => connectionOpened(world.ports, device(carol, 2, 'carol-2')),
    });
    expect(waves.calls).toHaveLength(3);
    expect(waves.pushes.map(({ connectionId, wave }) => [connectionId, wave]).sort()).toEqual([
      [bob.connectionId, 2],
      ['carol-1', 2],
      ['carol-2', 3],
    ]);
    expect(woken).toEqual([]);
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
