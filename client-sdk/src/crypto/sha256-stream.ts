import { sha256 } from '@noble/hashes/sha2';

/**
 * An incremental SHA-256, as attachment sealing and opening (crypto/attachment.ts) run it over every byte of an
 * object. Two implementations give the same digests: `@noble/hashes` (JavaScript; everywhere, and the only one
 * browsers have, since WebCrypto's `digest` takes a whole message and cannot be fed chunk by chunk) and Node's
 * `node:crypto` (native, about ten times faster here; loaded lazily through load-module.ts, see `loadNodeSha256`).
 */
export interface Sha256Stream {
  update(bytes: Uint8Array): void;
  /** The digest of everything given so far; the stream takes no more afterwards. */
  digest(): Uint8Array;
  /** An independent copy of the state so far. */
  clone(): Sha256Stream;
}

/** Makes a fresh incremental SHA-256. */
export type Sha256Factory = () => Sha256Stream;

/** `@noble/hashes`: the default, and what browsers use. */
export const nobleSha256: Sha256Factory = () => wrapNoble(sha256.create());

function wrapNoble(hash: ReturnType<typeof sha256.create>): Sha256Stream {
  return {
    update: (bytes) => void hash.update(bytes),
    digest: () => hash.digest(),
    clone: () => wrapNoble(hash.clone()),
  };
}

/** What the SDK needs of `node:crypto`'s Hash. */
interface NodeHash {
  update(bytes: Uint8Array): unknown;
  digest(): Uint8Array;
  copy(): NodeHash;
}

/** An incremental SHA-256 over `node:crypto`'s `createHash`, given the module (load-module.ts loads it). */
export function nodeSha256(createHash: (algorithm: 'sha256') => NodeHash): Sha256Factory {
  const wrap = (hash: NodeHash): Sha256Stream => ({
    update: (bytes) => void hash.update(bytes),
    // A Buffer is a Uint8Array; a plain one is handed out so callers see the same type on every platform.
    digest: () => new Uint8Array(hash.digest()),
    clone: () => wrap(hash.copy()),
  });
  return () => wrap(createHash('sha256'));
}
