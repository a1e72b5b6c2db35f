import { loadFileSystem } from '../load-module';
import type { KeyStore } from './key-store';

/**
 * `file-store.ts` as the package's browser build has it (client-sdk/browser-build.ts): the same class, whose
 * every call rejects as the Node one does there (browsers lack the file system it loads first), without the
 * file code and key-to-file-name mapping no browser runs.
 */
export class FileStore implements KeyStore {
  constructor(readonly dir: string) {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('FileStore: dir must be a non-empty path');
  }

  get(): Promise<string | undefined> {
    return unavailable();
  }

  set(): Promise<void> {
    return unavailable();
  }

  delete(): Promise<void> {
    return unavailable();
  }

  list(): Promise<string[]> {
    return unavailable();
  }
}

/** load-module.browser.ts's rejection: there loadFileSystem never resolves. */
function unavailable(): Promise<never> {
  return loadFileSystem().then(() => {
    throw new Error('FileStore: no file system in this build');
  });
}
