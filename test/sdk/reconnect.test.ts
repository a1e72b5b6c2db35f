import { EbbError, MemoryStore } from '../../client-sdk/src';
import { Limits } from '../../protocol/limits';
import { clientFor, connected, inbox, rejectionOf, sleep, succeedsWithin, waitFor, fakeServerSuite } from './helpers';

describe('connection loss', () => {
  const env = fakeServerSuite();
  const { track } = env;

  it('reconnects with a fresh signature and drains what arrived meanwhile', async () => {
    // No receipt: the drained message's ack goes out as an ack frame, not riding on one (ARCH §6.5).
    const bob = track(await connected(env.server, { receipts: false }));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    await alice.send(bob.userId, 'warm-up'); // Alice caches Bob before he goes away
    await waitFor(() => received.length === 1 && env.server.queue(bob.userId).length === 0);

    env.server.refuseUpgrades = 503; // keep Bob offline for a moment
    for (const c of env.server.live(bob.userId)) c.drop();
    await waitFor(() => env.server.upgrades.filter((u) => !u.accepted).length >= 2);
    await alice.send(bob.userId, 'while you were away');
    env.server.refuseUpgrades = null;

    await waitFor(() => received.length === 2);
    expect(received[1]!.text).toBe('while you were away');
    const bobUpgrades = env.server.upgrades.filter((u) => u.query.get('uid') === bob.userId);
    expect(new Set(bobUpgrades.map((u) => u.query.get('nonce'))).size).toBe(bobUpgrades.length);
    expect(bobUpgrades.slice(1).every((u) => !u.query.has('pk'))).toBe(true);
    const last = env.server.connections[env.server.connections.length - 1]!;
    await waitFor(() => env.server.frames.filter((f) => f.connection === last.id).length >= 4);
    expect(env.server.frames.filter((f) => f.connection === last.id).map((f) => f.frame.action)).toEqual(['hello', 'keys.count', 'fetch', 'ack']);
  });

  it('re-sends an in-flight send with the same id after reconnecting', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    let dropped = false;
    env.server.intercept = (c, f) => {
      if (f.action !== 'send' || dropped) return false;
      dropped = true;
      c.drop(); // the frame reached the server, the answer never comes back
      return true;
    };
    const sent = await alice.send(bob.userId, 'persistent');
    const sends = env.server.framesOf(alice.userId, 'send');
    expect(sends).toHaveLength(2);
    expect(sends[1].id).toBe(sends[0].id);
    expect(sends[1].id).toBe(sent.id);
    expect(env.server.connections.filter((c) => c.user === alice.userId)).toHaveLength(2);
    await waitFor(() => received.length === 1);
  });

  it('fails a request with a retryable INTERNAL when the connection cannot be restored in time', async () => {
    const bob = track(await connected(env.server));
    // A 400 ms wait is short for a busy machine: the setup may take a few tries, as an app's would.
    const alice = track(await clientFor(env.server, { timeoutMs: 400 }));
    expect(await succeedsWithin(5, () => alice.connect())).toBe(true);
    expect(await succeedsWithin(5, () => alice.send(bob.userId, 'cache bob'))).toBe(true);
    env.server.intercept = (c, f) => {
      if (f.action !== 'send') return false;
      env.server.refuseUpgrades = 503;
      c.drop();
      return true;
    };
    const err = await rejectionOf(alice.send(bob.userId, 'doomed'));
    expect(EbbError.is(err, 'INTERNAL')).toBe(true);
    expect((err as EbbError).retryable).toBe(true);
    expect((err as EbbError).message).toMatch(/connection was lost/);

    // The client keeps trying in the background and recovers. On a busy machine a send may still time
    // out (400 ms) while the reconnect is under way: one of a few must go through.
    env.server.intercept = null;
    env.server.refuseUpgrades = null;
    expect(await succeedsWithin(5, () => alice.send(bob.userId, 'recovered'))).toBe(true);
  });

  it('reports a refused reconnect as an error event and fails pending requests', async () => {
    const bob = track(await connected(env.server));
    const alice = track(await connected(env.server));
    const errors: EbbError[] = [];
    alice.on('error', (e) => errors.push(e));
    env.server.refuseUpgrades = 401;
    for (const c of env.server.live(alice.userId)) c.drop();
    const pending = alice.send(bob.userId, 'never');
    await expect(pending).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    expect(errors.map((e) => e.code)).toEqual(['UNAUTHORIZED']);
    const attempts = env.server.upgrades.length;
    await sleep(50);
    expect(env.server.upgrades.length).toBe(attempts);
  });

  it('re-sends acks that were in flight when the connection dropped', async () => {
    const bob = track(await connected(env.server, { receipts: false }));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    let dropped = false;
    env.server.intercept = (c, f) => {
      if (f.action !== 'ack' || dropped) return false;
      dropped = true;
      c.drop();
      return true;
    };
    const sent = await alice.send(bob.userId, 'ack me twice');
    await waitFor(() => env.server.queue(bob.userId).length === 0);
    const acks = env.server.framesOf(bob.userId, 'ack');
    expect(acks.map((a) => a.messages)).toEqual([[{ id: sent.id, sentAt: sent.sentAt.getTime() }], [{ id: sent.id, sentAt: sent.sentAt.getTime() }]]);
    expect(received).toHaveLength(1);
  });

  it('stops reconnecting after close()', async () => {
    const alice = await connected(env.server);
    await alice.close();
    const attempts = env.server.upgrades.length;
    await sleep(50);
    expect(env.server.upgrades.length).toBe(attempts);
    expect(env.server.live(alice.userId)).toHaveLength(0);
    await expect(alice.send(alice.userId, 'x')).rejects.toMatchObject({ code: 'INTERNAL', retryable: false });
  });

  it('flushes acks before close() resolves', async () => {
    const bob = track(await connected(env.server, { receipts: false }));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    await alice.send(bob.userId, 'ack me');
    await waitFor(() => received.length === 1);
    await bob.close();
    expect(env.server.framesOf(bob.userId, 'ack')).toHaveLength(1);
    expect(env.server.queue(bob.userId)).toHaveLength(0);
  });

  it('acks a long queue in batches of at most maxAckBatch', async () => {
    const bobStore = new MemoryStore();
    const offline = await connected(env.server, { store: bobStore });
    await offline.close();
    const alice = track(await connected(env.server));
    const total = Limits.maxAckBatch + 30;
    for (let i = 0; i < total; i++) await alice.send(offline.userId, `${i}`);

    const bob = track(await clientFor(env.server, { store: bobStore, receipts: false }));
    const received = inbox(bob);
    await bob.connect();
    expect(received).toHaveLength(total);
    await waitFor(() => env.server.queue(bob.userId).length === 0);
    const acks = env.server.framesOf(bob.userId, 'ack');
    for (const ack of acks) expect(ack.messages.length).toBeLessThanOrEqual(Limits.maxAckBatch);
    expect(acks.flatMap((a) => a.messages)).toHaveLength(total);
    expect(acks.length).toBeLessThan(total / 10);
  });
});
