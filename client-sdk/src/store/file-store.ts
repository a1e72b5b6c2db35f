import { randomBytes } from '../crypto/random';
import { loadFileSystem, type FileSystem } from '../load-module';
import type { KeyStore } from './key-store';
import { fileNameForKey, keyForFileName } from './file-names';

type Fs = FileSystem['fs'];

const TEMP_PREFIX = '.tmp-';

/**
 * One file per key in `dir` (created on first use). Node only: `node:` modules are loaded on
 * first use, so the SDK still bundles for browsers. Each `set` is atomic and durable: the value is
 * written to a temporary file, fsynced, then renamed over the old one, so a crash leaves either
 * the old or the new value, never a torn one. Methods reject with the file system's own errors
 * (EACCES, ENOSPC…); the client reports those as EbbError INTERNAL with the error as `cause`.
 */
export class FileStore implements KeyStore {
  private modules: Promise<FileSystem> | undefined;

  constructor(readonly dir: string) {
    if (typeof dir !== 'string' || dir.length === 0) throw new TypeError('FileStore: dir must be a non-empty path');
  }

  async get(key: string): Promise<string | undefined> {
    const { fs, path } = await this.load();
    try {
      return await fs.readFile(path.join(this.dir, fileNameForKey(key)), 'utf8');
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async set(key: string, value: string): Promise<void> {
    const { fs, path } = await this.load();
    const target = path.join(this.dir, fileNameForKey(key));
    const temp = path.join(this.dir, `${TEMP_PREFIX}${hex(randomBytes(8))}`);
    try {
      const handle = await fs.open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(value, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await fs.rename(temp, target);
    } catch (err) {
      await fs.rm(temp, { force: true });
      throw err;
    }
    await this.syncDir(fs);
  }

  async delete(key: string): Promise<void> {
    const { fs, path } = await this.load();
    await fs.rm(path.join(this.dir, fileNameForKey(key)), { force: true });
    await this.syncDir(fs);
  }

  async list(prefix: string): Promise<string[]> {
    const { fs } = await this.load();
    const keys: string[] = [];
    for (const name of await fs.readdir(this.dir)) {
      if (name.startsWith(TEMP_PREFIX)) continue;
      const key = keyForFileName(name);
      if (key !== undefined && key.startsWith(prefix)) keys.push(key);
    }
    return keys;
  }

  private load(): Promise<FileSystem> {
    this.modules ??= (async () => {
      const modules = await loadFileSystem();
      await modules.fs.mkdir(this.dir, { recursive: true, mode: 0o700 });
      return modules;
    })();
    return this.modules;
  }

  /** Makes the rename itself durable. Directories cannot be opened for sync on Windows: best effort. */
  private async syncDir(fs: Fs): Promise<void> {
    try {
      const handle = await fs.open(this.dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch {
      // Not supported on this platform; the data itself is already synced.
    }
  }
}

function isMissing(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 'ENOENT';
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
