import { sha256 } from '@noble/hashes/sha2';
import nacl from 'tweetnacl';
import { equalBytes } from './bytes';
import { randomBytes } from './random';

/**
 * Attachment encryption (ARCH §8.10): a fresh key per attachment, the bytes sealed in fixed-size chunks with
 * `nacl.secretbox`, in the manner of the STREAM construction (Hoang, Reyhanitabar, Rogaway and Vizár, 2015):
 *
 *   object  = version (1 byte) ‖ prefix (19 random bytes) ‖ box_0 ‖ … ‖ box_{n-1}
 *   box_i   = secretbox(chunk_i, prefix ‖ u32be(i) ‖ final_i, key)      final_i = 1 for the last chunk, else 0
 *   digest  = SHA-256(object)
 *
 * Every chunk but the last holds ATTACHMENT_CHUNK_BYTES; the last holds the rest, and an empty file is one
 * empty final chunk. Each box opens only at its own index with its own final flag, so a reordered, corrupted
 * or dropped chunk, and an object cut short or extended, are refused at the chunk where they occur, and
 * memory stays one chunk whatever the file's size. Key and digest travel inside the message ciphertext, under
 * its franking commitment: the digest pins the exact object, so a report's content can be fetched and checked.
 */

/** Plaintext bytes per chunk. */
export const ATTACHMENT_CHUNK_BYTES = 64 * 1024;
export const ATTACHMENT_KEY_BYTES = nacl.secretbox.keyLength;
export const ATTACHMENT_DIGEST_BYTES = 32;
const VERSION = 1;
const INDEX_BYTES = 4;
const FLAG_BYTES = 1;
const PREFIX_BYTES = nacl.secretbox.nonceLength - INDEX_BYTES - FLAG_BYTES;
/** Bytes before the first box: the version and the nonce prefix. */
export const ATTACHMENT_HEADER_BYTES = 1 + PREFIX_BYTES;
const BOX_OVERHEAD = nacl.secretbox.overheadLength;

/** A fresh attachment key: one per attachment, never reused. */
export function newAttachmentKey(): Uint8Array {
  return randomBytes(ATTACHMENT_KEY_BYTES);
}

/** How many chunks a file of `size` bytes is sealed in: at least one. */
export function attachmentChunkCount(size: number): number {
  checkSize(size);
  return Math.max(1, Math.ceil(size / ATTACHMENT_CHUNK_BYTES));
}

/** The length of the stored object for a file of `size` bytes. */
export function attachmentCiphertextLength(size: number): number {
  return ATTACHMENT_HEADER_BYTES + size + attachmentChunkCount(size) * BOX_OVERHEAD;
}

/** The plaintext length of chunk `index` of a file of `size` bytes. */
function chunkLength(size: number, index: number): number {
  return Math.min(ATTACHMENT_CHUNK_BYTES, size - index * ATTACHMENT_CHUNK_BYTES);
}

/**
 * Seals one file chunk by chunk. `header()` first, then `seal()` for each chunk in order; `digest()` once the
 * last chunk is sealed. The same key and prefix seal the same file to the same object, so a failed upload can
 * be sealed again for a retry. Wipe the key with `wipe()` when done.
 */
export class AttachmentSealer {
  private readonly key: Uint8Array;
  private readonly headerBytes: Uint8Array;
  private readonly hash = sha256.create();
  private readonly chunks: number;
  private next = 0;

  /** @param prefix 19 bytes; a fresh random one by default (tests and vectors pass their own). */
  constructor(
    key: Uint8Array,
    readonly size: number,
    prefix: Uint8Array = randomBytes(PREFIX_BYTES),
  ) {
    if (key.length !== ATTACHMENT_KEY_BYTES) throw new TypeError(`key: expected ${ATTACHMENT_KEY_BYTES} bytes`);
    if (prefix.length !== PREFIX_BYTES) throw new TypeError(`prefix: expected ${PREFIX_BYTES} bytes`);
    this.chunks = attachmentChunkCount(size);
    this.key = key.slice();
    this.headerBytes = new Uint8Array(ATTACHMENT_HEADER_BYTES);
    this.headerBytes[0] = VERSION;
    this.headerBytes.set(prefix, 1);
    this.hash.update(this.headerBytes);
  }

  /** The object's first bytes. */
  header(): Uint8Array {
    return this.headerBytes.slice();
  }

  /** How many chunks `seal` takes. */
  get chunkCount(): number {
    return this.chunks;
  }

  /** Whether every chunk has been sealed. */
  get done(): boolean {
    return this.next === this.chunks;
  }

  /** The box for the next chunk, which must be exactly as long as its place in the file says. */
  seal(chunk: Uint8Array): Uint8Array {
    if (this.done) throw new RangeError('seal: every chunk has been sealed');
    const expected = chunkLength(this.size, this.next);
    if (chunk.length !== expected) throw new TypeError(`chunk ${this.next}: expected ${expected} bytes`);
    const box = nacl.secretbox(chunk, nonceOf(this.headerBytes, this.next, this.next === this.chunks - 1), this.key);
    this.hash.update(box);
    this.next++;
    return box;
  }

  /** SHA-256 over the whole object. */
  digest(): Uint8Array {
    if (!this.done) throw new RangeError('digest: not every chunk has been sealed');
    return this.hash.clone().digest();
  }

  wipe(): void {
    this.key.fill(0);
  }
}

/**
 * Opens an object as it arrives, in pieces of any length. `push()` returns the chunks it completed, opened,
 * or null once anything failed to open; `finish()` says whether the object was complete and matches
 * `digest`. Holds at most one box. Which check failed is not said. The key is wiped on finish and on failure.
 */
export class AttachmentOpener {
  private readonly key: Uint8Array;
  private readonly hash = sha256.create();
  private readonly chunks: number;
  private readonly pending: Uint8Array;
  private filled = 0;
  private header: Uint8Array | null = null;
  private next = 0;
  private failed = false;

  constructor(
    key: Uint8Array,
    readonly size: number,
    private readonly digest: Uint8Array,
  ) {
    if (key.length !== ATTACHMENT_KEY_BYTES) throw new TypeError(`key: expected ${ATTACHMENT_KEY_BYTES} bytes`);
    if (digest.length !== ATTACHMENT_DIGEST_BYTES) throw new TypeError(`digest: expected ${ATTACHMENT_DIGEST_BYTES} bytes`);
    this.chunks = attachmentChunkCount(size);
    this.key = key.slice();
    this.pending = new Uint8Array(Math.max(ATTACHMENT_HEADER_BYTES, Math.min(size, ATTACHMENT_CHUNK_BYTES) + BOX_OVERHEAD));
  }

  /** The plaintext chunks completed by `bytes`, in order; null once the object is found altered. */
  push(bytes: Uint8Array): Uint8Array[] | null {
    if (this.failed) return null;
    const out: Uint8Array[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      const want = this.wanted();
      if (want === 0) return this.fail(); // bytes past the last chunk
      const take = Math.min(want - this.filled, bytes.length - offset);
      this.pending.set(bytes.subarray(offset, offset + take), this.filled);
      this.filled += take;
      offset += take;
      if (this.filled < want) break;
      const piece = this.pending.subarray(0, want);
      this.hash.update(piece);
      this.filled = 0;
      if (this.header === null) {
        if (piece[0] !== VERSION) return this.fail();
        this.header = piece.slice();
        continue;
      }
      const opened = nacl.secretbox.open(piece, nonceOf(this.header, this.next, this.next === this.chunks - 1), this.key);
      if (!opened) return this.fail();
      this.next++;
      out.push(opened);
    }
    return out;
  }

  /** Chunks opened so far: after a failure, the index of the chunk that failed (the header counts as chunk 0). */
  get chunksOpened(): number {
    return this.next;
  }

  /** Whether every chunk arrived and opened and the whole object hashes to the digest. */
  finish(): boolean {
    if (this.failed) return false;
    const complete = this.header !== null && this.next === this.chunks && this.filled === 0;
    const ok = complete && equalBytes(this.hash.digest(), this.digest);
    this.failed = !ok;
    this.key.fill(0);
    return ok;
  }

  /** Bytes the next piece (header or box) needs in all; 0 once every chunk arrived. */
  private wanted(): number {
    if (this.header === null) return ATTACHMENT_HEADER_BYTES;
    if (this.next === this.chunks) return 0;
    return chunkLength(this.size, this.next) + BOX_OVERHEAD;
  }

  private fail(): null {
    this.failed = true;
    this.key.fill(0);
    return null;
  }
}

/** prefix ‖ u32be(index) ‖ final flag: unique per chunk, and the last chunk's differs from any other's. */
function nonceOf(header: Uint8Array, index: number, final: boolean): Uint8Array {
  const nonce = new Uint8Array(nacl.secretbox.nonceLength);
  nonce.set(header.subarray(1, ATTACHMENT_HEADER_BYTES));
  new DataView(nonce.buffer).setUint32(PREFIX_BYTES, index);
  nonce[PREFIX_BYTES + INDEX_BYTES] = final ? 1 : 0;
  return nonce;
}

function checkSize(size: number): void {
  if (!Number.isSafeInteger(size) || size < 0) throw new TypeError('size: expected a whole number of bytes');
}
