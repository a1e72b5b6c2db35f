/**
 * The Node-only modules the SDK uses (`ws`, `node:fs/promises`, `node:path`, `node:http(s)`,
 * `node:crypto`), each loaded only when it is needed, so the SDK bundles for browsers. `import()` first; CommonJS `require` where a sandbox
 * refuses dynamic import (jest's vm without --experimental-vm-modules), so apps can unit-test against
 * the SDK. The specifiers are literals, which bundlers can see and mark external. The package's
 * browser build replaces this file with `load-module.browser.ts`, which names no Node module at all.
 */

import { nodeSha256, type Sha256Factory } from './crypto/sha256-stream';
import type { WebSocketConstructor } from './transport/websocket';

type Fs = typeof import('node:fs/promises');
type Path = typeof import('node:path');

/** What the `ws` package exports, as far as the SDK cares. */
export type WsModule = { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };

export type FileSystem = { readonly fs: Fs; readonly path: Path };

/* eslint-disable @typescript-eslint/no-require-imports -- the CommonJS fallback of importOrRequire */

/** `node:fs/promises` and `node:path`, for FileStore. */
export async function loadFileSystem(): Promise<FileSystem> {
  const [fs, path] = await Promise.all([
    importOrRequire(
      () => import('node:fs/promises'),
      () => require('node:fs/promises') as Fs,
    ),
    importOrRequire(
      () => import('node:path'),
      () => require('node:path') as Path,
    ),
  ]);
  return { fs, path };
}

/** The `ws` package, for Node versions without a global WebSocket. */
export function loadWs(): Promise<WsModule> {
  return importOrRequire(
    () => import('ws') as Promise<WsModule>,
    () => require('ws') as WsModule,
  );
}

/** What an attachment upload needs of Node (attachments/upload.ts, node-put.ts): its HTTP clients. */
export type NodeHttp = {
  readonly http: typeof import('node:http');
  readonly https: typeof import('node:https');
};

/**
 * `node:http` and `node:https`, for uploading attachments with backpressure: Node's fetch reads a streamed
 * request body as fast as it can produce it, holding a 100 MiB upload in memory.
 */
export async function loadNodeHttp(): Promise<NodeHttp | null> {
  const [http, https] = await Promise.all([
    importOrRequire(
      () => import('node:http'),
      () => require('node:http') as NodeHttp['http'],
    ),
    importOrRequire(
      () => import('node:https'),
      () => require('node:https') as NodeHttp['https'],
    ),
  ]);
  return { http, https };
}

let nodeSha256Loaded: Promise<Sha256Factory | null> | undefined;

/**
 * `node:crypto`'s incremental SHA-256, for attachment digests (crypto/attachment.ts): native, about ten times
 * `@noble/hashes` on a 100 MiB object. Null where it cannot be loaded; the caller then keeps @noble/hashes.
 */
export function loadNodeSha256(): Promise<Sha256Factory | null> {
  nodeSha256Loaded ??= importOrRequire(
    () => import('node:crypto'),
    () => require('node:crypto') as typeof import('node:crypto'),
  ).then(
    (crypto) => nodeSha256((algorithm) => crypto.createHash(algorithm)),
    () => null,
  );
  return nodeSha256Loaded;
}

/* eslint-enable @typescript-eslint/no-require-imports */

async function importOrRequire<T>(viaImport: () => Promise<T>, viaRequire: () => T): Promise<T> {
  try {
    return await viaImport();
  } catch (err) {
    if (typeof require !== 'function') throw err;
    return viaRequire();
  }
}
