import 'fake-indexeddb/auto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, IndexedDbStore, MemoryStore, type KeyStore } from '../../client-sdk/src';

/** What each store's contract run needs: a fresh store, and a second instance on the same place (MemoryStore has none). */
interface StoreUnderTest {
  readonly store: KeyStore;
  reopen(): Promise<KeyStore>;
  dispose(): Promise<void>;
}

/** The KeyStore contract (client-sdk/src/store/key-store.ts), run against all three stores; `persists` adds reopening. */
function keyStoreContract(make: () => Promise<StoreUnderTest>, persists: boolean): void {
  let subject: StoreUnderTest;
  let store: KeyStore;
  beforeEach(async () => {
    subject = await make();
    store = subject.store;
  });
  afterEach(() => subject.dispose());

  const sorted = async (prefix: string) => (await store.list(prefix)).sort();

  it('reads a key never set, or deleted, as undefined; deleting an absent key is no error', async () => {
    expect(await store.get('identity')).toBeUndefined();
    await store.delete('identity');
    await store.set('identity', 'x');
    await store.delete('identity');
    await store.delete('identity');
    expect(await store.get('identity')).toBeUndefined();
    expect(await store.list('')).toEqual([]);
  });

  it('keeps values exactly, empty, long and non-ASCII ones included, the last set winning', async () => {
    const long = 'v'.repeat(100_000);
    await store.set('a', '');
    await store.set('b', long);
    await store.set('c', 'ünï\u{1F600}\n\0tail');
    await store.set('d', 'first');
    await store.set('d', 'second');
    expect([await store.get('a'), await store.get('b'), await store.get('c'), await store.get('d')]).toEqual([
      '',
      long,
      'ünï\u{1F600}\n\0tail',
      'second',
    ]);
  });

  it('tells keys apart by case and by every character the SDK puts in them', async () => {
    const keys = ['seen/AbC/x-1', 'seen/abc/x-1', 'peers/Z_z', 'prekeys/otk/12', 'report/a.b', '.hidden', 'sp ace', 'emoji/\u{1F600}'];
    for (const [i, key] of keys.entries()) await store.set(key, `v${i}`);
    for (const [i, key] of keys.entries()) expect(await store.get(key)).toBe(`v${i}`);
    expect(await sorted('')).toEqual([...keys].sort());
  });

  it('lists exactly the keys that start with the prefix', async () => {
    const keys = ['seen/a', 'seen/b/c', 'seen', 'seenx', 'Seen/a', 'peers/a'];
    for (const key of keys) await store.set(key, key);
    for (const prefix of ['', 'seen', 'seen/', 'seen/b/', 'S', 'nothing']) {
      expect(await sorted(prefix)).toEqual(keys.filter((k) => k.startsWith(prefix)).sort());
    }
  });

  it('keeps every one of many concurrent sets and deletes of different keys', async () => {
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`k/${i}`, `v${i}`)));
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.delete(`k/${i * 2}`)));
    const left = Array.from({ length: 10 }, (_, i) => `k/${i * 2 + 1}`);
    expect(await sorted('k/')).toEqual(left.sort());
    for (const key of left) expect(await store.get(key)).toBe(`v${key.slice(2)}`);
  });

  it('leaves one whole value of concurrent sets of one key, never a torn one', async () => {
    const values = Array.from({ length: 10 }, (_, i) => String(i).repeat(5000));
    await Promise.all(values.map((v) => store.set('identity', v)));
    expect(values).toContain(await store.get('identity'));
    expect(await store.list('')).toEqual(['identity']);
  });

  if (!persists) return;
  it('persists what was set and deleted for the next instance', async () => {
    await store.set('identity', 'me');
    await store.set('gone', 'x');
    await store.delete('gone');
    const again = await subject.reopen();
    expect(await again.get('identity')).toBe('me');
    expect(await again.get('gone')).toBeUndefined();
    expect(await again.list('')).toEqual(['identity']);
  });
}

describe('MemoryStore', () =>
  keyStoreContract(async () => {
    const store = new MemoryStore();
    return { store, reopen: async () => store, dispose: async () => {} };
  }, false));

describe('FileStore', () => {
  keyStoreContract(async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ebb-contract-'));
    return {
      store: new FileStore(join(dir, 'store')),
      reopen: async () => new FileStore(join(dir, 'store')),
      dispose: () => rm(dir, { recursive: true, force: true }),
    };
  }, true);
});

describe('IndexedDbStore under fake-indexeddb', () => {
  let databases = 0;
  keyStoreContract(async () => {
    const name = `ebb-contract-${++databases}`;
    const opened = [new IndexedDbStore(name)];
    return {
      store: opened[0]!,
      async reopen() {
        await opened[0]!.close();
        const again = new IndexedDbStore(name);
        opened.push(again);
        return again;
      },
      dispose: async () => {
        for (const store of opened) await store.close();
      },
    };
  }, true);
});
