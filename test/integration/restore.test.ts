import { EbbClient, MemoryStore, type KeyStore } from '../../client-sdk/src';
import { decodeWireMessage } from '../../client-sdk/src/crypto/envelope';
import { decodeHeader } from '../../client-sdk/src/crypto/ratchet';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { inbox, until } from '../support/sdk';
import { sdkSuite } from '../support/local-stack';

// Archives here are about what they carry, not their cost: sealed at a test-only cheap N (test/support/cheap-archives.ts).
jest.mock('../../client-sdk/src/archive/format', () => jest.requireActual('../support/cheap-archives').cheapArchiveFormat());

/**
 * A device restored from an older copy of itself, on the same deployment, against the local stack:
 * every ciphertext it and its original queued for the peer is read straight from the queue table, and
 * no two may share a ratchet header (ratchet key and counter), i.e. a message key and keystream.
 */

const PASSPHRASE = 'the same keys, never the same key twice';
const N = 3;

async function copyOf(store: KeyStore): Promise<MemoryStore> {
  const copy = new MemoryStore();
  for (const key of await store.list('')) await copy.set(key, (await store.get(key))!);
  return copy;
}

describe('restoring a device on the same deployment', () => {
  // These tests count the ratchet headers queued for Bob: a receipt in flight would add one.
  const env = sdkSuite({}, { receipts: false });

  /** "ratchet key:counter" of each ciphertext queued for `user`'s device 1, in queue order. */
  async function queuedHeaders(user: string): Promise<string[]> {
    const page = await env.stack.ports.queue.page({ userId: user, device: 1 }, null, 100, Date.now());
    return page.messages.map((m) => {
      const header = decodeHeader(decodeWireMessage(fromBase64Url(m.ciphertext))!.header)!;
      return `${toBase64Url(header.dh)}:${header.n}`;
    });
  }

  async function restoredClient(store: KeyStore): Promise<EbbClient> {
    return EbbClient.create({ url: env.stack.url, store, timeoutMs: 10_000, receipts: false });
  }

  it('an archive restored while the original kept sending repeats no ratchet header, and the peer reads both intact', async () => {
    const aliceStore = new MemoryStore();
    const alice = await env.client(aliceStore);
    const bobStore = new MemoryStore();
    const bob = await env.client(bobStore);
    await Promise.all([alice.connect(), bob.connect()]);
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    const changes: string[] = [];
    bob.on('identityChanged', (e) => changes.push(e.userId));
    await alice.send(bob.userId, 'hello');
    await until(() => bobInbox.length === 1, 'hello');
    await bob.send(alice.userId, 'hi');
    await until(() => aliceInbox.length === 1, 'hi');
    const safety = await bob.safetyNumber(alice.userId);

    const archive = await alice.exportArchive(PASSPHRASE);
    await bob.close(); // offline, so both copies' messages wait side by side in its queue
    for (let i = 0; i < N; i++) await alice.send(bob.userId, `original ${i}`);
    await alice.close();

    const restored = await EbbClient.importArchive(archive, PASSPHRASE, { url: env.stack.url, store: new MemoryStore(), timeoutMs: 10_000 });
    await restored.connect();
    for (let i = 0; i < N; i++) await restored.send(bob.userId, `restored ${i}`);

    const headers = await queuedHeaders(bob.userId);
    expect(headers).toHaveLength(2 * N);
    expect(new Set(headers).size).toBe(2 * N);

    const bobAgain = await restoredClient(bobStore);
    bobAgain.on('identityChanged', (e) => changes.push(e.userId));
    const bobAgainInbox = inbox(bobAgain);
    await bobAgain.connect();
    await until(() => bobAgainInbox.length === 2 * N, 'both copies to be read');
    expect(bobAgainInbox.map((m) => m.text).sort()).toEqual(
      [...[0, 1, 2].map((i) => `original ${i}`), ...[0, 1, 2].map((i) => `restored ${i}`)].sort(),
    );
    expect(bobAgainInbox.every((m) => m.identityChanged === undefined)).toBe(true);
    expect(changes).toEqual([]);
    expect(await bobAgain.safetyNumber(alice.userId)).toBe(safety);

    const restoredInbox = inbox(restored);
    await bobAgain.send(alice.userId, 'welcome back');
    await until(() => restoredInbox.length === 1, 'the reply');
    expect(restoredInbox[0]).toMatchObject({ text: 'welcome back' });
    await Promise.all([restored.close(), bobAgain.close()]);
  });

  it('a store copied back from a snapshot is caught on connect and starts new sessions', async () => {
    const options = { signedPrekeyRotationMs: 1, receipts: false }; // each connect publishes a newer signed prekey
    const aliceStore = new MemoryStore();
    const alice = await EbbClient.create({ url: env.stack.url, store: aliceStore, timeoutMs: 10_000, ...options });
    const bobStore = new MemoryStore();
    const bob = await env.client(bobStore);
    await Promise.all([alice.connect(), bob.connect()]);
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    await alice.send(bob.userId, 'hello');
    await until(() => bobInbox.length === 1, 'hello');
    await bob.send(alice.userId, 'hi');
    await until(() => aliceInbox.length === 1, 'hi');
    await Promise.all([alice.close(), bob.close()]);
    const snapshot = await copyOf(aliceStore);

    const ranOn = await EbbClient.create({ url: env.stack.url, store: aliceStore, timeoutMs: 10_000, ...options });
    await ranOn.connect();
    for (let i = 0; i < N; i++) await ranOn.send(bob.userId, `ran on ${i}`);
    await ranOn.close();

    const rolledBack = await EbbClient.create({ url: env.stack.url, store: snapshot, timeoutMs: 10_000, ...options });
    await rolledBack.connect();
    for (let i = 0; i < N; i++) await rolledBack.send(bob.userId, `rolled back ${i}`);
    await rolledBack.close();

    const headers = await queuedHeaders(bob.userId);
    expect(headers).toHaveLength(2 * N);
    expect(new Set(headers).size).toBe(2 * N);

    const bobAgain = await restoredClient(bobStore);
    const bobAgainInbox = inbox(bobAgain);
    await bobAgain.connect();
    await until(() => bobAgainInbox.length === 2 * N, 'both copies to be read');
    expect(bobAgainInbox.map((m) => m.text).sort()).toEqual(
      [...[0, 1, 2].map((i) => `ran on ${i}`), ...[0, 1, 2].map((i) => `rolled back ${i}`)].sort(),
    );
    await bobAgain.close();
  });
});
