import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { EbbClient, EbbError, FileStore, type KeyStore, MemoryStore } from '../../client-sdk/src';
import type * as ArchiveFormat from '../../client-sdk/src/archive/format';
import { PREKEY_ID_JUMP } from '../../client-sdk/src/session/rollback';
import { fromBase64Url } from '../../protocol/base64url';
import oldArchive from '../fixtures/archive-v1-logn15.json';
import { TEST_LOG_N, atProductionCost } from '../support/cheap-archives';
import { FakeServer } from './fake-server';
import { FAST_RECONNECT, connected, inbox, rejectionOf, waitFor } from './helpers';

// The client seals at a test-only cheap N and opens from it up, but in the tests that say `atProductionCost`.
jest.mock('../../client-sdk/src/archive/format', () => jest.requireActual('../support/cheap-archives').cheapArchiveFormat());
/** The real functions, with their production defaults, for the tests' own calls. */
const { openArchive, sealArchive } = jest.requireActual<typeof ArchiveFormat>('../../client-sdk/src/archive/format');

const PASSPHRASE = 'correct horse battery staple';
const UNUSED_URL = 'ws://127.0.0.1:9';

/** Every key and value of `store`. */
async function snapshot(store: KeyStore): Promise<Record<string, string>> {
  const entries: Record<string, string> = {};
  for (const key of (await store.list('')).sort()) entries[key] = (await store.get(key))!;
  return entries;
}

function expectDamaged(err: unknown): void {
  expect(EbbError.is(err, 'BAD_REQUEST')).toBe(true);
  expect(err).toMatchObject({ retryable: false, message: 'wrong passphrase or damaged archive' });
}

/** A client that fails the test if it ever opens a socket. */
async function offlineClient(store: KeyStore = new MemoryStore()): Promise<EbbClient> {
  const client = await EbbClient.create({ url: UNUSED_URL, store, WebSocket: noSockets });
  await store.set('app/history/0001', JSON.stringify({ from: 'someone', text: 'kept by the app' }));
  await store.set('seen/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA/m1', String(Date.now() + 60_000));
  for (let id = 0; id < 20; id++) await store.set(`prekeys/one-time/${id}`, `stand-in-${id}`);
  return client;
}

const noSockets = class {
  constructor() {
    throw new Error('no socket may be opened');
  }
} as unknown as typeof WebSocket;

/** One archive (at the cheap N), shared by the tests that only read it. */
let archive: Uint8Array;
let archived: { userId: string; entries: Record<string, string> };
beforeAll(async () => {
  const store = new MemoryStore();
  const client = await offlineClient(store);
  archive = await client.exportArchive(PASSPHRASE);
  archived = { userId: client.userId, entries: await snapshot(store) };
});

describe('exportArchive / importArchive', () => {
  it('writes the versioned container by default: magic, scrypt N = 2^17, r = 8, p = 1, then salt, nonce and box, and imports it', async () => {
    const client = await offlineClient();
    const production = await atProductionCost(() => client.exportArchive(PASSPHRASE));
    expect(new TextDecoder().decode(production.subarray(0, 8))).toBe('EBBARCH1');
    expect([...production.subarray(8, 11)]).toEqual([17, 8, 1]);
    expect(production.length).toBeGreaterThan(8 + 3 + 16 + 24 + 16);
    const restored = await atProductionCost(() => EbbClient.importArchive(production, PASSPHRASE, { url: UNUSED_URL }));
    expect(restored.userId).toBe(client.userId);
    // Every other test seals at the cheap N, which the production defaults refuse to open.
    expect(archive[8]).toBe(TEST_LOG_N);
    expectDamaged(await rejectionOf(atProductionCost(() => EbbClient.importArchive(archive, PASSPHRASE, { url: UNUSED_URL }))));
  });

  it('restores every store key into an empty MemoryStore, with the same user id, a new session epoch and prekey ids moved on', async () => {
    const store = new MemoryStore();
    const restored = await EbbClient.importArchive(archive, PASSPHRASE, { url: UNUSED_URL, store });
    expect(restored.userId).toBe(archived.userId);
    expect(restored.device).toBe(1);
    const { 'session-epoch': epoch, 'prekeys/next-id': nextId, ...rest } = await snapshot(store);
    const { 'session-epoch': archivedEpoch, 'prekeys/next-id': archivedNextId, ...archivedRest } = archived.entries;
    expect(rest).toEqual(archivedRest);
    expect(epoch).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(epoch).not.toBe(archivedEpoch ?? '');
    expect(Number(nextId)).toBe(Number(archivedNextId ?? 0) + PREKEY_ID_JUMP);
  });

  it('round-trips real sessions through FileStores; the restored account registers on a new deployment and talks on', async () => {
    const [serverA, serverB] = await Promise.all([FakeServer.start(), FakeServer.start()]);
    const dir = await mkdtemp(join(tmpdir(), 'ebb-archive-'));
    const clients: EbbClient[] = [];
    try {
      const aliceStore = new FileStore(join(dir, 'alice'));
      // Without receipts: one arriving between the export and the snapshot would advance a session.
      const alice = await connected(serverA, { store: aliceStore, receipts: false });
      const bob = await connected(serverA, { receipts: false });
      clients.push(alice, bob);
      const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
      await alice.send(bob.userId, 'on A');
      await waitFor(() => bobInbox.length === 1);
      await bob.send(alice.userId, 'reply on A');
      await waitFor(() => aliceInbox.length === 1);
      expect(await aliceStore.get('account/registered')).toBe(serverA.url);

      const bytes = await alice.exportArchive(PASSPHRASE);
      const before = await snapshot(aliceStore);
      const newStore = new FileStore(join(dir, 'alice-moved'));
      const moved = await EbbClient.importArchive(bytes, PASSPHRASE, { url: serverB.url, store: newStore, reconnect: FAST_RECONNECT });
      clients.push(moved);
      const { 'account/registered': _registered, 'session-epoch': _epoch, 'prekeys/next-id': _nextId, ...portable } = before;
      const { 'session-epoch': _newEpoch, 'prekeys/next-id': _newNextId, ...imported } = await snapshot(newStore);
      expect(imported).toEqual(portable);
      expect(Object.keys(portable).filter((k) => k.startsWith('sessions/'))).toEqual([`sessions/${bob.userId}/1`]);

      // The new deployment has never seen the account: pk goes along, and it registers there.
      await moved.connect();
      expect(moved.userId).toBe(alice.userId);
      expect(serverB.upgrades[0]!.query.has('pk')).toBe(true);
      expect(serverB.actions(alice.userId)).toEqual(['hello', 'register', 'keys.count', 'keys.publish', 'fetch']);
      expect(await newStore.get('account/registered')).toBe(serverB.url);

      // Bob moves too (by the same route). Neither resumes the archived session: a new X3DH starts one,
      // with Bob's keys on B, and no identity warning on either side.
      const bobMoved = await EbbClient.importArchive(await bob.exportArchive(PASSPHRASE), PASSPHRASE, {
        url: serverB.url,
        reconnect: FAST_RECONNECT,
      });
      clients.push(bobMoved);
      await bobMoved.connect();
      const movedInbox = inbox(bobMoved);
      const changes: string[] = [];
      for (const c of [moved, bobMoved]) c.on('identityChanged', (e) => changes.push(e.userId));
      await moved.send(bob.userId, 'on B');
      await waitFor(() => movedInbox.length === 1, 10_000);
      expect(movedInbox[0]).toMatchObject({ from: alice.userId, text: 'on B' });
      expect(movedInbox[0]!.identityChanged).toBeUndefined();
      expect(serverB.framesOf(alice.userId, 'keys.bundle')).toHaveLength(1);
      const movedAliceInbox = inbox(moved);
      await bobMoved.send(alice.userId, 'reply on B');
      await waitFor(() => movedAliceInbox.length === 1, 10_000);
      expect(movedAliceInbox[0]).toMatchObject({ from: bob.userId, text: 'reply on B' });
      expect(changes).toEqual([]);
    } finally {
      await Promise.all(clients.map((c) => c.close()));
      await Promise.all([serverA.close(), serverB.close()]);
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('sends pk again when a registered store connects to another deployment', async () => {
    const [serverA, serverB] = await Promise.all([FakeServer.start(), FakeServer.start()]);
    try {
      const store = new MemoryStore();
      await (await connected(serverA, { store })).close();
      const again = await connected(serverA, { store });
      await again.close();
      expect(serverA.upgrades.map((u) => u.query.has('pk'))).toEqual([true, false]);
      expect(await again.exportArchive(PASSPHRASE)).toBeInstanceOf(Uint8Array); // after close(): no request
      expect(serverA.upgrades).toHaveLength(2);
      const elsewhere = await connected(serverB, { store });
      await elsewhere.close();
      expect(serverB.upgrades[0]!.query.has('pk')).toBe(true);
      expect(serverB.actions(again.userId)).toContain('register');
    } finally {
      await Promise.all([serverA.close(), serverB.close()]);
    }
  });

  it('refuses a wrong passphrase with BAD_REQUEST and writes nothing', async () => {
    const store = new MemoryStore();
    expectDamaged(await rejectionOf(EbbClient.importArchive(archive, 'correct horse battery stapler', { url: UNUSED_URL, store })));
    expect(await store.list('')).toEqual([]);
  });

  it('refuses an archive with any byte changed, or cut short, and writes nothing', async () => {
    const store = new MemoryStore();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: archive.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const damaged = archive.slice();
        damaged[at]! ^= mask;
        expectDamaged(await rejectionOf(EbbClient.importArchive(damaged, PASSPHRASE, { url: UNUSED_URL, store })));
        expect(await store.list('')).toEqual([]);
      }),
      { numRuns: 100 },
    );
    for (const length of [0, 10, 40, archive.length - 1]) {
      expectDamaged(await rejectionOf(EbbClient.importArchive(archive.subarray(0, length), PASSPHRASE, { url: UNUSED_URL, store })));
    }
    expect(await store.list('')).toEqual([]);
  });

  it('rejects every flipped byte of a container (at a test-only cheap N, which imports refuse)', async () => {
    const contents = new TextEncoder().encode('{"any":"contents"}');
    const cheap = await sealArchive(contents, PASSPHRASE, { logN: 4 });
    expect(await openArchive(cheap, PASSPHRASE, { minLogN: 4 })).toEqual(contents);
    expect(await openArchive(cheap, PASSPHRASE)).toBeNull();
    await fc.assert(
      fc.asyncProperty(fc.nat({ max: cheap.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, mask) => {
        const damaged = cheap.slice();
        damaged[at]! ^= mask;
        expect(await openArchive(damaged, PASSPHRASE, { minLogN: 4 })).toBeNull();
      }),
      { numRuns: 300 },
    );
    expectDamaged(await rejectionOf(EbbClient.importArchive(cheap, PASSPHRASE, { url: UNUSED_URL })));
  });

  it('refuses well-sealed contents that are not an account archive', async () => {
    const notAnAccount = await sealArchive(new TextEncoder().encode('{"format":"ebb-archive","version":1}'), PASSPHRASE, { logN: TEST_LOG_N });
    const store = new MemoryStore();
    expectDamaged(await rejectionOf(EbbClient.importArchive(notAnAccount, PASSPHRASE, { url: UNUSED_URL, store })));
    expect(await store.list('')).toEqual([]);
  });

  it('refuses to import into a store that is not empty, leaving it as it was', async () => {
    const store = new MemoryStore();
    await store.set('anything', 'x');
    const err = await rejectionOf(EbbClient.importArchive(archive, PASSPHRASE, { url: UNUSED_URL, store }));
    expect(EbbError.is(err, 'CONFLICT')).toBe(true);
    expect(err).toMatchObject({ retryable: false });
    expect(await snapshot(store)).toEqual({ anything: 'x' });
  });

  it('refuses a device number other than the archived one', async () => {
    const err = await rejectionOf(EbbClient.importArchive(archive, PASSPHRASE, { url: UNUSED_URL, device: 2 }));
    expect(err).toMatchObject({ code: 'BAD_REQUEST', retryable: false });
  });

  it('deletes what it wrote when the store fails midway; a store that cannot even roll back is refused by create()', async () => {
    const failing = new FailingStore(5);
    const err = await rejectionOf(EbbClient.importArchive(archive, PASSPHRASE, { url: UNUSED_URL, store: failing }));
    expect(err).toMatchObject({ code: 'INTERNAL', retryable: true });
    expect(await failing.list('')).toEqual([]);

    const stuck = new FailingStore(5, { deletes: true });
    await rejectionOf(EbbClient.importArchive(archive, PASSPHRASE, { url: UNUSED_URL, store: stuck }));
    expect(await stuck.get('archive/importing')).toBeDefined();
    stuck.healed = true;
    const refused = await rejectionOf(EbbClient.create({ url: UNUSED_URL, store: stuck }));
    expect(refused).toMatchObject({ code: 'INTERNAL', retryable: false });
  });

  it('exports without any connection: never connected, and after close()', async () => {
    const store = new MemoryStore();
    const neverConnected = await offlineClient(store);
    const bytes = await neverConnected.exportArchive(PASSPHRASE);
    expect((await EbbClient.importArchive(bytes, PASSPHRASE, { url: UNUSED_URL })).userId).toBe(neverConnected.userId);
    await neverConnected.close();
    expect(await neverConnected.exportArchive(PASSPHRASE)).toBeInstanceOf(Uint8Array);
  });

  it('refuses a passphrase shorter than 15 characters (counted after NFC) with BAD_REQUEST, and takes 15', async () => {
    const client = await offlineClient();
    for (const short of ['short', 'fourteen chars', 'e\u0301'.repeat(14)]) {
      const err = await rejectionOf(client.exportArchive(short));
      expect(EbbError.is(err, 'BAD_REQUEST')).toBe(true);
      expect(err).toMatchObject({ retryable: false });
    }
    expect(await client.exportArchive('fifteen chars!!')).toBeInstanceOf(Uint8Array);
  });

  it('still imports an archive written before N rose: N = 2^15 and a passphrase of any length', async () => {
    const bytes = fromBase64Url(oldArchive.archive);
    expect([...bytes.subarray(8, 11)]).toEqual([15, 8, 1]);
    const store = new MemoryStore();
    const restored = await atProductionCost(() => EbbClient.importArchive(bytes, oldArchive.passphrase, { url: UNUSED_URL, store }));
    expect(restored.userId).toBe(oldArchive.userId);
    expect(restored.device).toBe(oldArchive.device);
    expect(await store.get('app/history/0001')).toBe(JSON.stringify({ from: 'someone', text: 'kept by the app' }));
    for (const key of oldArchive.entryKeys) expect(await store.get(key)).toBeDefined();
    // An old archive sealed with a short passphrase (8 was the floor) opens too: only export enforces 15.
    const short = await sealArchive(await openArchive(bytes, oldArchive.passphrase).then((c) => c!), 'eight ch', { logN: TEST_LOG_N });
    expect((await EbbClient.importArchive(short, 'eight ch', { url: UNUSED_URL })).userId).toBe(oldArchive.userId);
  });
});

/** A MemoryStore whose sets start failing after `okSets` (and deletes too, when asked) until healed. */
class FailingStore extends MemoryStore {
  private sets = 0;
  healed = false;

  constructor(
    private readonly okSets: number,
    private readonly failing: { deletes?: boolean } = {},
  ) {
    super();
  }

  override async set(key: string, value: string): Promise<void> {
    if (!this.healed && ++this.sets > this.okSets) throw new Error('disk full');
    return super.set(key, value);
  }

  override async delete(key: string): Promise<void> {
    if (!this.healed && this.failing.deletes) throw new Error('disk gone');
    return super.delete(key);
  }
}
