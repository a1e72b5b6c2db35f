import nacl from 'tweetnacl';
import { MemoryStore, type ServiceNotice } from '../../client-sdk/src';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import type { Envelope } from '../../protocol/frames';
import { FakeServer } from './fake-server';
import { ackedBy, clientFor, connected, inbox, sleep, waitFor, fakeServerSuite } from './helpers';

/** Answers acks without removing anything, so the server can deliver the same envelope again. */
const ignoreAcks: FakeServer['intercept'] = (c, f) => {
  // Acks riding on a send (a receipt) are dropped unanswered, so the SDK sends them again as an ack.
  if (f.action === 'send') delete f.acks;
  if (f.action !== 'ack') return false;
  c.result(f.rid, { acked: 0 });
  return true;
};

describe('receiving', () => {
  const env = fakeServerSuite();
  const { track } = env;

  /** Bob registered but offline, with one message from Alice queued; returns its envelope. */
  async function queuedForOfflineBob(text = 'hello bob', options = {}) {
    const bobStore = new MemoryStore();
    const bob = await connected(env.server, { store: bobStore });
    await bob.close();
    const alice = track(await connected(env.server));
    const sent = await alice.send(bob.userId, text, options);
    const [envelope] = env.server.queue(bob.userId);
    return { alice, bobStore, bobId: bob.userId, sent, envelope: envelope! };
  }

  it('decrypts a pushed message and emits it once', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));

    const sent = await alice.send(bob.userId, 'hi bob ✓');
    await waitFor(() => received.length === 1);
    const [m] = received;
    expect(m).toEqual({
      id: sent.id,
      from: alice.userId,
      fromDevice: 1,
      text: 'hi bob ✓',
      body: new TextEncoder().encode('hi bob ✓'),
      sentAt: sent.sentAt,
    });
    expect(fromBase64Url(sent.id)).toHaveLength(16);
    await waitFor(() => env.server.queue(bob.userId).length === 0);
    expect(ackedBy(env.server, bob.userId)).toEqual([{ id: sent.id, sentAt: sent.sentAt.getTime() }]);
    await sleep(30);
    expect(received).toHaveLength(1);
  });

  it('carries bytes, expiry and burn-after-reading', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    const body = new Uint8Array([0, 1, 2, 255]);
    const sent = await alice.send(bob.userId, body, { expiresInSeconds: 3600, burnAfterReadingSeconds: 30 });
    await waitFor(() => received.length === 1);
    expect(received[0]).toEqual({
      id: sent.id,
      from: alice.userId,
      fromDevice: 1,
      body,
      sentAt: sent.sentAt,
      expiresAt: new Date(sent.sentAt.getTime() + 3600 * 1000),
      burnAfterReadingSeconds: 30,
    });
    expect(env.server.framesOf(alice.userId, 'send')[0].expiresInSeconds).toBe(3600);
  });

  it('emits a message delivered twice only once, and acks both deliveries', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    env.server.intercept = ignoreAcks; // keep it queued: a redelivery is possible
    await alice.send(bob.userId, 'once');
    await waitFor(() => received.length === 1 && env.server.framesOf(bob.userId, 'ack').length === 1);
    const [envelope] = env.server.queue(bob.userId);
    env.server.push(bob.userId, 1, envelope!);
    env.server.push(bob.userId, 1, envelope!);
    // Both redeliveries arrive within one batching window: one more ack, naming the message once.
    await waitFor(() => env.server.framesOf(bob.userId, 'ack').length === 2);
    await sleep(30);
    expect(received).toHaveLength(1);
    for (const ack of env.server.framesOf(bob.userId, 'ack')) expect(ack.messages).toEqual([{ id: envelope!.id, sentAt: envelope!.sentAt }]);
  });

  it('drains the queue page by page before connect() resolves', async () => {
    const bobStore = new MemoryStore();
    const offline = await connected(env.server, { store: bobStore });
    await offline.close();
    const bobId = offline.userId;
    const alice = track(await connected(env.server));
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await alice.send(bobId, `m${i}`)).id);
    env.server.fetchPageSize = 2;

    const bob = track(await clientFor(env.server, { store: bobStore }));
    const received = inbox(bob);
    await bob.connect();
    expect(received.map((m) => m.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    const fetches = env.server.frames
      .filter((f) => f.user === bobId && f.frame.action === 'fetch')
      .slice(-3)
      .map((f) => f.frame);
    expect(fetches[0].after).toBeUndefined();
    expect(fetches[1].after).toEqual(expect.any(String));
    expect(fetches[2].after).toEqual(expect.any(String));
    await waitFor(() => env.server.queue(bobId).length === 0);
    const acked = ackedBy(env.server, bobId).map((m) => m.id);
    expect(acked.sort()).toEqual([...ids].sort());
  });

  it('drops tampered envelopes but acks them, and still accepts the genuine one', async () => {
    const { bobStore, bobId, alice, envelope: first } = await queuedForOfflineBob('first');
    await alice.send(bobId, 'second');
    const envelope = env.server.queue(bobId)[1]!;
    const carol = track(await connected(env.server));
    const ciphertext = fromBase64Url(envelope.ciphertext);
    const flipped = (at: number): string => {
      const copy = ciphertext.slice();
      copy[at]! ^= 0x01;
      return toBase64Url(copy);
    };
    let sentAt = envelope.sentAt;
    const variant = (change: Partial<Envelope>): Envelope => ({ ...envelope, sentAt: ++sentAt, ...change });
    // One flip at both ends of every part of a prekey message: version, kind, signing key, identity
    // key, signature, ephemeral key, signed and one-time prekey ids, ratchet header, AEAD ciphertext.
    const edges = [0, 1, 2, 33, 34, 65, 66, 129, 130, 161, 162, 165, 166, 169, 170, 209, 210, ciphertext.length - 1];
    const tampered = [
      ...edges.map((at) => variant({ ciphertext: flipped(at) })),
      variant({ ciphertext: toBase64Url(ciphertext.subarray(0, ciphertext.length - 1)) }),
      variant({ from: { user: carol.userId, device: 1 } }),
      variant({ from: { user: alice.userId, device: 2 } }),
      variant({ id: 'AAAAAAAAAAAAAAAAAAAAAA' }),
    ];
    // The first message caches Alice's identity and starts the session, so the tampered ones meet
    // the fast path; none may use up the message key of the genuine one.
    env.server.queues.set(`${bobId}#1`, [first, ...tampered, variant({})]);

    const bob = track(await clientFor(env.server, { store: bobStore }));
    const received = inbox(bob);
    await bob.connect();
    expect(received.map((m) => m.text)).toEqual(['first', 'second']);
    await waitFor(() => env.server.queue(bobId).length === 0);
  });

  it('drops a message addressed to another recipient', async () => {
    const { bobId, envelope } = await queuedForOfflineBob();
    const carolStore = new MemoryStore();
    const carol = await connected(env.server, { store: carolStore });
    await carol.close();
    env.server.queues.set(`${carol.userId}#1`, [envelope]);
    env.server.queues.set(`${bobId}#1`, []);
    const again = track(await clientFor(env.server, { store: carolStore }));
    const received = inbox(again);
    await again.connect();
    expect(received).toHaveLength(0);
    await waitFor(() => env.server.queue(carol.userId).length === 0);
  });

  it('acks but does not emit an envelope that has expired', async () => {
    const { bobStore, bobId } = await queuedForOfflineBob('short-lived', { expiresInSeconds: 1 });
    const bob = track(await clientFor(env.server, { store: bobStore, now: () => Date.now() + 30_000 }));
    const received = inbox(bob);
    await bob.connect();
    expect(received).toHaveLength(0);
    await waitFor(() => env.server.queue(bobId).length === 0);
  });

  it('remembers delivered ids across a restart and forgets them once expired', async () => {
    const { bobStore, bobId, sent } = await queuedForOfflineBob('remember me', { expiresInSeconds: 40 });
    env.server.intercept = ignoreAcks;
    const first = await clientFor(env.server, { store: bobStore });
    const firstReceived = inbox(first);
    await first.connect();
    await first.close();
    expect(firstReceived).toHaveLength(1);
    expect(await bobStore.list('seen/')).toEqual([`seen/${firstReceived[0]!.from}/${sent.id}`]);

    env.server.intercept = null;
    const second = track(await clientFor(env.server, { store: bobStore }));
    const secondReceived = inbox(second);
    await second.connect();
    expect(secondReceived).toHaveLength(0);
    await waitFor(() => env.server.queue(bobId).length === 0);
    await second.close();

    const later = track(await clientFor(env.server, { store: bobStore, now: () => Date.now() + 50_000 }));
    await later.connect();
    expect(await bobStore.list('seen/')).toEqual([]);
  });

  it('verifies a sender identity once, then trusts the cached keys', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    const verify = jest.spyOn(nacl.sign.detached, 'verify');
    for (let i = 0; i < 3; i++) await alice.send(bob.userId, `n${i}`);
    await waitFor(() => received.length === 3);
    // Alice checks Bob's identity and signed prekey once per bundle; Bob checks the identity in
    // Alice's first prekey message, then recognises it in the next two.
    expect(verify).toHaveBeenCalledTimes(3);
    verify.mockRestore();
  });

  it('ignores garbage frames and keeps working', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const [connection] = env.server.live(bob.userId);
    connection!.socket.send('not json');
    connection!.socket.send('[1,2]');
    connection!.send({ type: 'message', id: 'x' });
    connection!.send({ type: 'result', rid: 'nobody', oneTimePrekeys: 1 });
    connection!.send({ type: 'error', rid: null, code: 'BAD_REQUEST', message: 'bad frame', retryable: false });
    connection!.send({ type: 'surprise' });
    const alice = track(await connected(env.server));
    await alice.send(bob.userId, 'still here');
    await waitFor(() => received.length === 1);
  });

  it('emits service notices', async () => {
    const bob = track(await connected(env.server));
    const notices: ServiceNotice[] = [];
    bob.on('notice', (n) => notices.push(n));
    const schedule = { signupsCloseAt: 1, readOnlyAt: 2, shutdownAt: null, purgeAt: null, noticeUrl: 'https://example.com', message: 'bye' };
    env.server.live(bob.userId)[0]!.send({ type: 'notice', phase: 'read-only', schedule, serverTime: 3 });
    env.server.live(bob.userId)[0]!.send({ type: 'notice', phase: 'nonsense', schedule, serverTime: 3 });
    await waitFor(() => notices.length === 1);
    expect(notices[0]).toEqual({ phase: 'read-only', schedule, serverTime: 3 });
  });
});
