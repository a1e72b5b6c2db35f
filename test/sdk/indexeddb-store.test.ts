import 'fake-indexeddb/auto';
import { EbbClient, IndexedDbStore } from '../../client-sdk/src';

let databases = 0;
const freshName = () => `ebb-test-${++databases}`;

describe('IndexedDbStore', () => {
  it('gets, sets, overwrites, lists by prefix and deletes', async () => {
    const store = new IndexedDbStore(freshName());
    expect(await store.get('missing')).toBeUndefined();
    await store.set('seen/AbC/x-1', 'one');
    await store.set('seen/abc/x-1', 'two');
    await store.set('peers/Z', 'three');
    await store.set('seen/AbC/x-1', 'ONE');
    expect(await store.get('seen/AbC/x-1')).toBe('ONE');
    expect(await store.get('seen/abc/x-1')).toBe('two');
    expect((await store.list('seen/')).sort()).toEqual(['seen/AbC/x-1', 'seen/abc/x-1']);
    expect((await store.list('')).sort()).toEqual(['peers/Z', 'seen/AbC/x-1', 'seen/abc/x-1']);
    await store.delete('seen/AbC/x-1');
    await store.delete('seen/AbC/x-1');
    expect(await store.list('seen/')).toEqual(['seen/abc/x-1']);
    await store.close();
  });

  it('lists exactly the keys with the prefix, whatever code units follow it', async () => {
    const store = new IndexedDbStore(freshName());
    const keys = ['a', 'ab', 'a\uffff', 'a\uffffz', 'b', '\uffff', '\uffff\uffff', 'a😀', 'a0'];
    for (const key of keys) await store.set(key, key);
    for (const prefix of ['', 'a', 'a\uffff', '\uffff', 'b', 'c', 'a😀']) {
      expect((await store.list(prefix)).sort()).toEqual(keys.filter((k) => k.startsWith(prefix)).sort());
    }
    await store.close();
  });

  it('keeps every concurrent set, and what was written survives a new instance on the same database', async () => {
    const name = freshName();
    const first = new IndexedDbStore(name);
    await Promise.all(Array.from({ length: 30 }, (_, i) => first.set(`k/${i % 5}`, `v${i}`)));
    await first.close();
    const second = new IndexedDbStore(name);
    expect((await second.list('k/')).sort()).toEqual(['k/0', 'k/1', 'k/2', 'k/3', 'k/4']);
    expect(await second.get('k/4')).toBe('v29');
    expect(await new IndexedDbStore(freshName()).list('')).toEqual([]);
    await second.close();
  });

  it('holds an EbbClient identity across restarts', async () => {
    const name = freshName();
    const url = 'ws://127.0.0.1:1';
    const first = await EbbClient.create({ url, store: new IndexedDbStore(name) });
    const again = await EbbClient.create({ url, store: new IndexedDbStore(name) });
    const other = await EbbClient.create({ url, store: new IndexedDbStore(freshName()) });
    expect(again.userId).toBe(first.userId);
    expect(other.userId).not.toBe(first.userId);
    await Promise.all([first.close(), again.close(), other.close()]);
  });

  it('refuses an empty database name', () => {
    expect(() => new IndexedDbStore('')).toThrow(/name/);
  });
});
