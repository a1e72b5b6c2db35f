import { existsSync, readdirSync } from 'node:fs';
import { join, sep } from 'node:path';
import { tmpdir } from 'node:os';
import { EbbClient, EbbError, FileStore } from '../../client-sdk/src';
import { resolveWebSocket, type WebSocketConstructor } from '../../client-sdk/src/transport/websocket';

// What the package's browser build runs: each module with a browser twin replaced by it (client-sdk/browser-build.ts).
jest.mock('../../client-sdk/src/load-module', () => jest.requireActual('../../client-sdk/src/load-module.browser'));
jest.mock('../../client-sdk/src/store/file-store', () => jest.requireActual('../../client-sdk/src/store/file-store.browser'));
jest.mock('../../client-sdk/src/attachments/node-put', () => jest.requireActual('../../client-sdk/src/attachments/node-put.browser'));

type Global = { WebSocket?: WebSocketConstructor };

/** Runs `body` with `globalThis.WebSocket` set to `value` (Node 20 has none; Node 22 has one). */
async function withGlobalWebSocket<T>(value: WebSocketConstructor | undefined, body: () => Promise<T>): Promise<T> {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'WebSocket');
  Object.defineProperty(globalThis, 'WebSocket', { value, configurable: true, writable: true });
  try {
    return await body();
  } finally {
    if (saved) Object.defineProperty(globalThis, 'WebSocket', saved);
    else delete (globalThis as Global).WebSocket;
  }
}

describe('the SDK as its browser build has it', () => {
  it('FileStore rejects every call, naming the store browsers have, and touches no file', async () => {
    const dir = join(tmpdir(), `ebb-browser-${process.pid}`);
    const store = new FileStore(dir);
    await expect(store.get('k')).rejects.toThrow('FileStore needs a file system, which browsers lack: use IndexedDbStore');
    await expect(store.set('k', 'v')).rejects.toThrow('use IndexedDbStore');
    await expect(store.list('')).rejects.toThrow('use IndexedDbStore');
    await expect(store.delete('k')).rejects.toThrow('use IndexedDbStore');
    expect(existsSync(dir)).toBe(false);
    expect(store.dir).toBe(dir);
    expect(() => new FileStore('')).toThrow(new TypeError('FileStore: dir must be a non-empty path'));
  });

  it('mocks every browser twin the build swaps in, and each twin exports what its module does', () => {
    const src = join(__dirname, '..', '..', 'client-sdk', 'src');
    const twins = readdirSync(src, { recursive: true, encoding: 'utf8' }).filter((file) => file.endsWith('.browser.ts'));
    const names = twins
      .map((file) =>
        file
          .replace(/\.browser\.ts$/, '')
          .split(sep)
          .join('/'),
      )
      .sort();
    // The jest.mock calls above: one per twin.
    expect(names).toEqual(['attachments/node-put', 'load-module', 'store/file-store']);
    for (const name of names) {
      const node = jest.requireActual<Record<string, unknown>>(`../../client-sdk/src/${name}`);
      const twin = jest.requireActual<Record<string, unknown>>(`../../client-sdk/src/${name}.browser`);
      expect(Object.keys(twin).sort()).toEqual(Object.keys(node).sort());
    }
  });

  it('an EbbClient on a FileStore fails as INTERNAL with that error as its cause', async () => {
    const error = await EbbClient.create({ url: 'ws://127.0.0.1:1', store: new FileStore('unused') }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(EbbError.is(error, 'INTERNAL')).toBe(true);
    expect(((error as EbbError).cause as Error).message).toContain('use IndexedDbStore');
  });

  it("uses the page's WebSocket, and without one asks for the WebSocket option instead of loading ws", async () => {
    const PageWebSocket = class {} as unknown as WebSocketConstructor;
    expect(await withGlobalWebSocket(PageWebSocket, () => resolveWebSocket())).toBe(PageWebSocket);
    const missing = await withGlobalWebSocket(undefined, () =>
      resolveWebSocket().then(
        () => undefined,
        (err: unknown) => err,
      ),
    );
    expect(EbbError.is(missing, 'INTERNAL')).toBe(true);
    expect((missing as EbbError).message).toContain('pass the WebSocket option');
  });
});
