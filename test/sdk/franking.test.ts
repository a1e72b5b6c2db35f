import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { EbbClient, EbbError, FileStore, type KeyStore, MemoryStore } from '../../client-sdk/src';
import type { Identity } from '../../client-sdk/src/identity/identity';
import { certifyDevice } from '../../client-sdk/src/identity/keys';
import { SIGNED_PREKEY_CONTEXT, signedKeyMessage } from '../../protocol/connect';
import { MAX_REPORTABLE, type Reportable, Reportables } from '../../client-sdk/src/session/reportables';
import { frankCommitment, reportIdOf } from '../../lambdas/core/franking';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { FakeServer } from './fake-server';
import { FAST_RECONNECT, clientFor, connected, inbox, rejectionOf, sleep, waitFor, fakeServerSuite, ackedBy } from './helpers';
import { until } from '../support/sdk';

// Archives here are about what they carry, not their cost: sealed at a test-only cheap N (test/support/cheap-archives.ts).
jest.mock('../../client-sdk/src/archive/format', () => jest.requireActual('../support/cheap-archives').cheapArchiveFormat());

/** The commitment failures the client's inbox counted (internal, not public API). */
function commitmentFailures(client: EbbClient): number {
  return (client as unknown as { inbox: { commitmentFailures: number } }).inbox.commitmentFailures;
}

/** The record `store` keeps for message `id` from `sender`, parsed. */
async function recordOf(store: KeyStore, sender: string, id: string): Promise<Reportable | undefined> {
  const value = await store.get(`reportable/${sender}/${id}`);
  return value === undefined ? undefined : (JSON.parse(value) as Reportable);
}

/** `commitment` with one bit flipped. */
function flipped(commitment: string, bit = 0): string {
  const bytes = fromBase64Url(commitment);
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return toBase64Url(bytes);
}

describe('message franking', () => {
  const env = fakeServerSuite({ clock: true });
  const { track, clock } = env;

  /** Alice and Bob, both online, each on a MemoryStore the test can read. */
  async function pair() {
    const bobStore = new MemoryStore();
    const bob = track(await connected(env.server, { store: bobStore, now: clock.now }));
    const alice = track(await connected(env.server, { now: clock.now }));
    return { alice, bob, bobStore, received: inbox(bob) };
  }

  /** Linked devices of `bob`, certified by his account key, sharing device 1's signed prekey: they never decrypt, but get a copy. */
  function addCertifiedDevices(bob: EbbClient, devices: readonly number[]): void {
    const signed = env.server.prekeys.get(`${bob.userId}#1`)!.signed!;
    const accountSecret = (bob as unknown as { identity: Identity }).identity.signingSecretKey!;
    for (const d of devices) {
      const signing = nacl.sign.keyPair();
      const signature = nacl.sign.detached(signedKeyMessage(SIGNED_PREKEY_CONTEXT, fromBase64Url(signed.publicKey)), signing.secretKey);
      const cert = toBase64Url(certifyDevice(signing.publicKey, accountSecret));
      env.server.accounts.get(bob.userId)!.linked.set(d, { signingKey: toBase64Url(signing.publicKey), cert, name: null, linkedAt: 0 });
      env.server.accounts.get(bob.userId)!.devices.add(d);
      env.server.prekeys.set(`${bob.userId}#${d}`, { signed: { ...signed, signature: toBase64Url(signature) }, oneTime: [] });
    }
  }

  describe('sender', () => {
    it('commits to the content under the franking key inside the plaintext, the same for every device', async () => {
      const { alice, bob, bobStore, received } = await pair();
      addCertifiedDevices(bob, [2, 3]);
      const sent = await alice.send(bob.userId, 'committed ✓');
      const [frame] = env.server.framesOf(alice.userId, 'send');
      expect(frame.messages.map((m: { device: number }) => m.device)).toEqual([1, 2, 3]);
      const commitments = new Set(frame.messages.map((m: { commitment: string }) => m.commitment));
      expect(commitments.size).toBe(1);
      const [commitment] = [...commitments] as string[];
      expect(fromBase64Url(commitment!)).toHaveLength(32);

      // Bob's copy decrypts; the franking key in its plaintext reproduces the commitment with node:crypto.
      await waitFor(() => received.length === 1);
      const record = (await recordOf(bobStore, alice.userId, sent.id))!;
      expect(fromBase64Url(record.frankKey)).toHaveLength(32);
      const content = { from: alice.userId, to: bob.userId, id: sent.id, kind: 'text' as const, body: new TextEncoder().encode('committed ✓') };
      expect(toBase64Url(frankCommitment(fromBase64Url(record.frankKey), content))).toBe(commitment);
      expect(env.server.queue(bob.userId, 2)[0]!.frank.commitment).toBe(commitment);
    });

    it('uses a fresh franking key per message and the same commitment when a message goes again', async () => {
      const { alice, bob } = await pair();
      await alice.send(bob.userId, 'before');
      // Bob links a device: the first send's answer names it missing, and the SDK sends it the same message.
      addCertifiedDevices(bob, [2]);
      const first = await alice.send(bob.userId, 'same text');
      const second = await alice.send(bob.userId, 'same text');
      const frames = env.server.framesOf(alice.userId, 'send').slice(1);
      expect(frames.map((f) => f.id)).toEqual([first.id, first.id, second.id]);
      expect(frames.map((f) => f.messages.map((m: { device: number }) => m.device))).toEqual([[1], [2], [1, 2]]);
      const commitmentOf = (i: number): string => frames[i].messages[0].commitment;
      expect(commitmentOf(1)).toBe(commitmentOf(0));
      expect(frames[1].messages[0].ciphertext).not.toBe(frames[0].messages[0].ciphertext); // re-encrypted
      expect(commitmentOf(2)).not.toBe(commitmentOf(0));
    });

    it('resends the identical frame after a lost connection', async () => {
      const { alice, bob } = await pair();
      let dropped = false;
      env.server.intercept = (c, f) => {
        if (dropped || f.action !== 'send') return false;
        dropped = true;
        c.drop(); // the frame reached the server, the answer never comes back
        return true;
      };
      await alice.send(bob.userId, 'again and again');
      const [lost, resent] = env.server.framesOf(alice.userId, 'send');
      expect(resent).toEqual(lost);
    });
  });

  describe('recipient', () => {
    it('drops and acks a message whose envelope commitment was tampered with, and delivers the rest of the batch', async () => {
      const bobStore = new MemoryStore();
      const offline = await connected(env.server, { store: bobStore, now: clock.now });
      await offline.close();
      const alice = track(await connected(env.server, { now: clock.now }));
      const bad = await alice.send(offline.userId, 'tampered');
      const good = await alice.send(offline.userId, 'intact');
      const queue = env.server.queue(offline.userId);
      expect(queue.map((e) => e.id)).toEqual([bad.id, good.id]);
      queue[0] = { ...queue[0]!, frank: { ...queue[0]!.frank, commitment: flipped(queue[0]!.frank.commitment, 77) } };

      const bob = track(await clientFor(env.server, { store: bobStore, now: clock.now }));
      const received = inbox(bob);
      await bob.connect();
      expect(received.map((m) => m.text)).toEqual(['intact']);
      expect(commitmentFailures(bob)).toBe(1);
      await waitFor(() => env.server.queue(bob.userId).length === 0); // both acked
      // In ack frames, or riding on the receipt (ARCH §6.5).
      const acked = ackedBy(env.server, bob.userId).map((m) => m.id);
      expect(acked.sort()).toEqual([bad.id, good.id].sort());
      expect(await recordOf(bobStore, alice.userId, bad.id)).toBeUndefined();
      expect(await recordOf(bobStore, alice.userId, good.id)).toBeDefined();
      expect(EbbError.is(await rejectionOf(bob.report(bad.id, 'spam')), 'NOT_FOUND')).toBe(true);
    });

    it('drops a pushed message whose commitment does not match, and keeps receiving', async () => {
      const { alice, bob, received } = await pair();
      env.server.intercept = (_c, f) => {
        if (f.action !== 'send') return false;
        env.server.intercept = null;
        for (const m of f.messages) m.commitment = flipped(m.commitment, 255);
        return false;
      };
      await alice.send(bob.userId, 'lied about');
      await waitFor(() => commitmentFailures(bob) === 1);
      await alice.send(bob.userId, 'honest');
      await waitFor(() => received.length === 1);
      await sleep(30);
      expect(received.map((m) => m.text)).toEqual(['honest']);
      await waitFor(() => env.server.queue(bob.userId).length === 0);
    });
  });

  describe('report', () => {
    it('sends exactly the fields the server checks, and returns its answer', async () => {
      const { alice, bob, received } = await pair();
      const sent = await alice.send(bob.userId, 'buy now! ✓', { expiresInSeconds: 3600 });
      await waitFor(() => received.length === 1);
      // Acked and gone from the queue: the franking fields as the fake server made them (the tag is deterministic).
      const commitment = env.server.framesOf(alice.userId, 'send')[0].messages[0].commitment;
      const frank = env.server.frank(commitment, { user: alice.userId, device: 1 }, { user: bob.userId, device: 1 }, sent.sentAt.getTime(), sent.id);

      const result = await bob.report(sent.id, 'spam');
      const expectedId = reportIdOf({ userId: bob.userId, device: 1 }, alice.userId, sent.id);
      expect(result).toEqual({ reportId: expectedId, duplicate: false });
      const [frame] = env.server.framesOf(bob.userId, 'report');
      expect(frame).toEqual({
        action: 'report',
        rid: expect.any(String),
        message: { id: sent.id, from: { user: alice.userId, device: 1 }, sentAt: sent.sentAt.getTime(), frank },
        frankKey: expect.any(String),
        content: { kind: 'text', body: toBase64Url(new TextEncoder().encode('buy now! ✓')) },
        reason: 'spam',
      });
      const content = { from: alice.userId, to: bob.userId, id: sent.id, kind: 'text' as const, body: new TextEncoder().encode('buy now! ✓') };
      expect(toBase64Url(frankCommitment(fromBase64Url(frame.frankKey), content))).toBe(frank.commitment);

      expect(await bob.report(sent.id, 'spam, again')).toEqual({ reportId: expectedId, duplicate: true });
    });

    it('reports bytes as bytes', async () => {
      const { alice, bob, received } = await pair();
      const body = new Uint8Array([0, 255, 7]);
      const sent = await alice.send(bob.userId, body);
      await waitFor(() => received.length === 1);
      expect((await bob.report(sent.id, 'x')).duplicate).toBe(false);
      expect(env.server.framesOf(bob.userId, 'report')[0].content).toEqual({ kind: 'bytes', body: toBase64Url(body) });
    });

    it('refuses an unknown id or a bad argument without contacting the server', async () => {
      const { bob } = await pair();
      const unknown = await rejectionOf(bob.report('AAAAAAAAAAAAAAAAAAAAAA', 'spam'));
      expect(EbbError.is(unknown, 'NOT_FOUND') && unknown.message).toBe('no received message with this id from this sender is kept for reporting');
      expect((unknown as EbbError).retryable).toBe(false);
      for (const [id, reason] of [
        ['AAAAAAAAAAAAAAAAAAAAAA', ''],
        ['AAAAAAAAAAAAAAAAAAAAAA', 'r'.repeat(501)],
        ['not a message id', 'spam'],
        ['AAAAAAAAAAAAAAAAAAAAAA', 42],
      ] as const) {
        expect(EbbError.is(await rejectionOf(bob.report(id, reason as string)), 'BAD_REQUEST')).toBe(true);
      }
      expect(env.server.framesOf(bob.userId, 'report')).toEqual([]);
    });

    it('accepts a reason of exactly 500 characters', async () => {
      const { alice, bob, received } = await pair();
      const sent = await alice.send(bob.userId, 'hi');
      await waitFor(() => received.length === 1);
      await bob.report(sent.id, 'r'.repeat(500));
      expect(env.server.framesOf(bob.userId, 'report')[0].reason).toHaveLength(500);
    });

    it("surfaces the server's refusals with its code", async () => {
      const { alice, bob, bobStore, received } = await pair();
      const sent = await alice.send(bob.userId, 'hi');
      await waitFor(() => received.length === 1);

      // A tag that is not the server's: the real check refuses it.
      const record = (await recordOf(bobStore, alice.userId, sent.id))!;
      await bobStore.set(
        `reportable/${alice.userId}/${sent.id}`,
        JSON.stringify({ ...record, frank: { ...record.frank, tag: flipped(record.frank.tag) } }),
      );
      expect(EbbError.is(await rejectionOf(bob.report(sent.id, 'spam')), 'FORBIDDEN')).toBe(true);
      await bobStore.set(`reportable/${alice.userId}/${sent.id}`, JSON.stringify(record));

      env.server.intercept = (c, f) => {
        if (f.action !== 'report') return false;
        env.server.intercept = null;
        c.error(f.rid, 'RATE_LIMITED', 'slow down', true, 30);
        return true;
      };
      const limited = await rejectionOf(bob.report(sent.id, 'spam'));
      expect(EbbError.is(limited, 'RATE_LIMITED') && [limited.retryable, limited.retryAfterSeconds]).toEqual([true, 30]);
      expect((await bob.report(sent.id, 'spam')).duplicate).toBe(false);
    });
  });

  describe('reportable records', () => {
    it('keeps one per delivered message and deletes it once the message expired', async () => {
      const { alice, bob, bobStore, received } = await pair();
      const short = await alice.send(bob.userId, 'brief', { expiresInSeconds: 60 });
      const long = await alice.send(bob.userId, 'lasting');
      await waitFor(() => received.length === 2);
      expect(await recordOf(bobStore, alice.userId, short.id)).toMatchObject({
        id: short.id,
        from: { user: alice.userId, device: 1 },
        sentAt: short.sentAt.getTime(),
        expiresAt: short.sentAt.getTime() + 60_000,
        kind: 'text',
        body: toBase64Url(new TextEncoder().encode('brief')),
      });

      clock.t += 61_000;
      // Expired counts as absent on lookup…
      expect(EbbError.is(await rejectionOf(bob.report(short.id, 'late')), 'NOT_FOUND')).toBe(true);
      expect(env.server.framesOf(bob.userId, 'report')).toEqual([]);
      expect(await recordOf(bobStore, alice.userId, short.id)).toBeUndefined();
      // …and a reconnect prunes every expired record from the store, keeping the others.
      const stale = { ...(await recordOf(bobStore, alice.userId, long.id))!, id: 'expired-message-1', expiresAt: clock.t - 1 };
      await bobStore.set(`reportable/${alice.userId}/${stale.id}`, JSON.stringify(stale));
      for (const c of env.server.live(bob.userId)) c.drop();
      await until(async () => (await bobStore.get(`reportable/${alice.userId}/${stale.id}`)) === undefined, 'the expired record to be pruned');
      expect(await recordOf(bobStore, alice.userId, long.id)).toBeDefined();
      expect((await bob.report(long.id, 'still there')).duplicate).toBe(false);
    });

    it('is kept across restarts in a FileStore', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'ebb-franking-'));
      try {
        const store = new FileStore(dir);
        const bob = await connected(env.server, { store, now: clock.now });
        const received = inbox(bob);
        const alice = track(await connected(env.server, { now: clock.now }));
        const sent = await alice.send(bob.userId, 'kept on disk');
        await waitFor(() => received.length === 1);
        await bob.close();

        const again = track(await connected(env.server, { store: new FileStore(dir), now: clock.now }));
        expect(await again.report(sent.id, 'spam')).toEqual({
          reportId: reportIdOf({ userId: bob.userId, device: 1 }, alice.userId, sent.id),
          duplicate: false,
        });
        expect(env.server.framesOf(bob.userId, 'report')[0].content.body).toBe(toBase64Url(new TextEncoder().encode('kept on disk')));
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
});

describe('reportable records in archives', () => {
  it('travel with exportArchive, so the restored device can still report on the same deployment', async () => {
    const server = await FakeServer.start();
    const clients: EbbClient[] = [];
    try {
      const bob = await connected(server);
      const alice = await connected(server);
      clients.push(bob, alice);
      const received = inbox(bob);
      const sent = await alice.send(bob.userId, 'archived');
      await waitFor(() => received.length === 1);
      const bytes = await bob.exportArchive('correct horse battery');
      await bob.close();
      const store = new MemoryStore();
      const restored = await EbbClient.importArchive(bytes, 'correct horse battery', { url: server.url, store, reconnect: FAST_RECONNECT });
      clients.push(restored);
      expect(await store.get(`reportable/${alice.userId}/${sent.id}`)).toBeDefined();
      await restored.connect();
      expect((await restored.report(sent.id, 'spam')).duplicate).toBe(false);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await server.close();
    }
  });
});

describe('Reportables', () => {
  const record = (i: number, expiresAt = 10_000): Reportable => ({
    id: `message-${String(i).padStart(8, '0')}`,
    from: { user: 'A'.repeat(32), device: 1 },
    sentAt: 1000 + i,
    expiresAt,
    frank: { commitment: 'A'.repeat(43), tag: 'B'.repeat(43), kid: 'k1' },
    frankKey: 'C'.repeat(43),
    kind: 'text',
    body: 'aGk',
  });

  it('prunes expired and unreadable records, then the oldest beyond the cap', async () => {
    const store = new MemoryStore();
    const reportables = new Reportables(store, () => 5000, 3);
    for (let i = 0; i < 5; i++) await store.set(`reportable/${record(i).from.user}/${record(i).id}`, JSON.stringify(record(i)));
    await store.set(`reportable/${record(5).from.user}/${record(5).id}`, JSON.stringify(record(5, 5000))); // expires now
    await store.set('reportable/garbage-00000000', '{');
    await reportables.prune();
    expect((await store.list('reportable/')).sort()).toEqual([2, 3, 4].map((i) => `reportable/${record(i).from.user}/${record(i).id}`));
    expect(await reportables.find(record(4).from.user, record(4).id)).toEqual(record(4));
    expect(await reportables.find(record(0).from.user, record(0).id)).toBeNull();
  });

  it('stays bounded while messages keep arriving without a reconnect', async () => {
    const store = new MemoryStore();
    const reportables = new Reportables(store, () => 5000);
    for (let i = 0; i < MAX_REPORTABLE + 500; i++) await reportables.keep(record(i));
    const kept = await store.list('reportable/');
    expect(kept.length).toBeLessThanOrEqual(MAX_REPORTABLE + 200);
    expect(kept).toContain(`reportable/${'A'.repeat(32)}/${record(MAX_REPORTABLE + 499).id}`);
    expect(kept).not.toContain(`reportable/${'A'.repeat(32)}/${record(0).id}`);
  });

  it('keys records by sender and id: a second sender of the same id overwrites nothing', async () => {
    const store = new MemoryStore();
    const reportables = new Reportables(store, () => 5000);
    const abuse = record(1);
    const puppet = { ...record(1), from: { user: 'P'.repeat(32), device: 1 }, body: 'b2s' };
    await reportables.keep(abuse);
    await reportables.keep(puppet);
    expect(await reportables.find(abuse.from.user, abuse.id)).toEqual(abuse);
    expect(await reportables.find(puppet.from.user, puppet.id)).toEqual(puppet);
    expect(await reportables.withId(abuse.id)).toHaveLength(2);
  });

  it('still reads a record an older SDK kept under the id alone, for its own sender only', async () => {
    const store = new MemoryStore();
    const reportables = new Reportables(store, () => 5000);
    await store.set(`reportable/${record(7).id}`, JSON.stringify(record(7)));
    expect(await reportables.find(record(7).from.user, record(7).id)).toEqual(record(7));
    expect(await reportables.find('P'.repeat(32), record(7).id)).toBeNull();
    expect(await reportables.withId(record(7).id)).toEqual([record(7)]);
  });
});
