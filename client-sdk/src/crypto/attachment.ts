import nacl from 'tweetnacl';
import { equalBytes } from './bytes';
import { randomBytes } from './random';
import { nobleSha256, type Sha256Factory, type Sha256Stream } from './sha256-stream';

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

/**
 * tweetnacl's C-style secretbox, which `nacl.secretbox` and `nacl.secretbox.open` wrap: the message (or box)
 * is preceded by 32 (or 16) zero bytes, and input and output are arrays the caller gives. The wrappers copy
 * every chunk into fresh padded arrays one byte at a time in JavaScript, which cost a fifth to a third of an
 * attachment's decryption (measured on 64 KiB chunks); here chunks are copied natively into arrays allocated
 * once. `nacl.lowlevel` is exported by every tweetnacl 1.x (package.json asks for ^1.0.3; 1.0.3, of 2019, is
 * the last release) but not typed; `open` authenticates the whole box before it writes any plaintext; the
 * known-answer vectors (test/vectors/attachment-transcript.json) pin that the boxes are nacl.secretbox's.
 */
interface SecretboxLowLevel {
  crypto_secretbox(c: Uint8Array, m: Uint8Array, d: number, n: Uint8Array, k: Uint8Array): number;
  crypto_secretbox_open(m: Uint8Array, c: Uint8Array, d: number, n: Uint8Array, k: Uint8Array): number;
}
const lowlevel = (nacl as unknown as { lowlevel: SecretboxLowLevel }).lowlevel;
/** Zero bytes before a message (32) and before a box (16) in the low-level calls. */
const ZERO_BYTES = 32;
const BOX_ZERO_BYTES = ZERO_BYTES - BOX_OVERHEAD;

/** Options of the sealer and the opener. */
export interface AttachmentHashOption {
  /** The SHA-256 for the digest: @noble/hashes by default; Node's native one where loaded (load-module.ts). */
  readonly sha256?: Sha256Factory;
}

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
  private readonly hash: Sha256Stream;
  private readonly chunks: number;
  /** 32 zero bytes, then the chunk being sealed: the low-level call's input, allocated once. */
  private readonly padded: Uint8Array;
  private next = 0;

  /** @param prefix 19 bytes; a fresh random one by default (tests and vectors pass their own). */
  constructor(
    key: Uint8Array,
    readonly size: number,
    prefix: Uint8Array = randomBytes(PREFIX_BYTES),
    options: AttachmentHashOption = {},
  ) {
    if (key.length !== ATTACHMENT_KEY_BYTES) throw new TypeError(`key: expected ${ATTACHMENT_KEY_BYTES} bytes`);
    if (prefix.length !== PREFIX_BYTES) throw new TypeError(`prefix: expected ${PREFIX_BYTES} bytes`);
    this.chunks = attachmentChunkCount(size);
    this.hash = (options.sha256 ?? nobleSha256)();
    this.padded = new Uint8Array(ZERO_BYTES + Math.min(size, ATTACHMENT_CHUNK_BYTES));
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
    this.padded.set(chunk, ZERO_BYTES);
    const length = ZERO_BYTES + chunk.length;
    // Each box is a fresh array: the transport may hold it after the next chunk is sealed.
    const sealed = new Uint8Array(length);
    lowlevel.crypto_secretbox(
      sealed,
      this.padded.subarray(0, length),
      length,
      nonceOf(this.headerBytes, this.next, this.next === this.chunks - 1),
      this.key,
    );
    const box = sealed.subarray(BOX_ZERO_BYTES);
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
    this.padded.fill(0);
  }
}

/**
 * Opens an object as it arrives, in pieces of any length. `push()` returns the chunks it completed, opened,
 * or null once anything failed to open; `finish()` says whether the object was complete and matches
 * `digest`. Holds at most one box. Which check failed is not said. The key is wiped on finish and on failure.
 */
export class AttachmentOpener {
  private readonly key: Uint8Array;
  private readonly hash: Sha256Stream;
  private readonly chunks: number;
  /** 16 zero bytes, then the box being gathered: the low-level call's input, allocated once. */
  private readonly pending: Uint8Array;
  /** 32 zero bytes, then the opened chunk: the low-level call's output, allocated once. */
  private readonly opened: Uint8Array;
  private filled = 0;
  private header: Uint8Array | null = null;
  private next = 0;
  private failed = false;

  constructor(
    key: Uint8Array,
    readonly size: number,
    private readonly digest: Uint8Array,
    options: AttachmentHashOption = {},
  ) {
    if (key.length !== ATTACHMENT_KEY_BYTES) throw new TypeError(`key: expected ${ATTACHMENT_KEY_BYTES} bytes`);
    if (digest.length !== ATTACHMENT_DIGEST_BYTES) throw new TypeError(`digest: expected ${ATTACHMENT_DIGEST_BYTES} bytes`);
    this.chunks = attachmentChunkCount(size);
    this.hash = (options.sha256 ?? nobleSha256)();
    this.key = key.slice();
    const chunk = Math.min(size, ATTACHMENT_CHUNK_BYTES);
    this.pending = new Uint8Array(BOX_ZERO_BYTES + Math.max(ATTACHMENT_HEADER_BYTES, chunk + BOX_OVERHEAD));
    this.opened = new Uint8Array(ZERO_BYTES + chunk);
  }

  /** The plaintext chunks completed by `bytes`, in order, each the caller's to keep; null once the object is found altered. */
  push(bytes: Uint8Array): Uint8Array[] | null {
    const out: Uint8Array[] = [];
    return this.pushEach(bytes, (chunk) => out.push(chunk.slice())) ? out : null;
  }

  /**
   * As `push`, but hands each opened chunk to `take` as a view that is valid only during the call (the next
   * chunk opens into the same memory): for a caller that copies it at once, which spares one copy per chunk.
   * Returns false once the object is found altered (then `take` sees nothing more).
   */
  pushEach(bytes: Uint8Array, take: (chunk: Uint8Array) => void): boolean {
    if (this.failed) return false;
    let offset = 0;
    while (offset < bytes.length) {
      const want = this.wanted();
      if (want === 0) return this.fail(); // bytes past the last chunk
      const count = Math.min(want - this.filled, bytes.length - offset);
      this.pending.set(bytes.subarray(offset, offset + count), BOX_ZERO_BYTES + this.filled);
      this.filled += count;
      offset += count;
      if (this.filled < want) break;
      const piece = this.pending.subarray(BOX_ZERO_BYTES, BOX_ZERO_BYTES + want);
      this.hash.update(piece);
      this.filled = 0;
      if (this.header === null) {
        if (piece[0] !== VERSION) return this.fail();
        this.header = piece.slice();
        continue;
      }
      const length = BOX_ZERO_BYTES + want;
      const nonce = nonceOf(this.header, this.next, this.next === this.chunks - 1);
      // Authenticates the whole box before it writes a byte of plaintext; -1 when the box does not open.
      if (lowlevel.crypto_secretbox_open(this.opened, this.pending.subarray(0, length), length, nonce, this.key) !== 0) return this.fail();
      this.next++;
      take(this.opened.subarray(ZERO_BYTES, ZERO_BYTES + want - BOX_OVERHEAD));
    }
    return true;
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
    this.wipe();
    return ok;
  }

  /** Gives up on the object (the download failed elsewhere): wipes the key and the last chunk; nothing more opens. */
  abandon(): void {
    this.fail();
  }

  /** Bytes the next piece (header or box) needs in all; 0 once every chunk arrived. */
  private wanted(): number {
    if (this.header === null) return ATTACHMENT_HEADER_BYTES;
    if (this.next === this.chunks) return 0;
    return chunkLength(this.size, this.next) + BOX_OVERHEAD;
  }

  private fail(): false {
    this.failed = true;
    this.wipe();
    return false;
  }

  /** The key, and the last plaintext chunk held in the output array. */
  private wipe(): void {
    this.key.fill(0);
    this.opened.fill(0);
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
