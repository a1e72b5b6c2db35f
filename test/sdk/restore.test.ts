import { EbbClient, type KeyStore, MemoryStore, type ReceivedMessage } from '../../client-sdk/src';
import { decodeWireMessage } from '../../client-sdk/src/crypto/envelope';
import { decodeHeader } from '../../client-sdk/src/crypto/ratchet';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import type { Envelope } from '../../protocol/frames';
import type { FakeServer } from './fake-server';
import { FAST_RECONNECT, clientFor, connected, inbox, waitFor as waitBriefly, fakeServerSuite } from './helpers';

// Archives here are about what they carry, not their cost: sealed at a test-only cheap N (test/support/cheap-archives.ts).
jest.mock('../../client-sdk/src/archive/format', () => jest.requireActual('../support/cheap-archives').cheapArchiveFormat());

/**
 * A device brought back from an older copy of its store (an archive import, a file backup, a VM
 * snapshot) must never send from a ratchet position its newer self may have used: same header, same
 * message key, same XSalsa20 keystream. These tests play the attack and inspect every ciphertext sent.
 */

const PASSPHRASE = 'restore without repeating a key';
const N = 3;

/** "ratchet key:counter" of every ciphertext `user` sent to `to`, as the server received them. */
function headersSent(server: FakeServer, user: string, to: string): string[] {
  return server
    .framesOf(user, 'send')
    .filter((f) => f.to === to)
    .flatMap((f) => f.messages as Array<{ ciphertext: string }>)
    .map(({ ciphertext }) => {
      const header = decodeHeader(decodeWireMessage(fromBase64Url(ciphertext))!.header)!;
      return `${toBase64Url(header.dh)}:${header.n}`;
    });
}

async function copyOf(store: KeyStore): Promise<MemoryStore> {
  const copy = new MemoryStore();
  for (const key of await store.list('')) await copy.set(key, (await store.get(key))!);
  return copy;
}

/** Generous: these tests run many X3DH and scrypt rounds on a shared machine. */
function waitFor(condition: () => boolean): Promise<void> {
  return waitBriefly(condition, 10_000);
}

function texts(messages: ReceivedMessage[]): string[] {
  return messages.map((m) => m.text!);
}

describe('restoring an older copy of a device', () => {
  const env = fakeServerSuite({ clock: true });
  const { track, clock } = env;
  // These tests count the ratchet headers Alice sends: receipts would add some.
  const quiet = { receipts: false } as const;

  /** Alice and Bob with a session answered both ways; Bob's inbox and identity events from then on. */
  async function talking(aliceOptions = {}) {
    const aliceStore = new MemoryStore();
    const alice = await connected(env.server, { store: aliceStore, now: clock.now, ...quiet, ...aliceOptions });
    const bob = track(await connected(env.server, { now: clock.now }));
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    const identityEvents: string[] = [];
    bob.on('identityChanged', (e) => identityEvents.push(e.userId));
    await alice.send(bob.userId, 'hello');
    await waitFor(() => bobInbox.length === 1);
    await bob.send(alice.userId, 'hi');
    await waitFor(() => aliceInbox.length === 1);
    const safety = await bob.safetyNumber(alice.userId);
    return { alice, aliceStore, aliceInbox, bob, bobInbox, identityEvents, safety };
  }

  it('an imported archive never sends from a ratchet position the original used; the peer takes the new session without a warning', async () => {
    const { alice, bob, bobInbox, identityEvents, safety } = await talking();
    const archive = await alice.exportArchive(PASSPHRASE);
    for (let i = 0; i < N; i++) await alice.send(bob.userId, `original ${i}`);
    await waitFor(() => bobInbox.length === 1 + N);
    await alice.close();

    const restoredStore = new MemoryStore();
    const restored = track(
      await EbbClient.importArchive(archive, PASSPHRASE, { url: env.server.url, store: restoredStore, now: clock.now, reconnect: FAST_RECONNECT }),
    );
    const restoredInbox = inbox(restored);
    await restored.connect();
    for (let i = 0; i < N; i++) await restored.send(bob.userId, `restored ${i}`);

    const headers = headersSent(env.server, alice.userId, bob.userId);
    expect(headers).toHaveLength(1 + 2 * N);
    expect(new Set(headers).size).toBe(headers.length);
    await waitFor(() => bobInbox.length === 1 + 2 * N);
    // The restored copy started over with X3DH: its first message is a prekey message.
    const restoredFirst = fromBase64Url(env.server.framesOf(alice.userId, 'send')[1 + N].messages[0].ciphertext);
    expect(restoredFirst[1]).toBe(1);

    expect(texts(bobInbox)).toEqual(['hello', ...[0, 1, 2].map((i) => `original ${i}`), ...[0, 1, 2].map((i) => `restored ${i}`)]);
    expect(bobInbox.every((m) => m.identityChanged === undefined)).toBe(true);
    expect(identityEvents).toEqual([]);
    expect(await bob.safetyNumber(alice.userId)).toBe(safety);
    expect(await restored.safetyNumber(bob.userId)).toBe(safety);

    // Bob answers on the new session, and the restored device reads it.
    await bob.send(alice.userId, 'welcome back');
    await waitFor(() => restoredInbox.length === 1);
    expect(restoredInbox[0]).toMatchObject({ text: 'welcome back' });
    expect(restoredInbox[0]!.identityChanged).toBeUndefined();
  });

  it('a store copied back from a snapshot is caught by the signed prekey the server holds, and starts over the same way', async () => {
    // Every connect rotates the signed prekey, so the copy that ran on leaves a newer one on the server.
    const rotating = { signedPrekeyRotationMs: 1 };
    const { alice, aliceStore, bob, bobInbox, identityEvents } = await talking(rotating);
    await alice.close();
    const snapshot = await copyOf(aliceStore);

    clock.t += 1000;
    const ranOn = await connected(env.server, { store: aliceStore, now: clock.now, ...quiet, ...rotating });
    for (let i = 0; i < N; i++) await ranOn.send(bob.userId, `ran on ${i}`);
    await waitFor(() => bobInbox.length === 1 + N);
    await ranOn.close();

    clock.t += 1000;
    const rolledBack = track(await clientFor(env.server, { store: snapshot, now: clock.now, ...quiet, ...rotating }));
    const rolledBackInbox = inbox(rolledBack);
    await rolledBack.connect();
    for (let i = 0; i < N; i++) await rolledBack.send(bob.userId, `rolled back ${i}`);

    const headers = headersSent(env.server, alice.userId, bob.userId);
    expect(headers).toHaveLength(1 + 2 * N);
    expect(new Set(headers).size).toBe(headers.length);
    await waitFor(() => bobInbox.length === 1 + 2 * N);
    expect(texts(bobInbox).slice(1 + N)).toEqual([0, 1, 2].map((i) => `rolled back ${i}`));
    expect(identityEvents).toEqual([]);

    // Its new prekey ids start past every id the copy that ran on published: none is handed out twice.
    const published = env.server
      .framesOf(alice.userId, 'keys.publish')
      .flatMap((f) => [
        ...(f.signedPrekey ? [f.signedPrekey.keyId as number] : []),
        ...((f.oneTimePrekeys ?? []) as Array<{ keyId: number }>).map((k) => k.keyId),
      ]);
    expect(new Set(published).size).toBe(published.length);

    await bob.send(alice.userId, 'still here');
    await waitFor(() => rolledBackInbox.length === 1);
    expect(rolledBackInbox[0]).toMatchObject({ text: 'still here' });
  });

  it('a store that is not behind the server keeps its sessions across reconnects', async () => {
    const { alice, aliceStore, bob, bobInbox } = await talking();
    await alice.close();
    const again = track(await connected(env.server, { store: aliceStore, now: clock.now }));
    await again.send(bob.userId, 'same session');
    await waitFor(() => bobInbox.length === 2);
    const last = fromBase64Url(env.server.framesOf(alice.userId, 'send').at(-1).messages[0].ciphertext);
    expect(last[1]).toBe(0); // a plain ratchet message: no new X3DH
  });

  it('a replayed first message cannot rebuild a session the recipient has let go of, nor replace the one in use', async () => {
    // No one-time prekeys: X3DH then rests on the signed prekey alone, which still opens the header.
    const bobStore = new MemoryStore();
    const bobOffline = await connected(env.server, { store: bobStore, now: clock.now });
    const bobId = bobOffline.userId;
    await bobOffline.close();
    env.server.prekeys.get(`${bobId}#1`)!.oneTime.length = 0;
    const aliceStore = new MemoryStore();
    const alice = track(await connected(env.server, { store: aliceStore, now: clock.now }));
    const aliceInbox = inbox(alice);
    await alice.send(bobId, 'first session', { expiresInSeconds: 60 });
    const [captured] = env.server.queue(bobId);

    // No receipts: a receipt is a send that moves Bob's session on, which the check below must not see; the
    // acks would otherwise wait for it (ARCH §6.5).
    const bob = track(await clientFor(env.server, { store: bobStore, now: clock.now, receipts: false }));
    const bobInbox = inbox(bob);
    await bob.connect();
    expect(texts(bobInbox)).toEqual(['first session']);

    // Alice starts a second session (her first is gone), which Bob now answers on.
    await aliceStore.delete(`sessions/${bobId}/1`);
    await alice.send(bobId, 'second session');
    await waitFor(() => bobInbox.length === 2);
    // Bob lets go of the first (as after MAX_PREVIOUS_SESSIONS newer ones), and of its seen id once expired.
    const sessionKey = `sessions/${alice.userId}/1`;
    const record = JSON.parse((await bobStore.get(sessionKey))!);
    await bobStore.set(sessionKey, JSON.stringify({ ...record, previous: [] }));
    clock.t += 120_000;
    for (const key of await bobStore.list('seen/')) await bobStore.delete(key);
    const before = await bobStore.get(sessionKey);

    // The server replays the first message, freshly dated so that it would be shown.
    const to = { user: bobId, device: 1 };
    const replay: Envelope = {
      ...captured!,
      sentAt: clock.t,
      expiresAt: clock.t + 60_000,
      frank: env.server.frank(captured!.frank.commitment, captured!.from, to, clock.t, captured!.id),
    };
    env.server.deliver(bobId, 1, replay);
    await waitFor(() => env.server.queue(bobId).length === 0);
    expect(texts(bobInbox)).toEqual(['first session', 'second session']);
    expect(await bobStore.get(sessionKey)).toBe(before);

    await bob.send(alice.userId, 'on the session in use');
    await waitFor(() => aliceInbox.length === 1);
    expect(texts(aliceInbox)).toEqual(['on the session in use']);
  });

  it('a late message on a superseded session does not steer replies back to it', async () => {
    const { alice, aliceInbox, bob, bobInbox } = await talking();
    const archive = await alice.exportArchive(PASSPHRASE);
    // The original ratchets on after the export, to a ratchet key the archive does not hold.
    await alice.send(bob.userId, 'after the export');
    await waitFor(() => bobInbox.length === 2);
    await bob.send(alice.userId, 'seen');
    await waitFor(() => aliceInbox.length === 2);
    // Its next message is held back by the server until after the restored device's first.
    env.server.skipPush = (user) => user === bob.userId;
    await alice.send(bob.userId, 'late');
    const queued = env.server.queue(bob.userId);
    const late = queued.at(-1); // earlier ones may wait for Bob's batched ack
    env.server.queues.set(`${bob.userId}#1`, queued.slice(0, -1));
    env.server.skipPush = null;
    await alice.close();

    const restored = track(
      await EbbClient.importArchive(archive, PASSPHRASE, {
        url: env.server.url,
        store: new MemoryStore(),
        now: clock.now,
        reconnect: FAST_RECONNECT,
      }),
    );
    const restoredInbox = inbox(restored);
    await restored.connect();
    await restored.send(bob.userId, 'from the restored device');
    await waitFor(() => bobInbox.length === 3);
    env.server.deliver(bob.userId, 1, late!);
    await waitFor(() => bobInbox.length === 4);
    expect(bobInbox[3]).toMatchObject({ text: 'late' });

    await bob.send(alice.userId, 'reply');
    await waitFor(() => restoredInbox.length === 1);
    expect(restoredInbox[0]).toMatchObject({ text: 'reply' });
  });
});
