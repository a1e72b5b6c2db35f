import type * as NodePut from './node-put';

/**
 * `node-put.ts` as the package's browser build has it (client-sdk/browser-build.ts): never called there, since
 * load-module.browser.ts's loadNodeHttp resolves null and uploads then use fetch.
 */
export const nodePut: typeof NodePut.nodePut = () => Promise.reject(new Error('nodePut: no Node HTTP client in this build'));
