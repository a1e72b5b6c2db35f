/**
 * Where a client keeps everything it needs across restarts: its identity, the registered flag,
 * prekey private keys, the peer identity cache, the ids of messages already handed to the app and,
 * until they expire, the received messages report() may reveal.
 * Values are strings; implementations need not be transactional but each `set` must be atomic.
 */
export interface KeyStore {
  /** The value, or undefined when the key is absent. */
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  /** Deleting an absent key is not an error. */
  delete(key: string): Promise<void>;
  /** Every key that starts with `prefix`, in no particular order. */
  list(prefix: string): Promise<string[]>;
}
