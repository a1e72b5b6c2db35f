import nacl from 'tweetnacl';
import { EbbError, type IdentityChangedEvent, MemoryStore } from '../../client-sdk/src';
import { signIdentityKey } from '../../client-sdk/src/identity/keys';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { FakeServer } from './fake-server';
import { clientFor, connected, inbox, rejectionOf, waitFor, fakeServerSuite } from './helpers';

const DAY_MS = 86_400_000;

/** Version and kind bytes of each ciphertext `user` sent, in order. */
function kinds(server: FakeServer, user: string): number[] {
  return server.framesOf(user, 'send').map((f) => fromBase64Url(f.messages[0].ciphertext)[1]!);
}

describe('sessions', () => {
  const env = fakeServerSuite({ clock: true });
  const { track, clock } = env;

  it('sends the X3DH header with every message until the first reply, then plain ratchet messages', async () => {
    const bobStore = new MemoryStore();
    const bob = track(await connected(env.server, { store: bobStore, now: clock.now }));
    const alice = track(await connected(env.server, { now: clock.now }));
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    const oneTimeBefore = (await bobStore.list('prekeys/one-time/')).length;

    await alice.send(bob.userId, 'one');
    await alice.send(bob.userId, 'two');
    await waitFor(() => bobInbox.length === 2);
    const [first, second] = env.server.framesOf(alice.userId, 'send').map((f) => fromBase64Url(f.messages[0].ciphertext));
    expect([first![0], first![1], second![1]]).toEqual([2, 1, 1]);
    // The same X3DH header (identity keys, ephemeral key, prekey ids) on both.
    expect(second!.subarray(0, 170)).toEqual(first!.subarray(0, 170));
    // Bob used up the one-time prekey and deleted its private half.
    expect((await bobStore.list('prekeys/one-time/')).length).toBe(oneTimeBefore - 1);

    await bob.send(alice.userId, 'reply');
    await waitFor(() => aliceInbox.length === 1);
    await alice.send(bob.userId, 'three');
    await waitFor(() => bobInbox.length === 3);
    expect(kinds(env.server, alice.userId)).toEqual([1, 1, 0]);
    expect(kinds(env.server, bob.userId)).toEqual([0]);
    expect(bobInbox.map((m) => m.text)).toEqual(['one', 'two', 'three']);
  });

  it('starts a session without a one-time prekey when the recipient has none left', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    env.server.prekeys.get(`${bob.userId}#1`)!.oneTime.length = 0;
    const alice = track(await connected(env.server));
    await alice.send(bob.userId, 'weaker, still private');
    await waitFor(() => received.length === 1);
    const ciphertext = fromBase64Url(env.server.framesOf(alice.userId, 'send')[0].messages[0].ciphertext);
    expect([...ciphertext.subarray(166, 170)]).toEqual([255, 255, 255, 255]);
  });

  it('opens messages out of order, hands them over in send order, and refuses a replayed ciphertext without harm', async () => {
    const bobStore = new MemoryStore();
    const offline = await connected(env.server, { store: bobStore });
    await offline.close();
    const alice = track(await connected(env.server));
    for (const text of ['m0', 'm1', 'm2', 'm3']) await alice.send(offline.userId, text);
    const queue = env.server.queue(offline.userId);
    env.server.queues.set(`${offline.userId}#1`, [queue[2]!, queue[0]!, queue[3]!, queue[1]!]);

    const bob = track(await clientFor(env.server, { store: bobStore }));
    const received = inbox(bob);
    await bob.connect();
    // The ratchet opens each as it comes; the sender's sequence numbers restore the order for the app.
    expect(received.map((m) => m.text)).toEqual(['m0', 'm1', 'm2', 'm3']);

    // Forget that m0 was seen, then replay it: the ratchet itself refuses it.
    for (const key of await bobStore.list('seen/')) await bobStore.delete(key);
    env.server.push(bob.userId, 1, queue[0]!);
    await alice.send(bob.userId, 'm4');
    await waitFor(() => received.length === 5);
    expect(received.map((m) => m.text)).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
  });

  it('keeps both ratchets in step when both sides start sessions and send at once', async () => {
    const alice = track(await connected(env.server));
    const bob = track(await connected(env.server));
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    const rounds = 4;
    for (let round = 0; round < rounds; round++) {
      await Promise.all([
        alice.send(bob.userId, `a${round}.0`),
        bob.send(alice.userId, `b${round}.0`),
        alice.send(bob.userId, `a${round}.1`),
        bob.send(alice.userId, `b${round}.1`),
      ]);
    }
    await waitFor(() => aliceInbox.length === 2 * rounds && bobInbox.length === 2 * rounds);
    expect(bobInbox.map((m) => m.text)).toEqual(Array.from({ length: rounds }, (_, r) => [`a${r}.0`, `a${r}.1`]).flat());
    expect(aliceInbox.map((m) => m.text)).toEqual(Array.from({ length: rounds }, (_, r) => [`b${r}.0`, `b${r}.1`]).flat());
  });

  it('replaces a session when the peer starts a new one (reinstalled with the same identity)', async () => {
    const bobStore = new MemoryStore();
    const bob = await connected(env.server, { store: bobStore });
    const alice = track(await connected(env.server));
    const aliceInbox = inbox(alice);
    await alice.send(bob.userId, 'before');
    await bob.send(alice.userId, 'ack');
    await waitFor(() => aliceInbox.length === 1);
    await bob.close();

    // Only the identity survives the reinstall: sessions and prekeys are gone.
    const restored = new MemoryStore();
    for (const key of ['identity', 'account/registered']) await restored.set(key, (await bobStore.get(key))!);
    env.server.prekeys.delete(`${bob.userId}#1`);
    const bobAgain = track(await connected(env.server, { store: restored }));
    const bobInbox = inbox(bobAgain);
    await bobAgain.send(alice.userId, 'I am back');
    await waitFor(() => aliceInbox.length === 2);
    expect(aliceInbox[1]).toMatchObject({ text: 'I am back' });
    expect(aliceInbox[1]!.identityChanged).toBeUndefined();
    await alice.send(bob.userId, 'welcome back');
    await waitFor(() => bobInbox.length === 1);
    expect(bobInbox[0]!.text).toBe('welcome back');
  });

  it('rotates the signed prekey after the rotation period and still opens first messages to the old one within the grace period', async () => {
    const bobStore = new MemoryStore();
    const options = { store: bobStore, now: clock.now };
    const first = await connected(env.server, options);
    const bobId = first.userId;
    await first.close();
    const firstSigned = env.server.framesOf(bobId, 'keys.publish')[0].signedPrekey;
    const alice = track(await connected(env.server, { now: clock.now }));
    await alice.send(bobId, 'sent to the old signed prekey');
    const held = env.server.queue(bobId);
    env.server.queues.set(`${bobId}#1`, []);

    clock.t += 6 * DAY_MS;
    await (await connected(env.server, options)).close();
    expect(env.server.framesOf(bobId, 'keys.publish')).toHaveLength(1);
    env.server.queues.set(`${bobId}#1`, held);

    clock.t += 2 * DAY_MS;
    const bob = await clientFor(env.server, options);
    const received = inbox(bob);
    await bob.connect();
    const publishes = env.server.framesOf(bobId, 'keys.publish');
    expect(publishes).toHaveLength(2);
    expect(publishes[1].signedPrekey.keyId).not.toBe(firstSigned.keyId);
    expect(publishes[1].oneTimePrekeys).toBeUndefined();
    expect(env.server.prekeys.get(`${bobId}#1`)!.signed!.keyId).toBe(publishes[1].signedPrekey.keyId);
    // The handshake rotated before draining: the queued first message used the retired key.
    expect(received.map((m) => m.text)).toEqual(['sent to the old signed prekey']);
    expect(await bobStore.get(`prekeys/signed/${firstSigned.keyId}`)).toBeDefined();
    await bob.close();

    clock.t += 31 * DAY_MS;
    await (await connected(env.server, options)).close();
    expect(await bobStore.get(`prekeys/signed/${firstSigned.keyId}`)).toBeUndefined();
    expect(await bobStore.list('prekeys/signed/')).toHaveLength(2); // the current one, and the one it replaced
  });

  it('refuses a first message to a signed prekey retired longer than the grace period', async () => {
    const bobStore = new MemoryStore();
    const options = { store: bobStore, now: clock.now, signedPrekeyRotationMs: DAY_MS, signedPrekeyGraceMs: DAY_MS };
    const first = await connected(env.server, options);
    await first.close();
    const alice = track(await connected(env.server, { now: clock.now }));
    await alice.send(first.userId, 'too late');
    const held = env.server.queue(first.userId);
    env.server.queues.set(`${first.userId}#1`, []);
    clock.t += 1.5 * DAY_MS;
    await (await connected(env.server, options)).close(); // rotates: the first signed prekey is retired
    expect(env.server.framesOf(first.userId, 'keys.publish')).toHaveLength(2);
    clock.t += 1.5 * DAY_MS;
    env.server.queues.set(`${first.userId}#1`, held);
    const bob = track(await clientFor(env.server, options));
    const received = inbox(bob);
    await bob.connect();
    expect(received).toEqual([]);
    await waitFor(() => env.server.queue(first.userId).length === 0); // dropped, and acked
  });

  describe('identity changes', () => {
    /** A store for `userId` with the same signing key but a new X25519 identity key; the server is told as if it accepted a re-registration. */
    async function newIdentityFor(store: MemoryStore, userId: string): Promise<MemoryStore> {
      const saved = JSON.parse((await store.get('identity'))!) as { signingSeed: string; identitySecretKey: string };
      const box = nacl.box.keyPair();
      const signing = nacl.sign.keyPair.fromSeed(fromBase64Url(saved.signingSeed));
      const account = env.server.accounts.get(userId)!;
      account.identityKey = toBase64Url(box.publicKey);
      account.identitySig = toBase64Url(signIdentityKey(box.publicKey, signing.secretKey));
      env.server.prekeys.delete(`${userId}#1`);
      const next = new MemoryStore();
      await next.set('identity', JSON.stringify({ ...saved, identitySecretKey: toBase64Url(box.secretKey) }));
      await next.set('account/registered', '1');
      return next;
    }

    it('emits identityChanged for a message from a new identity key and blocks sends until acceptIdentity', async () => {
      const bobStore = new MemoryStore();
      const bob = await connected(env.server, { store: bobStore });
      const alice = track(await connected(env.server));
      const aliceInbox = inbox(alice);
      const changes: IdentityChangedEvent[] = [];
      alice.on('identityChanged', (e) => changes.push(e));
      await alice.send(bob.userId, 'hello');
      const before = await alice.safetyNumber(bob.userId);
      expect(await bob.safetyNumber(alice.userId)).toBe(before);
      await bob.close();

      const bobNew = track(await connected(env.server, { store: await newIdentityFor(bobStore, bob.userId) }));
      expect(bobNew.userId).toBe(bob.userId);
      const bobInbox = inbox(bobNew);
      await bobNew.send(alice.userId, 'new phone, same me');
      await waitFor(() => aliceInbox.length === 1);
      expect(changes).toEqual([{ userId: bob.userId }]);
      expect(aliceInbox[0]).toMatchObject({ text: 'new phone, same me', identityChanged: true });

      const err = await rejectionOf(alice.send(bob.userId, 'blocked'));
      expect(EbbError.is(err, 'FORBIDDEN')).toBe(true);
      expect(err).toMatchObject({ retryable: false, message: expect.stringMatching(/identity key .* changed.*acceptIdentity/) });
      const after = await alice.safetyNumber(bob.userId);
      expect(after).not.toBe(before);
      expect(await bobNew.safetyNumber(alice.userId)).toBe(after);

      await alice.acceptIdentity(bob.userId);
      await alice.send(bob.userId, 'welcome back');
      await waitFor(() => bobInbox.length === 1);
      expect(bobInbox[0]!.text).toBe('welcome back');
      await bobNew.send(alice.userId, 'thanks');
      await waitFor(() => aliceInbox.length === 2);
      expect(aliceInbox[1]!.identityChanged).toBeUndefined();
      expect(changes).toHaveLength(1);
    });

    it('emits identityChanged when a bundle shows a new identity key, once, and refuses to send', async () => {
      const bobStore = new MemoryStore();
      const bob = await connected(env.server, { store: bobStore });
      const aliceStore = new MemoryStore();
      const alice = track(await connected(env.server, { store: aliceStore }));
      const changes: IdentityChangedEvent[] = [];
      alice.on('identityChanged', (e) => changes.push(e));
      await alice.send(bob.userId, 'hello');
      await bob.close();
      const bobNew = track(await connected(env.server, { store: await newIdentityFor(bobStore, bob.userId) }));
      const bobInbox = inbox(bobNew);

      // Alice loses her session, so her next send needs Bob's bundle, which shows the new key.
      await aliceStore.delete(`sessions/${bob.userId}/1`);
      for (let i = 0; i < 2; i++) await expect(alice.send(bob.userId, 'x')).rejects.toMatchObject({ code: 'FORBIDDEN', retryable: false });
      expect(changes).toEqual([{ userId: bob.userId }]);
      expect(env.server.framesOf(alice.userId, 'send')).toHaveLength(1);

      await alice.acceptIdentity(bob.userId);
      await alice.send(bob.userId, 'accepted');
      await waitFor(() => bobInbox.length === 1);
    });
  });
});
