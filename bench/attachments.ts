import nacl from 'tweetnacl';
import { EbbClient, type ReceivedMessage } from '../client-sdk/src';
import { ATTACHMENT_CHUNK_BYTES, AttachmentOpener, AttachmentSealer, newAttachmentKey } from '../client-sdk/src/crypto/attachment';
import { nobleSha256, nodeSha256, type Sha256Factory } from '../client-sdk/src/crypto/sha256-stream';
import { createHash } from 'node:crypto';
import { sampleRss } from './measure';
import { startMeteredStack } from './stack';

export interface AttachmentBenchOptions {
  /** The file's size: 100 MiB in the full run, the size the peak-memory goal is stated for. */
  readonly megabytes: number;
}

export interface AttachmentBenchResult {
  readonly megabytes: number;
  /** send() with one attachment: encrypt + presign + PUT to the local bucket + the message, MiB/s of file. */
  readonly uploadMiBps: number;
  /** download(): presign + GET + per-chunk open + digest, MiB/s of file. */
  readonly downloadMiBps: number;
  /** downloadTo() with a sink that keeps nothing: the bounded-memory path. */
  readonly downloadToMiBps: number;
  /** nacl.secretbox over the same bytes in 64 KiB chunks, in this run: the ceiling for the SDK's encryption. */
  readonly rawSecretboxMiBps: number;
  /**
   * The opener alone over the object in memory (no network, no endpoint), in 64 KiB pieces, with the SHA-256
   * browsers use (@noble/hashes) and with the one Node uses (node:crypto): what the download's crypto costs on
   * each platform, beside `rawSecretboxMiBps`.
   */
  readonly openerNobleMiBps: number;
  readonly openerNodeMiBps: number;
  /** Peak RSS above the baseline (the file already in memory) during send(): the sealed object is never held whole. */
  readonly uploadPeakAboveBaselineMiB: number;
  /** Peak RSS above the baseline during downloadTo(), which keeps no chunk. */
  readonly downloadToPeakAboveBaselineMiB: number;
  /** Peak RSS above the baseline during download(), which returns the whole file (counted in this figure). */
  readonly downloadPeakAboveBaselineMiB: number;
}

const MiB = 2 ** 20;

/**
 * Attachments (ARCH §8.10) through the SDK on the local stack: one client sends a file of `megabytes` MiB to
 * another, which downloads it both ways. The local bucket runs in this process and streams objects to files,
 * so its own buffers count in the peaks too; on AWS they would not. Peaks are sampled every 10 ms after a GC
 * (run with --expose-gc for steadier figures; without it the baseline is taken as is).
 */
export async function measureAttachments(options: AttachmentBenchOptions): Promise<AttachmentBenchResult> {
  const m = await startMeteredStack();
  const clients: EbbClient[] = [];
  try {
    const alice = await EbbClient.create({ url: m.stack.url, timeoutMs: 120_000 });
    const bob = await EbbClient.create({ url: m.stack.url, timeoutMs: 120_000 });
    clients.push(alice, bob);
    await alice.connect();
    await bob.connect();
    const received = new Promise<ReceivedMessage>((resolve) => bob.on('message', (msg) => msg.attachments && resolve(msg)));
    // First contact (bundles, sessions) outside the measurement.
    await alice.send(bob.userId, 'hello');

    const size = options.megabytes * MiB;
    const data = nacl.randomBytes(size);
    const rawSecretboxMiBps = rawSecretbox(data);

    const upload = await measured(() =>
      alice.send(bob.userId, 'file', { attachments: [{ name: 'bench.bin', type: 'application/octet-stream', data }] }),
    );
    const [attachment] = (await received).attachments!;

    const streamed = await measured(() => attachment!.downloadTo(() => undefined));
    const whole = await measured(() => attachment!.download());
    if (whole.value.length !== size || whole.value[size - 1] !== data[size - 1]) throw new Error('bench: the download differs from the file');
    // Last, so the object it seals in memory is in no peak above.
    const openers = openerAlone(data);

    return {
      megabytes: options.megabytes,
      uploadMiBps: size / MiB / upload.seconds,
      downloadMiBps: size / MiB / whole.seconds,
      downloadToMiBps: size / MiB / streamed.seconds,
      rawSecretboxMiBps,
      openerNobleMiBps: openers.noble,
      openerNodeMiBps: openers.node,
      uploadPeakAboveBaselineMiB: upload.peakAboveBaseline / MiB,
      downloadToPeakAboveBaselineMiB: streamed.peakAboveBaseline / MiB,
      downloadPeakAboveBaselineMiB: whole.peakAboveBaseline / MiB,
    };
  } finally {
    for (const client of clients) await client.close();
    await m.stack.stop();
  }
}

/**
 * Runs `run`, sampling every 10 ms the process's RSS and the JavaScript memory it holds (V8 heap plus
 * ArrayBuffers, where the file's chunks live); the peak above the baseline is the larger of the two rises,
 * since RSS alone can hide growth into pages freed earlier.
 */
async function measured<T>(run: () => Promise<T>): Promise<{ value: T; seconds: number; peakAboveBaseline: number }> {
  (globalThis as { gc?: () => void }).gc?.();
  const held = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const baseline = { rss: process.memoryUsage().rss, held: held() };
  let peakHeld = baseline.held;
  const timer = setInterval(() => (peakHeld = Math.max(peakHeld, held())), 10);
  const rss = sampleRss(10);
  const started = performance.now();
  const value = await run();
  const seconds = (performance.now() - started) / 1000;
  clearInterval(timer);
  const peakAboveBaseline = Math.max(0, rss.stop() - baseline.rss, Math.max(peakHeld, held()) - baseline.held);
  return { value, seconds, peakAboveBaseline };
}

/** secretbox over `data` in the SDK's chunk size, as many passes as fit in a second or so. */
function rawSecretbox(data: Uint8Array): number {
  const key = nacl.randomBytes(nacl.secretbox.keyLength);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  let bytes = 0;
  const started = performance.now();
  do {
    for (let start = 0; start < data.length; start += ATTACHMENT_CHUNK_BYTES) {
      nacl.secretbox(data.subarray(start, start + ATTACHMENT_CHUNK_BYTES), nonce, key);
    }
    bytes += data.length;
  } while (performance.now() - started < 1000);
  return bytes / MiB / ((performance.now() - started) / 1000);
}

/** The SDK's opener over `data` sealed in memory, pushed in 64 KiB pieces as a socket hands them, with each SHA-256. */
function openerAlone(data: Uint8Array): { noble: number; node: number } {
  const key = newAttachmentKey();
  const sealer = new AttachmentSealer(key, data.length);
  const parts = [sealer.header()];
  for (let start = 0; !sealer.done; start += ATTACHMENT_CHUNK_BYTES) parts.push(sealer.seal(data.subarray(start, start + ATTACHMENT_CHUNK_BYTES)));
  const object = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (object.set(p, at), at + p.length), 0);
  parts.length = 0;
  const digest = sealer.digest();
  const run = (sha256: Sha256Factory): number => {
    const opener = new AttachmentOpener(key, data.length, digest, { sha256 });
    const started = performance.now();
    for (let at = 0; at < object.length; at += ATTACHMENT_CHUNK_BYTES) {
      if (!opener.pushEach(object.subarray(at, at + ATTACHMENT_CHUNK_BYTES), () => undefined)) throw new Error('bench: the object did not open');
    }
    if (!opener.finish()) throw new Error('bench: the object did not verify');
    return data.length / MiB / ((performance.now() - started) / 1000);
  };
  return { noble: run(nobleSha256), node: run(nodeSha256((algorithm) => createHash(algorithm))) };
}
