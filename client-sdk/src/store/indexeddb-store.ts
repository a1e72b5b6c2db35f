import type { KeyStore } from './key-store';

const OBJECT_STORE = 'entries';
const VERSION = 1;

/**
 * Keeps everything in one IndexedDB database of the page's origin (browsers). Each key is one record
 * of one object store, so each `set` or `delete` is a transaction of its own: atomic, and resolved only
 * once the transaction has committed (with `durability: 'strict'` where the browser supports it).
 * Methods reject with the browser's own errors (QuotaExceededError, InvalidStateError…); the client
 * reports those as EbbError INTERNAL with the error as `cause`. Two tabs may share a database: every
 * operation is a transaction, and nothing is cached outside it.
 */
export class IndexedDbStore implements KeyStore {
  private db: Promise<IDBDatabase> | undefined;

  /** @param name the database name: one account per database. @default 'ebb' */
  constructor(readonly name = 'ebb') {
    if (typeof name !== 'string' || name.length === 0) throw new TypeError('IndexedDbStore: name must be a non-empty string');
  }

  async get(key: string): Promise<string | undefined> {
    const db = await this.open();
    const value = await request(db.transaction(OBJECT_STORE, 'readonly').objectStore(OBJECT_STORE).get(key));
    return typeof value === 'string' ? value : undefined;
  }

  async set(key: string, value: string): Promise<void> {
    await this.write((entries) => entries.put(value, key));
  }

  async delete(key: string): Promise<void> {
    await this.write((entries) => entries.delete(key));
  }

  async list(prefix: string): Promise<string[]> {
    const db = await this.open();
    const upper = prefixSuccessor(prefix);
    let range: IDBKeyRange | undefined;
    if (prefix === '') range = undefined;
    else if (upper === undefined) range = IDBKeyRange.lowerBound(prefix);
    else range = IDBKeyRange.bound(prefix, upper, false, true);
    const keys = await request(db.transaction(OBJECT_STORE, 'readonly').objectStore(OBJECT_STORE).getAllKeys(range));
    return keys.filter((key): key is string => typeof key === 'string');
  }

  /** Closes the database connection; the next call opens it again. */
  async close(): Promise<void> {
    const opening = this.db;
    this.db = undefined;
    if (opening) (await opening.catch(() => undefined))?.close();
  }

  private async write(change: (entries: IDBObjectStore) => IDBRequest): Promise<void> {
    const db = await this.open();
    const tx = db.transaction(OBJECT_STORE, 'readwrite', { durability: 'strict' });
    change(tx.objectStore(OBJECT_STORE));
    await new Promise<void>((resolve, reject) => {
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDbStore: transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDbStore: transaction aborted'));
    });
  }

  private open(): Promise<IDBDatabase> {
    this.db ??= new Promise<IDBDatabase>((resolve, reject) => {
      const factory = (globalThis as { indexedDB?: IDBFactory }).indexedDB;
      if (!factory) throw new TypeError('IndexedDbStore: this platform has no IndexedDB');
      const opening = factory.open(this.name, VERSION);
      opening.onupgradeneeded = () => {
        if (!opening.result.objectStoreNames.contains(OBJECT_STORE)) opening.result.createObjectStore(OBJECT_STORE);
      };
      opening.onsuccess = () => {
        const db = opening.result;
        // Another tab deleting or upgrading the database must not wait on this one: close, reopen on next use.
        db.onversionchange = () => {
          db.close();
          this.db = undefined;
        };
        resolve(db);
      };
      opening.onerror = () => reject(opening.error ?? new Error('IndexedDbStore: the database could not be opened'));
    });
    // A failed open is not cached: the next call tries again.
    this.db.catch(() => (this.db = undefined));
    return this.db;
  }
}

function request<T>(req: IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error ?? new Error('IndexedDbStore: request failed'));
  });
}

/**
 * The least string greater than every string starting with `prefix` (keys compare by UTF-16 code
 * units), or undefined when there is none (the prefix is all U+FFFF).
 */
function prefixSuccessor(prefix: string): string | undefined {
  let end = prefix.length;
  while (end > 0 && prefix.charCodeAt(end - 1) === 0xffff) end--;
  if (end === 0) return undefined;
  return prefix.slice(0, end - 1) + String.fromCharCode(prefix.charCodeAt(end - 1) + 1);
}
