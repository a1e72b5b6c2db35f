import type { AttachmentRef } from '../../../protocol/attachment-ref';
import { AttachmentOpener } from '../crypto/attachment';
import { nobleSha256 } from '../crypto/sha256-stream';
import { EbbError } from '../errors';
import { loadNodeSha256 } from '../load-module';
import { backoffDelay } from '../transport/backoff';
import { type AttachmentRoutes, type Fetch, TransferFailure, isRetryableStatus } from './routes';

/** Attempts at one download, each with a fresh presigned URL. */
export const DOWNLOAD_ATTEMPTS = 3;
const DOWNLOAD_BACKOFF = { baseDelayMs: 250, maxDelayMs: 2_000 } as const;

export interface DownloadOptions {
  readonly routes: AttachmentRoutes;
  readonly onProgress?: (receivedBytes: number, totalBytes: number) => void;
  readonly fetch?: Fetch;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Fetches the object with a presigned GET and opens it chunk by chunk (ARCH §8.10), handing each opened chunk to
 * `write` in order. Every chunk is authenticated before `write` sees it; the digest over the whole object is
 * checked at the end. On a rejection, discard whatever `write` received.
 * @throws EbbError NOT_FOUND (not retryable) when the object is unknown or expired.
 * @throws EbbError INTERNAL (not retryable, reason `attachment-integrity`) when the object is not the one the
 *   message names: altered, cut short, extended or reordered. Which check failed is not said.
 * @throws EbbError INTERNAL (retryable) when the bucket could not be reached after several attempts.
 */
export async function downloadAttachmentTo(
  ref: AttachmentRef,
  write: (chunk: Uint8Array) => void | Promise<void>,
  options: DownloadOptions,
): Promise<void> {
  let received = 0;
  await download(ref, options, async (opener, bytes) => {
    // Fresh arrays: the app may keep a chunk after it was handed out.
    const chunks = opener.push(bytes);
    if (!chunks) return false;
    for (const chunk of chunks) {
      await write(chunk);
      received += chunk.length;
      options.onProgress?.(received, ref.size);
    }
    return true;
  });
}

/** The whole file, once every chunk opened and the digest matched; see downloadAttachmentTo. */
export async function downloadAttachment(ref: AttachmentRef, options: DownloadOptions): Promise<Uint8Array> {
  const out = new Uint8Array(ref.size);
  let offset = 0;
  const take = (chunk: Uint8Array) => {
    // Each chunk opens into the opener's own array and is copied once, straight to its place.
    out.set(chunk, offset);
    offset += chunk.length;
    options.onProgress?.(offset, ref.size);
  };
  await download(ref, options, (opener, bytes) => opener.pushEach(bytes, take));
  return out;
}

/** Hands each piece of the body to the opener; false once the object is found altered. */
type Deliver = (opener: AttachmentOpener, bytes: Uint8Array) => boolean | Promise<boolean>;

async function download(ref: AttachmentRef, options: DownloadOptions, deliver: Deliver): Promise<void> {
  const doFetch = options.fetch ?? globalThis.fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  let lastFailure: unknown;
  for (let attempt = 0; attempt < DOWNLOAD_ATTEMPTS; attempt++) {
    if (attempt > 0) await sleep(backoffDelay(attempt - 1, DOWNLOAD_BACKOFF));
    const { url } = await options.routes.presignDownload(ref.id);
    let response: Response;
    try {
      response = await doFetch(url, { method: 'GET' });
    } catch (err) {
      lastFailure = err;
      continue;
    }
    if (response.status === 404) {
      await response.body?.cancel().catch(() => undefined);
      throw new EbbError('NOT_FOUND', 'the attachment is unknown or has expired', { retryable: false });
    }
    if (!response.ok || !response.body) {
      await response.body?.cancel().catch(() => undefined);
      lastFailure = new TransferFailure(response.status);
      if (isRetryableStatus(response.status)) continue;
      break;
    }
    // Once bytes flow, a failure is the object's, not the transport's: no retry could make it whole.
    return openStream(ref, response.body, deliver, options.onProgress);
  }
  throw new EbbError('INTERNAL', 'the attachment could not be downloaded', { retryable: true, cause: lastFailure });
}

async function openStream(
  ref: AttachmentRef,
  body: ReadableStream<Uint8Array>,
  deliver: Deliver,
  onProgress: ((receivedBytes: number, totalBytes: number) => void) | undefined,
): Promise<void> {
  const reader = body.getReader();
  let opener: AttachmentOpener | undefined;
  try {
    // Node's native SHA-256 where there is one (about ten times @noble/hashes, which browsers keep: load-module.ts).
    const sha256 = (await loadNodeSha256()) ?? nobleSha256;
    opener = new AttachmentOpener(ref.key, ref.size, ref.digest, { sha256 });
    onProgress?.(0, ref.size);
    for (;;) {
      let read: ReadableStreamReadResult<Uint8Array>;
      try {
        read = await reader.read();
      } catch (err) {
        throw new EbbError('INTERNAL', 'the attachment download was cut off', { retryable: true, cause: err });
      }
      if (read.done) break;
      if (!(await deliver(opener, read.value))) throw integrityError();
    }
    if (!opener.finish()) throw integrityError();
  } catch (err) {
    // The app's write may have failed, or the socket: the opener's copy of the key goes now, not at collection.
    opener?.abandon();
    await reader.cancel().catch(() => undefined);
    throw err;
  }
}

function integrityError(): EbbError {
  return new EbbError('INTERNAL', 'the attachment failed its integrity check: it is not what the message names', {
    retryable: false,
    reason: 'attachment-integrity',
  });
}
