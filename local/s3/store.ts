import { createHash, randomUUID, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdtemp, rm, unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { crc32 } from 'node:zlib';
import { S3Error } from './errors';

/**
 * The buckets' objects: bytes in files under one temporary directory, streamed in and out so an
 * object of any size costs a few chunks of memory; what S3 keeps about each object in memory.
 */

/**
 * Bytes per file read and buffered per file write. Node's defaults (64 KiB reads, 16 KiB of writes queued)
 * cost a system call and a thread-pool round trip per 64 KiB, on the one thread that also runs the SDK when a
 * test or the bench hosts this endpoint in-process; 1 MiB keeps an object of any size to a few MiB of memory.
 */
const FILE_BUFFER_BYTES = 2 ** 20;

/** The additional checksums S3 verifies on upload that this endpoint computes. */
export type ChecksumAlgorithm = 'CRC32' | 'SHA1' | 'SHA256';

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  /** `"<hex MD5>"`, as S3 reports a single-part upload's ETag. */
  readonly etag: string;
  /** Epoch milliseconds on the stack's clock. */
  readonly lastModified: number;
  readonly contentType: string;
  readonly tags: ReadonlyMap<string, string>;
  /** `x-amz-meta-*` headers of the upload, by lower-case name. */
  readonly metadata: ReadonlyMap<string, string>;
  /** The checksum the upload declared and the endpoint verified, base64 as S3 returns it. */
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
  readonly file: string;
}

/** What the body must match; a mismatch stores nothing. */
export interface BodyExpectations {
  /** Content-Length: a body that ends early is `IncompleteBody`. */
  readonly length: number;
  /** `Content-MD5`, base64. */
  readonly md5?: string;
  /** The signed payload hash, hex. */
  readonly sha256?: string;
  readonly checksum?: { readonly algorithm: ChecksumAlgorithm; readonly value: string };
}

export interface ObjectAttributes {
  readonly contentType: string;
  readonly tags: ReadonlyMap<string, string>;
  readonly metadata: ReadonlyMap<string, string>;
  readonly now: number;
  /** Checked once the body is in, just before the object replaces any other: may throw to store nothing. */
  readonly precondition?: () => void;
}

export class ObjectStore {
  private readonly buckets = new Map<string, Map<string, StoredObject>>();

  private constructor(private readonly dir: string) {}

  /** A store in a fresh temporary directory, removed by `close()`. */
  static async create(): Promise<ObjectStore> {
    return new ObjectStore(await mkdtemp(join(tmpdir(), 'ebb-s3-')));
  }

  createBucket(bucket: string): void {
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, new Map());
  }

  hasBucket(bucket: string): boolean {
    return this.buckets.has(bucket);
  }

  bucketNames(): string[] {
    return [...this.buckets.keys()];
  }

  get(bucket: string, key: string): StoredObject | undefined {
    return this.buckets.get(bucket)?.get(key);
  }

  /** Every object of `bucket` whose key starts with `prefix`, in key order (UTF-8 byte order, as S3 lists). */
  list(bucket: string, prefix = ''): StoredObject[] {
    const objects = [...(this.buckets.get(bucket)?.values() ?? [])].filter((o) => o.key.startsWith(prefix));
    return objects.sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  }

  /**
   * Streams `body` into a new file, checking its length and digests as it goes; only a body that
   * matches every expectation replaces the object (readers of the old version keep reading it).
   * @throws S3Error `IncompleteBody`, `BadDigest` or `XAmzContentSHA256Mismatch`, having stored nothing.
   */
  async put(bucket: string, key: string, body: Readable, expect: BodyExpectations, attributes: ObjectAttributes): Promise<StoredObject> {
    const file = join(this.dir, randomUUID());
    const digests = new Digests(expect);
    try {
      await pipeline(body, digests, createWriteStream(file, { flags: 'wx', highWaterMark: FILE_BUFFER_BYTES }));
      digests.verify();
    } catch (error) {
      await unlink(file).catch(() => undefined);
      if (error instanceof S3Error) throw error;
      throw new S3Error('IncompleteBody', 'The request body terminated unexpectedly');
    }
    const stored: StoredObject = {
      key,
      size: digests.bytes,
      etag: `"${digests.md5Hex}"`,
      lastModified: attributes.now,
      contentType: attributes.contentType,
      tags: attributes.tags,
      metadata: attributes.metadata,
      checksum: expect.checksum,
      file,
    };
    const objects = this.buckets.get(bucket);
    if (!objects) {
      await unlink(file).catch(() => undefined);
      throw new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket });
    }
    try {
      attributes.precondition?.();
    } catch (error) {
      await unlink(file).catch(() => undefined);
      throw error;
    }
    const previous = objects.get(key);
    objects.set(key, stored);
    if (previous) await unlink(previous.file).catch(() => undefined);
    return stored;
  }

  /** The object's bytes from `start` to `end` inclusive. */
  read(object: StoredObject, start = 0, end = object.size - 1): ReadStream {
    return createReadStream(object.file, { start, end, highWaterMark: FILE_BUFFER_BYTES });
  }

  async delete(bucket: string, key: string): Promise<boolean> {
    const object = this.buckets.get(bucket)?.get(key);
    if (!object) return false;
    this.buckets.get(bucket)!.delete(key);
    await unlink(object.file).catch(() => undefined);
    return true;
  }

  /** Replaces an object's tags (PutObjectTagging); false when there is no such object. */
  setTags(bucket: string, key: string, tags: ReadonlyMap<string, string>): boolean {
    const object = this.buckets.get(bucket)?.get(key);
    if (!object) return false;
    this.buckets.get(bucket)!.set(key, { ...object, tags });
    return true;
  }

  /** Deletes every object and the directory. */
  async close(): Promise<void> {
    this.buckets.clear();
    await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Checks a body already in memory (a DeleteObjects request's XML) as `put` checks a streamed one.
 * @throws S3Error as `put` does.
 */
export async function verifyBody(body: Buffer, expect: Omit<BodyExpectations, 'length'>): Promise<void> {
  const digests = new Digests({ ...expect, length: body.length });
  await pipeline(Readable.from([body]), digests, new Writable({ write: (_chunk, _encoding, done) => done() }));
  digests.verify();
}

/** Counts the bytes and hashes them as they pass, for the checks S3 makes once the body has arrived. */
class Digests extends Transform {
  bytes = 0;
  md5Hex = '';
  private readonly md5 = createHash('md5');
  private readonly sha256: Hash | undefined;
  private readonly sha1: Hash | undefined;
  private crc = 0;

  constructor(private readonly expect: BodyExpectations) {
    super();
    const algorithm = expect.checksum?.algorithm;
    this.sha256 = expect.sha256 || algorithm === 'SHA256' ? createHash('sha256') : undefined;
    this.sha1 = algorithm === 'SHA1' ? createHash('sha1') : undefined;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    this.bytes += chunk.length;
    if (this.bytes > this.expect.length) {
      done(new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header'));
      return;
    }
    this.md5.update(chunk);
    this.sha256?.update(chunk);
    this.sha1?.update(chunk);
    if (this.expect.checksum?.algorithm === 'CRC32') this.crc = crc32(chunk, this.crc);
    done(null, chunk);
  }

  /** @throws S3Error naming the first check the body failed. */
  verify(): void {
    if (this.bytes !== this.expect.length) {
      throw new S3Error('IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header');
    }
    const md5 = this.md5.digest();
    this.md5Hex = md5.toString('hex');
    const sha256 = this.sha256?.digest();
    if (this.expect.md5 !== undefined && md5.toString('base64') !== this.expect.md5) {
      throw new S3Error('BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    if (this.expect.sha256 && sha256?.toString('hex') !== this.expect.sha256) {
      throw new S3Error('XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    const checksum = this.expect.checksum;
    if (checksum) {
      const crc = Buffer.alloc(4);
      crc.writeUInt32BE(this.crc >>> 0);
      const actual = { CRC32: crc, SHA1: this.sha1?.digest(), SHA256: sha256 }[checksum.algorithm]!;
      if (actual.toString('base64') !== checksum.value) {
        throw new S3Error('BadDigest', `The ${checksum.algorithm} you specified did not match the calculated checksum.`);
      }
    }
  }
}
