import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { EbbClient, FileStore } from '../../client-sdk/src';
import { fileNameForKey, keyForFileName } from '../../client-sdk/src/store/file-names';
import { FakeServer } from './fake-server';
import { FAST_RECONNECT } from './helpers';

describe('FileStore', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ebb-sdk-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('gets, sets, overwrites, lists by prefix and deletes', async () => {
    const store = new FileStore(join(dir, 'nested', 'store'));
    expect(await store.get('missing')).toBeUndefined();
    await store.set('seen/AbC/x-1', 'one');
    await store.set('seen/abc/x-1', 'two');
    await store.set('peers/Z', 'three');
    await store.set('seen/AbC/x-1', 'ONE');
    expect(await store.get('seen/AbC/x-1')).toBe('ONE');
    expect(await store.get('seen/abc/x-1')).toBe('two');
    expect((await store.list('seen/')).sort()).toEqual(['seen/AbC/x-1', 'seen/abc/x-1']);
    await store.delete('seen/AbC/x-1');
    await store.delete('seen/AbC/x-1');
    expect(await store.list('seen/')).toEqual(['seen/abc/x-1']);
  });

  it('writes atomically, leaving no temporary files and no name a case-insensitive disk would merge', async () => {
    const store = new FileStore(dir);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.set(`k/${i % 3}`, `v${i}`)));
    const names = await readdir(dir);
    expect(names.sort()).toEqual(['k%2F0', 'k%2F1', 'k%2F2']);
    await store.set('Aa', '1');
    await store.set('aA', '2');
    const lower = (await readdir(dir)).map((n) => n.toLowerCase());
    expect(new Set(lower).size).toBe(lower.length);
  });

  it('is not corrupted or shadowed by a temporary file left by a crash mid-write', async () => {
    const store = new FileStore(dir);
    await store.set('sessions/AbC/1', '{"state":"committed"}');
    // What a crash between writing the temporary file and renaming it leaves behind.
    await writeFile(join(dir, '.tmp-0123456789abcdef'), '{"state":"torn');
    await writeFile(join(dir, '.tmp-fedcba9876543210'), '');

    const reopened = new FileStore(dir);
    expect(await reopened.get('sessions/AbC/1')).toBe('{"state":"committed"}');
    expect(await reopened.list('')).toEqual(['sessions/AbC/1']);
    await reopened.set('sessions/AbC/1', '{"state":"next"}');
    expect(await new FileStore(dir).get('sessions/AbC/1')).toBe('{"state":"next"}');
    expect(await reopened.list('')).toEqual(['sessions/AbC/1']);
  });

  it('keeps the identity across a restart of the client', async () => {
    const server = await FakeServer.start();
    try {
      const first = await EbbClient.create({ url: server.url, store: new FileStore(dir), reconnect: FAST_RECONNECT });
      await first.connect();
      await first.close();
      const second = await EbbClient.create({ url: server.url, store: new FileStore(dir), reconnect: FAST_RECONNECT });
      expect(second.userId).toBe(first.userId);
      await second.connect();
      await second.close();
      expect(server.upgrades[1]!.query.has('pk')).toBe(false); // the registered flag survived too
      expect(server.actions(first.userId).filter((a) => a === 'register')).toHaveLength(1);
      expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
    } finally {
      await server.close();
    }
  });

  it('maps every key to a file name and back, injectively even ignoring case', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }), fc.string({ minLength: 1, maxLength: 60, unit: 'binary' }), (a, b) => {
        const name = fileNameForKey(a);
        expect(name).toMatch(/^[a-z0-9_^%A-F-]+$/);
        expect(name.startsWith('.')).toBe(false);
        expect(keyForFileName(name)).toBe(a);
        expect(keyForFileName(name.toLowerCase())).toBe(a);
        if (a !== b) expect(fileNameForKey(b).toLowerCase()).not.toBe(name.toLowerCase());
      }),
    );
  });

  it('refuses empty and overlong keys, and ignores foreign file names', () => {
    expect(() => fileNameForKey('')).toThrow(TypeError);
    expect(() => fileNameForKey('/'.repeat(100))).toThrow(/too long/);
    for (const name of ['.tmp-1', 'A', '%zz', '^1', '%FF']) expect(keyForFileName(name)).toBeUndefined();
  });
});
