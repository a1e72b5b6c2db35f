import nacl from 'tweetnacl';
import { EbbClient, type ReceivedMessage } from '../client-sdk/src';
import { ATTACHMENT_CHUNK_BYTES, AttachmentOpener, AttachmentSealer, newAttachmentKey } from '../client-sdk/src/crypto/attachment';
import { nobleSha256, nodeSha256, type Sha256Factory } from '../client-sdk/src/crypto/sha256-stream';
import { createHash } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { median, sampleRss } from './measure';
import { startStackProcess } from './stack-process';

export interface AttachmentBenchOptions {
  /** The file's size: 100 MiB in the full run, the size the peak-memory goal is stated for. */
  readonly megabytes: number;
  /**
   * Rounds of raw, send, raw, downloadTo, raw, download, then raw (the two downloads swap places every other
   * round): 5 by default.
   */
  readonly rounds?: number;
}

/**
 * Every MiB/s is the median over the rounds; every ratio is the median over the rounds of the path's rate
 * divided by the mean of the raw passes just before and just after it, so each path is set beside raw passes
 * that saw the same load. The `…RatioMin` / `…RatioMax` keys are the spread of those per-round ratios.
 */
export interface AttachmentBenchResult {
  readonly megabytes: number;
  readonly rounds: number;
  /** send() with one attachment: encrypt + presign + PUT to the local bucket (another process) + the message, MiB/s of file. */
  readonly uploadMiBps: number;
  /** download(): presign + GET + per-chunk open + digest, MiB/s of file. */
  readonly downloadMiBps: number;
  /** downloadTo() with a sink that keeps nothing: the bounded-memory path. */
  readonly downloadToMiBps: number;
  /** nacl.secretbox over the same bytes in 64 KiB chunks, between the paths: the yardstick. */
  readonly rawSecretboxMiBps: number;
  /** The slowest and fastest raw pass: how much the machine moved during the section. */
  readonly rawSecretboxMinMiBps: number;
  readonly rawSecretboxMaxMiBps: number;
  /** Each path beside the raw passes around it (goal ≥ 0.8): median, lowest and highest over the rounds. */
  readonly uploadRatio: number;
  readonly uploadRatioMin: number;
  readonly uploadRatioMax: number;
  readonly downloadToRatio: number;
  readonly downloadToRatioMin: number;
  readonly downloadToRatioMax: number;
  readonly downloadRatio: number;
  readonly downloadRatioMin: number;
  readonly downloadRatioMax: number;
  /**
   * The opener alone over the object in memory (no network, no endpoint), in 64 KiB pieces, with the SHA-256
   * browsers use (@noble/hashes) and with the one Node uses (node:crypto): what the download's crypto costs on
   * each platform, beside `rawSecretboxMiBps`.
   */
  readonly openerNobleMiBps: number;
  readonly openerNodeMiBps: number;
  /**
   * Peak RSS above the baseline (the file already in memory) during send(), the highest of the rounds: of the
   * bench's own process, the SDK's; the stack's child process is not counted.
   */
  readonly uploadPeakAboveBaselineMiB: number;
  /** Peak RSS above the baseline during downloadTo(), which keeps no chunk; the highest of the rounds. */
  readonly downloadToPeakAboveBaselineMiB: number;
  /** Peak RSS above the baseline during download(), which returns the whole file (counted in this figure). */
  readonly downloadPeakAboveBaselineMiB: number;
}

const MiB = 2 ** 20;
type Path = 'upload' | 'downloadTo' | 'download';
const PATHS: readonly Path[] = ['upload', 'downloadTo', 'download'];

/**
 * Attachments (ARCH §8.10) through the SDK on the local stack: one client sends a file of `megabytes` MiB to
 * another, which downloads it both ways, in several rounds with a raw secretbox pass over the same bytes
 * before and after every path: a single raw pass beside several seconds of transfers on a shared machine
 * moved each ratio by ±0.1 from run to run. The local stack (API, handlers, dynalite and the S3 endpoint that
 * stores and serves the file) runs in a child process, as S3 runs apart from a client on AWS: the SDK's thread
 * does only the SDK's work, and the peaks are of this process alone (RSS, heap and ArrayBuffers), the SDK's
 * with the bench around it, never the endpoint's buffers. Peaks are sampled every 10 ms after a full GC, as is
 * every raw pass: the garbage one pass leaves (sealed boxes, a returned file, the wrapper's padded copies) is
 * collected before the next one starts, not during it.
 */
export async function measureAttachments(options: AttachmentBenchOptions): Promise<AttachmentBenchResult> {
  const rounds = options.rounds ?? 5;
  const stack = await startStackProcess();
  const clients: EbbClient[] = [];
  try {
    const alice = await EbbClient.create({ url: stack.url, timeoutMs: 120_000 });
    const bob = await EbbClient.create({ url: stack.url, timeoutMs: 120_000 });
    clients.push(alice, bob);
    await alice.connect();
    await bob.connect();
    const inbox: ReceivedMessage[] = [];
    let arrived: (() => void) | undefined;
    bob.on('message', (msg) => {
      if (!msg.attachments) return;
      inbox.push(msg);
      arrived?.();
    });
    const nextReceived = async (): Promise<ReceivedMessage> => {
      while (inbox.length === 0) await new Promise<void>((resolve) => (arrived = resolve));
      return inbox.shift()!;
    };
    // First contact (bundles, sessions) outside the measurement.
    await alice.send(bob.userId, 'hello');

    const size = options.megabytes * MiB;
    const data = nacl.randomBytes(size);
    // Warm-up, untimed: a 1 MiB file through every path and raw secretbox, so no round pays for compilation.
    const warm = data.subarray(0, Math.min(size, MiB));
    rawSecretbox(warm);
    await alice.send(bob.userId, 'warm-up', { attachments: [{ name: 'warm.bin', type: 'application/octet-stream', data: warm }] });
    const [warmed] = (await nextReceived()).attachments!;
    await warmed!.downloadTo(() => undefined);
    await warmed!.download();
    const mibps = (seconds: number) => size / MiB / seconds;
    const raws: number[] = [rawSecretbox(data)];
    const rates: Record<Path, number[]> = { upload: [], downloadTo: [], download: [] };
    const ratios: Record<Path, number[]> = { upload: [], downloadTo: [], download: [] };
    const peaks: Record<Path, number> = { upload: 0, downloadTo: 0, download: 0 };
    const record = (path: Path, run: { seconds: number; peakAboveBaseline: number }) => {
      const before = raws[raws.length - 1]!;
      raws.push(rawSecretbox(data));
      const rate = mibps(run.seconds);
      rates[path].push(rate);
      ratios[path].push(rate / ((before + raws[raws.length - 1]!) / 2));
      peaks[path] = Math.max(peaks[path], run.peakAboveBaseline);
    };

    for (let round = 0; round < rounds; round++) {
      const upload = await measured(() =>
        alice.send(bob.userId, 'file', { attachments: [{ name: 'bench.bin', type: 'application/octet-stream', data }] }),
      );
      record('upload', upload);
      const [attachment] = (await nextReceived()).attachments!;
      // The download right after the upload ran slower with the endpoint in this process (downloadTo at 0.70 of
      // raw there, 0.83–0.87 right after the other download; flushing the endpoint's dirty pages in between
      // changed nothing): the two take turns at it.
      for (const path of round % 2 === 0 ? (['downloadTo', 'download'] as const) : (['download', 'downloadTo'] as const)) {
        if (path === 'downloadTo') record(path, await measured(() => attachment!.downloadTo(() => undefined)));
        else {
          const whole = await measured(() => attachment!.download());
          if (whole.value.length !== size || whole.value[size - 1] !== data[size - 1]) throw new Error('bench: the download differs from the file');
          record(path, whole);
        }
      }
    }
    // Last, so the object it seals in memory is in no peak above.
    const openers = openerAlone(data);

    const sorted = (values: readonly number[]) => [...values].sort((x, y) => x - y);
    const spread = (path: Path) => {
      const r = sorted(ratios[path]);
      return { ratio: median(r), min: r[0]!, max: r[r.length - 1]! };
    };
    const [up, to, whole] = PATHS.map(spread) as [ReturnType<typeof spread>, ReturnType<typeof spread>, ReturnType<typeof spread>];
    const rawSorted = sorted(raws);
    return {
      megabytes: options.megabytes,
      rounds,
      uploadMiBps: median(rates.upload),
      downloadMiBps: median(rates.download),
      downloadToMiBps: median(rates.downloadTo),
      rawSecretboxMiBps: median(raws),
      rawSecretboxMinMiBps: rawSorted[0]!,
      rawSecretboxMaxMiBps: rawSorted[rawSorted.length - 1]!,
      uploadRatio: up.ratio,
      uploadRatioMin: up.min,
      uploadRatioMax: up.max,
      downloadToRatio: to.ratio,
      downloadToRatioMin: to.min,
      downloadToRatioMax: to.max,
      downloadRatio: whole.ratio,
      downloadRatioMin: whole.min,
      downloadRatioMax: whole.max,
      openerNobleMiBps: openers.noble,
      openerNodeMiBps: openers.node,
      uploadPeakAboveBaselineMiB: peaks.upload / MiB,
      downloadToPeakAboveBaselineMiB: peaks.downloadTo / MiB,
      downloadPeakAboveBaselineMiB: peaks.download / MiB,
    };
  } finally {
    for (const client of clients) await client.close();
    await stack.stop();
  }
}

/**
 * Runs `run`, sampling every 10 ms this process's RSS (not the stack's child) and the JavaScript memory it holds (V8 heap plus
 * ArrayBuffers, where the file's chunks live); the peak above the baseline is the larger of the two rises,
 * since RSS alone can hide growth into pages freed earlier.
 */
async function measured<T>(run: () => Promise<T>): Promise<{ value: T; seconds: number; peakAboveBaseline: number }> {
  fullGc();
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

/**
 * nacl.secretbox over all of `data` in the SDK's chunk size, once (the same bytes the SDK paths move), and
 * again until at least half a second has passed, so a small file (--quick) is not timed in a few ms.
 */
function rawSecretbox(data: Uint8Array): number {
  fullGc();
  const key = nacl.randomBytes(nacl.secretbox.keyLength);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  let bytes = 0;
  const started = performance.now();
  do {
    for (let start = 0; start < data.length; start += ATTACHMENT_CHUNK_BYTES) {
      nacl.secretbox(data.subarray(start, start + ATTACHMENT_CHUNK_BYTES), nonce, key);
    }
    bytes += data.length;
  } while (performance.now() - started < 500);
  return bytes / MiB / ((performance.now() - started) / 1000);
}

let gc: (() => void) | undefined;

/** A full garbage collection: V8's gc(), exposed for this process if node was started without --expose-gc. */
function fullGc(): void {
  if (!gc) {
    gc = (globalThis as { gc?: () => void }).gc;
    if (!gc) {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    }
  }
  gc();
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
    fullGc();
    const started = performance.now();
    for (let at = 0; at < object.length; at += ATTACHMENT_CHUNK_BYTES) {
      if (!opener.pushEach(object.subarray(at, at + ATTACHMENT_CHUNK_BYTES), () => undefined)) throw new Error('bench: the object did not open');
    }
    if (!opener.finish()) throw new Error('bench: the object did not verify');
    return data.length / MiB / ((performance.now() - started) / 1000);
  };
  return { noble: run(nobleSha256), node: run(nodeSha256((algorithm) => createHash(algorithm))) };
}
