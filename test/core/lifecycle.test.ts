import type { EbbConfigInput } from '../../protocol';
import { MemoryAttachmentObjects, MemorySweeper } from '../../lambdas/adapters/memory';
import { Tables } from '../../lambdas/adapters/table-definitions';
import { runLifecycle } from '../../lambdas/core/lifecycle';
import type { LifecyclePorts, StoreName, StoreSweeper } from '../../lambdas/core/ports';
import { memoryWorld, type MemoryWorld } from '../support/memory-ports';
import { placeholderFrank } from '../support/franking';

const DAY = 86_400_000;
const T0 = Date.UTC(2027, 0, 1);
const SUNSET = {
  signupsCloseAt: '2027-01-02T00:00:00Z',
  readOnlyAt: '2027-02-01T00:00:00Z',
  shutdownAt: '2027-03-01T00:00:00Z',
  purgeAt: '2027-03-08T00:00:00Z',
  message: 'ebb is closing',
  noticeUrl: 'https://example.com/closing',
};
const SHUTDOWN = Date.parse(SUNSET.shutdownAt);
const PURGE = Date.parse(SUNSET.purgeAt);

interface World extends MemoryWorld {
  lifecycle: LifecyclePorts;
  sweeper: StoreSweeper;
  objects: MemoryAttachmentObjects;
}

function world(sunset: EbbConfigInput['sunset'] = SUNSET): World {
  const w = memoryWorld({ sunset }, T0);
  const sweeper = new MemorySweeper(w);
  const objects = new MemoryAttachmentObjects();
  return { ...w, sweeper, objects, lifecycle: { ...w.ports, sweeper, attachmentObjects: objects } };
}

function connect(w: World, count: number): string[] {
  return Array.from({ length: count }, (_, i) => {
    const connectionId = `conn-${String(i).padStart(4, '0')}`;
    void w.connections.put({
      connectionId,
      userId: `user-${i % 7}`,
      device: 1,
      connectedAt: w.clock.t,
      expiresAt: Math.floor(w.clock.t / 1000) + 7200,
    });
    return connectionId;
  });
}

/** Something in every table, the way the routes store it. */
async function populate(w: World, users: number): Promise<void> {
  for (let i = 0; i < users; i++) {
    const userId = `user-${String(i).padStart(3, '0')}`;
    const owner = { userId, device: 1 };
    await w.accounts.create({ userId, signingKey: 'sk', identityKey: 'ik', identitySig: 'sig', devices: [1], createdAt: T0 });
    await w.prekeys.putSignedPrekey(owner, { keyId: 1, publicKey: 'pk', signature: 'sig' });
    await w.prekeys.putOneTimePrekeys(
      owner,
      [1, 2, 3].map((keyId) => ({ keyId, publicKey: `otk${keyId}` })),
    );
    const message = {
      recipient: owner,
      id: `message-${i}-aaaaaaaa`,
      from: owner,
      sentAt: T0 + i,
      expiresAt: T0 / 1000 + 86_400,
      ciphertext: 'AAAA',
      frank: placeholderFrank(),
    };
    await w.queue.put(message);
    await w.queue.claim(owner, userId, message.id, { sentAt: message.sentAt, expiresAt: message.expiresAt });
    await w.nonces.claim(`${userId}#nonce`, T0 / 1000 + 120, T0);
    await w.usernames.claim(`name_${i}`, userId);
    await w.connections.put({ connectionId: `c-${i}`, userId, device: 1, connectedAt: T0, expiresAt: T0 / 1000 + 7200 });
  }
}

async function storedItems(w: World): Promise<number> {
  let total = 0;
  // Every table infra deploys: a table the purge forgot would show here.
  for (const store of Object.keys(Tables) as StoreName[]) {
    total += (await w.sweeper.keys(store, null, 1_000_000)).items.length;
  }
  return total;
}

describe('notices', () => {
  it('reach every connection over several pages, with the phase, the schedule and why', async () => {
    const w = world();
    const ids = connect(w, 250);
    w.clock.t = Date.parse(SUNSET.signupsCloseAt);

    const outcome = await runLifecycle(w.lifecycle, 'phase-change', { pageSize: 40 });

    expect(outcome).toEqual({
      task: 'phase-change',
      phase: 'signups-closed',
      done: true,
      notified: 250,
      gone: 0,
      disconnected: 0,
      purged: 0,
      purgedObjects: 0,
    });
    expect(w.notifier.pushes.map((p) => p.connectionId).sort()).toEqual(ids);
    expect(w.notifier.pushes[0]!.frame).toEqual({
      type: 'notice',
      phase: 'signups-closed',
      reason: 'phase-change',
      serverTime: w.clock.t,
      daysUntilShutdown: 58,
      schedule: expect.objectContaining({ shutdownAt: SHUTDOWN, message: 'ebb is closing', noticeUrl: 'https://example.com/closing' }),
    });
  });

  it('delete the records of connections API Gateway calls gone, and only those', async () => {
    const w = world();
    const ids = connect(w, 30);
    const gone = ids.filter((_, i) => i % 3 === 0);
    for (const id of gone) w.notifier.gone.add(id);

    const outcome = await runLifecycle(w.lifecycle, 'phase-change', { pageSize: 7 });

    expect(outcome).toMatchObject({ notified: 20, gone: 10 });
    expect([...w.connections.items.keys()].sort()).toEqual(ids.filter((id) => !gone.includes(id)));
  });

  it('keep at most `concurrency` pushes in flight', async () => {
    const w = world();
    connect(w, 50);
    let inFlight = 0;
    let most = 0;
    const push = w.notifier.push.bind(w.notifier);
    w.notifier.push = async (id, data) => {
      most = Math.max(most, ++inFlight);
      await new Promise((r) => setTimeout(r, 1));
      inFlight--;
      return push(id, data);
    };
    await runLifecycle(w.lifecycle, 'phase-change', { concurrency: 4 });
    expect(most).toBe(4);
    expect(w.notifier.pushes).toHaveLength(50);
  });
});

describe('countdown', () => {
  it('sends only from 30 days before shutdown until shutdown', async () => {
    const w = world();
    connect(w, 3);
    const at = async (t: number) => {
      w.clock.t = t;
      w.notifier.pushes.length = 0;
      const outcome = await runLifecycle(w.lifecycle, 'countdown');
      return { outcome, frames: w.notifier.pushes.map((p) => p.frame) };
    };

    expect((await at(SHUTDOWN - 30 * DAY - 1)).outcome).toMatchObject({ skipped: 'outside-countdown', notified: 0 });
    const first = await at(SHUTDOWN - 30 * DAY);
    expect(first.outcome).toMatchObject({ notified: 3, phase: 'signups-closed' });
    expect(first.frames[0]).toMatchObject({ type: 'notice', reason: 'countdown', daysUntilShutdown: 30, phase: 'signups-closed' });
    expect((await at(SHUTDOWN - 1)).frames[0]).toMatchObject({ reason: 'countdown', daysUntilShutdown: 1 });
    expect((await at(SHUTDOWN)).outcome).toMatchObject({ skipped: 'outside-countdown', notified: 0 });
    expect((await at(PURGE - 1)).outcome).toMatchObject({ skipped: 'outside-countdown', notified: 0 });
  });

  it('is a no-op without a shutdown date', async () => {
    const w = world({});
    connect(w, 2);
    const outcome = await runLifecycle(w.lifecycle, 'countdown');
    expect(outcome).toMatchObject({ phase: 'open', skipped: 'outside-countdown', notified: 0 });
  });

  it('runs the purge again after purgeAt, so a purge cut short finishes on a later day', async () => {
    const w = world();
    await populate(w, 5);
    w.clock.t = PURGE + DAY;
    const outcome = await runLifecycle(w.lifecycle, 'countdown');
    expect(outcome).toMatchObject({ task: 'countdown', done: true, purged: 5 * 10 });
    expect(await storedItems(w)).toBe(0);
  });
});

describe('shutdown', () => {
  it('tells every connection, then disconnects it and deletes its record', async () => {
    const w = world();
    const ids = connect(w, 120);
    w.notifier.gone.add(ids[5]!);
    w.clock.t = SHUTDOWN;

    const outcome = await runLifecycle(w.lifecycle, 'shutdown', { pageSize: 50 });

    expect(outcome).toEqual({
      task: 'shutdown',
      phase: 'shut-down',
      done: true,
      notified: 119,
      gone: 1,
      disconnected: 119,
      purged: 0,
      purgedObjects: 0,
    });
    expect(w.notifier.pushes[0]!.frame).toMatchObject({ type: 'notice', phase: 'shut-down', reason: 'phase-change' });
    expect(w.notifier.pushes[0]!.frame).not.toHaveProperty('daysUntilShutdown');
    expect(w.notifier.disconnected.sort()).toEqual(ids.filter((id) => id !== ids[5]));
    expect(w.connections.items.size).toBe(0);
  });

  it('leaves alone a connection opened after shutdownAt, which came to hear why', async () => {
    const w = world();
    const ids = connect(w, 3);
    w.clock.t = SHUTDOWN + 5000;
    await w.connections.put({
      connectionId: 'late',
      userId: 'user-late',
      device: 1,
      connectedAt: SHUTDOWN + 1000,
      expiresAt: Math.floor(SHUTDOWN / 1000) + 7200,
    });

    expect(await runLifecycle(w.lifecycle, 'shutdown')).toMatchObject({ notified: 3, disconnected: 3 });
    expect(w.notifier.disconnected.sort()).toEqual(ids);
    expect([...w.connections.items.keys()]).toEqual(['late']);
  });

  it('refuses before shutdownAt', async () => {
    const w = world();
    connect(w, 3);
    w.clock.t = SHUTDOWN - 1;
    expect(await runLifecycle(w.lifecycle, 'shutdown')).toMatchObject({ skipped: 'before-shutdown', notified: 0, disconnected: 0 });
    expect(w.notifier.disconnected).toEqual([]);
    expect(w.connections.items.size).toBe(3);
  });
});

describe('purge', () => {
  it('refuses before purgeAt and without a purge date, deleting nothing', async () => {
    const w = world();
    await populate(w, 3);
    const before = await storedItems(w);
    w.clock.t = PURGE - 1;
    expect(await runLifecycle(w.lifecycle, 'purge')).toMatchObject({ skipped: 'before-purge', purged: 0, done: true });

    const undated = world({ ...SUNSET, purgeAt: null });
    await populate(undated, 1);
    undated.clock.t = PURGE + DAY;
    expect(await runLifecycle(undated.lifecycle, 'purge')).toMatchObject({ skipped: 'before-purge', purged: 0 });
    expect(await storedItems(undated)).toBe(10);
    expect(await storedItems(w)).toBe(before);
  });

  it('empties every table after purgeAt and is a no-op when run again', async () => {
    const w = world();
    await populate(w, 40);
    expect(await storedItems(w)).toBe(400);
    w.clock.t = PURGE;

    expect(await runLifecycle(w.lifecycle, 'purge', { pageSize: 25 })).toMatchObject({ task: 'purge', phase: 'shut-down', done: true, purged: 400 });
    expect(await storedItems(w)).toBe(0);
    expect(
      w.accounts.items.size + w.prekeys.signed.size + w.connections.items.size + w.queue.markers.size + w.nonces.items.size + w.usernames.items.size,
    ).toBe(0);
    expect(await runLifecycle(w.lifecycle, 'purge')).toMatchObject({ done: true, purged: 0 });
  });

  it('deletes every attachment object after the tables, and only after purgeAt', async () => {
    const w = world();
    await populate(w, 3);
    for (let i = 0; i < 2500; i++) w.objects.objects.set(`${1 + (i % 30)}/${String(i).padStart(22, 'A')}`, 1000 + i);
    w.clock.t = PURGE - 1;
    expect(await runLifecycle(w.lifecycle, 'purge')).toMatchObject({ skipped: 'before-purge', purgedObjects: 0 });
    expect(w.objects.objects.size).toBe(2500);

    w.clock.t = PURGE;
    expect(await runLifecycle(w.lifecycle, 'purge')).toMatchObject({ done: true, purged: 30, purgedObjects: 2500 });
    expect(w.objects.objects.size).toBe(0);
    expect(await runLifecycle(w.lifecycle, 'purge')).toMatchObject({ done: true, purged: 0, purgedObjects: 0 });
  });

  it('leaves the objects for the next run when the tables took all the time', async () => {
    const w = world();
    await populate(w, 1);
    w.objects.objects.set(`1/${'A'.repeat(22)}`, 10);
    w.clock.t = PURGE;
    let remaining = 30_000;
    const slow: StoreSweeper = {
      ...w.sweeper,
      keys: (s, c, l) => w.sweeper.keys(s, c, l),
      connections: (c, l) => w.sweeper.connections(c, l),
      remove: async (store, keys) => {
        remaining -= 20_000;
        await w.sweeper.remove(store, keys);
      },
    };
    expect(await runLifecycle({ ...w.lifecycle, sweeper: slow }, 'purge', { remainingMs: () => remaining })).toMatchObject({
      done: false,
      purgedObjects: 0,
    });
    expect(w.objects.objects.size).toBe(1);
    expect(await runLifecycle(w.lifecycle, 'purge')).toMatchObject({ done: true, purgedObjects: 1 });
  });

  it('resumes after a failure midway: the next run deletes what is left', async () => {
    const w = world();
    await populate(w, 30);
    w.clock.t = PURGE;
    let batches = 0;
    const failing: StoreSweeper = {
      connections: (c, l) => w.sweeper.connections(c, l),
      keys: (s, c, l) => w.sweeper.keys(s, c, l),
      remove: async (store, keys) => {
        if (++batches === 4) throw new Error('ProvisionedThroughputExceededException');
        return w.sweeper.remove(store, keys);
      },
    };

    await expect(runLifecycle({ ...w.lifecycle, sweeper: failing }, 'purge', { pageSize: 20 })).rejects.toThrow(
      'ProvisionedThroughputExceededException',
    );
    const left = await storedItems(w);
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThan(300);

    expect(await runLifecycle(w.lifecycle, 'purge', { pageSize: 20 })).toMatchObject({ done: true, purged: left });
    expect(await storedItems(w)).toBe(0);
  });

  it('stops with done: false when out of time and continues on the next run', async () => {
    const w = world();
    await populate(w, 30);
    w.clock.t = PURGE;
    let remaining = 60_000;
    // Each batch of deletes takes 20 s of the budget: three fit before the 10 s reserve.
    const slow: StoreSweeper = {
      connections: (c, l) => w.sweeper.connections(c, l),
      keys: (s, c, l) => w.sweeper.keys(s, c, l),
      remove: async (store, keys) => {
        remaining -= 20_000;
        await w.sweeper.remove(store, keys);
      },
    };
    const first = await runLifecycle({ ...w.lifecycle, sweeper: slow }, 'purge', { pageSize: 10, remainingMs: () => remaining });
    expect(first).toMatchObject({ done: false, purged: 30 });
    expect(await storedItems(w)).toBe(270);
    expect(await runLifecycle(w.lifecycle, 'purge', { remainingMs: () => 60_000 })).toMatchObject({ done: true, purged: 270 });
  });
});
