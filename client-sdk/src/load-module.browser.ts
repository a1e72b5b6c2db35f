import type * as NodeModules from './load-module';

/**
 * `load-module.ts` as the package's browser build has it (see client-sdk/build.ts): browsers have
 * neither a file system nor a use for `ws`, and a browser bundle must not name a `node:` module.
 */

/** FileStore rejects every call with this; the client reports it as EbbError INTERNAL with it as `cause`. */
export const loadFileSystem: typeof NodeModules.loadFileSystem = () =>
  Promise.reject(new Error('FileStore needs a file system, which browsers lack: use IndexedDbStore'));

/** No Node HTTP here: attachments upload with fetch. */
export const loadNodeHttp: typeof NodeModules.loadNodeHttp = () => Promise.resolve(null);

/** No `node:crypto` here: attachment digests use @noble/hashes (WebCrypto cannot hash a stream piece by piece). */
export const loadNodeSha256: typeof NodeModules.loadNodeSha256 = () => Promise.resolve(null);

/** No `ws` here: resolveWebSocket then asks for the WebSocket option. */
export const loadWs: typeof NodeModules.loadWs = () => Promise.resolve({});
