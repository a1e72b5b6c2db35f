import { type EbbClient, EbbError, MemoryStore } from '../../client-sdk/src';
import { FakeServer } from './fake-server';
import { clientFor, connected, inbox, rejectionOf, waitFor, fakeServerSuite } from './helpers';

/** Per-sender order (session/ordering.ts) and app-level retries that cannot duplicate (issue #6). */
describe('delivery order and retries', () => {
  const env = fakeServerSuite();
  const { track } = env;

  const held = (c: EbbClient) => (c as unknown as { inbox: { held: number } }).inbox.held;
  const duplicates = (c: EbbClient) => (c as unknown as { inbox: { duplicates: number } }).inbox.duplicates;

  it('holds a message whose push overtook an earlier one, drains, and hands both over in send order', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    await alice.send(bob.userId, 'warm-up');
    await waitFor(() => received.length === 1);
    let skip = true;
    env.server.skipPush = () => (skip ? ((skip = false), true) : false); // the push of m1 fails, m2's arrives
    const fetchesBefore = env.server.framesOf(bob.userId, 'fetch').length;
    await alice.send(bob.userId, 'm1');
    await alice.send(bob.userId, 'm2');
    await waitFor(() => received.length === 3);
    expect(received.map((m) => m.text)).toEqual(['warm-up', 'm1', 'm2']);
    expect(env.server.framesOf(bob.userId, 'fetch').length).toBeGreaterThan(fetchesBefore);
    await waitFor(() => env.server.queue(bob.userId).length === 0);
    expect(duplicates(bob)).toBeGreaterThanOrEqual(1); // m2 came again in the drain
    expect(held(bob)).toBe(0);
  });

  it('gives up on a gap the drain does not fill, and still delivers the missing message if it comes later', async () => {
    const bobStore = new MemoryStore();
    const offline = await connected(env.server, { store: bobStore });
    await offline.close();
    const alice = track(await connected(env.server));
    for (const text of ['m1', 'm2', 'm3']) await alice.send(offline.userId, text);
    const [first, ...rest] = env.server.queue(offline.userId);
    env.server.queues.set(`${offline.userId}#1`, rest); // m1 expired, say

    const bob = track(await clientFor(env.server, { store: bobStore }));
    const received = inbox(bob);
    await bob.connect(); // the connect drain is the one that gives up on m1
    expect(received.map((m) => m.text)).toEqual(['m2', 'm3']);
    env.server.push(bob.userId, 1, first!);
    await waitFor(() => received.length === 3);
    expect(received[2]!.text).toBe('m1');
  });

  it('keeps a held message in the store across a restart', async () => {
    const bobStore = new MemoryStore();
    const first = track(await connected(env.server, { store: bobStore, timeoutMs: 1500 }));
    const early = inbox(first);
    const alice = track(await connected(env.server));
    await alice.send(first.userId, 'warm-up');
    await waitFor(() => early.length === 1 && env.server.queue(first.userId).length === 0);
    let withheld: Parameters<FakeServer['push']>[2] | undefined;
    env.server.skipPush = (_u, _d, envelope) => (withheld ? false : ((withheld = envelope), true));
    env.server.intercept = (_c, f) => f.action === 'fetch'; // the gap cannot be looked for: m2 stays held
    await alice.send(first.userId, 'm1');
    const queueKey = `${first.userId}#1`;
    const m1 = env.server.queue(first.userId)[0]!;
    env.server.queues.set(queueKey, []);
    await alice.send(first.userId, 'm2');
    await waitFor(() => held(first) === 1);
    await first.close();
    expect(early).toHaveLength(1);

    env.server.intercept = null;
    env.server.queues.set(queueKey, [m1, ...env.server.queue(first.userId)]);
    const bob = track(await clientFor(env.server, { store: bobStore }));
    const received = inbox(bob);
    await bob.connect();
    expect(received.map((m) => m.text)).toEqual(['m1', 'm2']);
    expect(await bobStore.list('order/held/')).toEqual([]);
  });

  it('lets the app retry a failed send with the same id: queued once, received once', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    await alice.send(bob.userId, 'warm-up');
    env.server.intercept = (c, f) => {
      if (f.action !== 'send') return false;
      env.server.intercept = null;
      // Stored, but the answer says otherwise (a Lambda that timed out after its write).
      (env.server as unknown as { send(c: unknown, f: unknown): void }).send(c, { ...f, rid: 'lost' });
      c.error(f.rid as string, 'INTERNAL', 'try again', true);
      return true;
    };
    const err = await rejectionOf(alice.send(bob.userId, 'once'));
    expect(EbbError.is(err, 'INTERNAL') && err.retryable).toBe(true);
    const id = (err as EbbError).messageId!;
    expect(id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    const again = await alice.send(bob.userId, 'once', { id });
    expect(again.id).toBe(id);
    await waitFor(() => received.length === 2);
    expect(received.filter((m) => m.id === id)).toHaveLength(1);
    expect(env.server.queue(bob.userId).filter((e) => e.id === id).length).toBeLessThanOrEqual(1);
  });

  it('a retry’s own copy pushed before the original (the server pushes right after its put, ARCH §6.2): shown once, both copies acked', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    await alice.send(bob.userId, 'warm-up');
    await waitFor(() => received.length === 1 && env.server.queue(bob.userId).length === 0);
    // The first attempt's copy is queued, its push lost.
    env.server.skipPush = () => true;
    await alice.send(bob.userId, 'once');
    env.server.skipPush = null;
    const [original] = env.server.queue(bob.userId);
    // The retry's copy, written later, is pushed first; then the original, as the route pushes it once the claim
    // has found it.
    const retried = { ...original!, sentAt: original!.sentAt + 1500 };
    env.server.queues.set(`${bob.userId}#1`, [original!, retried]);
    env.server.push(bob.userId, 1, retried);
    env.server.push(bob.userId, 1, original!);
    await waitFor(() => env.server.queue(bob.userId).length === 0);
    expect(received.filter((m) => m.id === original!.id)).toHaveLength(1);
    expect(duplicates(bob)).toBe(1);
  });

  it('refuses an id that is not a message id', async () => {
    const alice = track(await connected(env.server));
    expect(await rejectionOf(alice.send(alice.userId, 'x', { id: 'short' }))).toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('retries a 401 on reconnect a few times before stopping (the connect rate limit answers 401 too)', async () => {
    const bob = track(await connected(env.server));
    const errors: EbbError[] = [];
    bob.on('error', (e) => errors.push(e));
    env.server.refuseUpgrades = 401;
    for (const c of env.server.live(bob.userId)) c.drop();
    await waitFor(() => env.server.upgrades.filter((u) => !u.accepted).length >= 2);
    env.server.refuseUpgrades = null;
    await waitFor(() => env.server.live(bob.userId).length === 1);
    expect(errors).toEqual([]);
    await bob.status();
  });
});
