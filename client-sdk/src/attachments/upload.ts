import * as v from 'valibot';
import {
  AttachmentName,
  AttachmentType,
  type AttachmentRef,
  MAX_ATTACHMENTS_PER_MESSAGE,
  MAX_ATTACHMENT_NAME_CHARS,
  MAX_ATTACHMENT_TYPE_CHARS,
} from '../../../protocol/attachment-ref';
import { ATTACHMENT_CHUNK_BYTES, AttachmentSealer, attachmentCiphertextLength, newAttachmentKey } from '../crypto/attachment';
import { randomBytes } from '../crypto/random';
import { nobleSha256 } from '../crypto/sha256-stream';
import { EbbError, badRequest } from '../errors';
import { loadNodeHttp, loadNodeSha256 } from '../load-module';
import { backoffDelay } from '../transport/backoff';
import { nodePut } from './node-put';
import type { OutgoingAttachment } from '../types';
import { type AttachmentRoutes, type Fetch, TransferFailure, isRetryableStatus } from './routes';

/** Attempts at one attachment's upload, each with a fresh presigned URL, before the send gives up. */
export const UPLOAD_ATTEMPTS = 4;
const UPLOAD_BACKOFF = { baseDelayMs: 250, maxDelayMs: 4_000 } as const;
/** The nonce prefix's length (crypto/attachment.ts): kept so a retry seals the same object again. */
const PREFIX_BYTES = 19;

export interface UploadOptions {
  readonly routes: AttachmentRoutes;
  /** The server-side lifetime of the message they go with: the objects expire with it (ARCH §6.12). */
  readonly expiresInSeconds?: number;
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
  readonly fetch?: Fetch;
  /** Waits between attempts; tests pass one that does not sleep. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * Checks every attachment before anything is uploaded: the count, each name, type and data, and each
 * file's size against the deployment's `maxAttachmentBytes`.
 * @throws EbbError BAD_REQUEST for a malformed list or attachment, PAYLOAD_TOO_LARGE for one over the limit.
 */
export function checkAttachments(attachments: unknown, maxAttachmentBytes: number): readonly OutgoingAttachment[] {
  if (!Array.isArray(attachments)) throw badRequest('attachments: must be an array');
  if (attachments.length > MAX_ATTACHMENTS_PER_MESSAGE) throw badRequest(`attachments: at most ${MAX_ATTACHMENTS_PER_MESSAGE} per message`);
  attachments.forEach((a: unknown, i) => {
    if (typeof a !== 'object' || a === null) throw badRequest(`attachments[${i}]: must be an object`);
    const { name, type, data } = a as Record<string, unknown>;
    if (!v.safeParse(AttachmentName, name).success)
      throw badRequest(`attachments[${i}].name: must be 1 to ${MAX_ATTACHMENT_NAME_CHARS} characters, none a control character`);
    if (!v.safeParse(AttachmentType, type).success)
      throw badRequest(`attachments[${i}].type: must be a media type (type/subtype) of at most ${MAX_ATTACHMENT_TYPE_CHARS} characters`);
    if (!(data instanceof Uint8Array) && !isBlob(data)) throw badRequest(`attachments[${i}].data: must be a Uint8Array or a Blob`);
  });
  const checked = attachments as OutgoingAttachment[];
  checked.forEach((a, i) => {
    const size = sizeOf(a.data);
    if (size > maxAttachmentBytes) {
      throw new EbbError('PAYLOAD_TOO_LARGE', `attachments[${i}] holds ${size} bytes; this service accepts ${maxAttachmentBytes}`);
    }
  });
  return checked;
}

/**
 * Encrypts and uploads each attachment, one after another, straight to the bucket with a presigned PUT
 * (ARCH §8.10). A failed PUT (network, 5xx, an expired URL) is tried again with backoff and a new URL, sealing
 * the same object again from the same key and nonce prefix. Resolves with the references the message carries.
 * @throws EbbError INTERNAL (retryable, reason `attachment-upload`) when an upload failed every attempt; the
 *   presign route's own refusals (PAYLOAD_TOO_LARGE, RATE_LIMITED, SERVICE_READ_ONLY…) as they come.
 */
export async function uploadAttachments(attachments: readonly OutgoingAttachment[], options: UploadOptions): Promise<AttachmentRef[]> {
  const total = attachments.reduce((n, a) => n + sizeOf(a.data), 0);
  let done = 0;
  options.onProgress?.(0, total);
  const refs: AttachmentRef[] = [];
  for (const attachment of attachments) {
    const size = sizeOf(attachment.data);
    const base = done;
    let reported = 0;
    const progress = (sent: number) => {
      // A retry starts again from the first byte: the app sees progress that only goes forward.
      if (sent <= reported) return;
      reported = sent;
      options.onProgress?.(base + sent, total);
    };
    refs.push({ ...(await uploadOne(attachment, size, progress, options)), size, name: attachment.name, type: attachment.type });
    done += size;
  }
  return refs;
}

async function uploadOne(
  attachment: OutgoingAttachment,
  size: number,
  progress: (sent: number) => void,
  options: UploadOptions,
): Promise<{ id: string; key: Uint8Array; digest: Uint8Array }> {
  const key = newAttachmentKey();
  const prefix = randomBytes(PREFIX_BYTES);
  const length = attachmentCiphertextLength(size);
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  // On Node, its own HTTP client, which waits for the socket; fetch (an app's, or the browser's) otherwise.
  const node = options.fetch === undefined && streamsBodies() ? await loadNodeHttp() : null;
  const doFetch = options.fetch ?? globalThis.fetch;
  // Node's native SHA-256 where there is one (about ten times @noble/hashes, which browsers keep: load-module.ts).
  const sha256 = (await loadNodeSha256()) ?? nobleSha256;
  let lastFailure: unknown;
  try {
    for (let attempt = 0; attempt < UPLOAD_ATTEMPTS; attempt++) {
      if (attempt > 0) await sleep(backoffDelay(attempt - 1, UPLOAD_BACKOFF));
      const target = await options.routes.presignUpload(length, options.expiresInSeconds);
      const sealer = new AttachmentSealer(key, size, prefix, { sha256 });
      try {
        const headers = { ...target.headers, 'content-type': 'application/octet-stream' };
        const pieces = sealedPieces(attachment.data, sealer, progress);
        let status: number;
        if (node) status = await nodePut(node, target.url, headers, length, pieces);
        else {
          const body = await requestBody(pieces);
          const response = await doFetch(target.url, {
            method: 'PUT',
            headers: { ...headers, ...(streamsBodies() && { 'content-length': String(length) }) },
            body,
            ...(streamsBodies() && { duplex: 'half' }),
          } as RequestInit);
          await response.body?.cancel().catch(() => undefined);
          status = response.status;
        }
        if (status >= 200 && status < 300 && sealer.done) {
          progress(size);
          return { id: target.id, key: key.slice(), digest: sealer.digest() };
        }
        lastFailure = new TransferFailure(status);
        if (!isRetryableStatus(status)) break;
      } catch (err) {
        // A network failure: the bytes may or may not have landed; a new URL names a new object either way.
        lastFailure = err;
      } finally {
        sealer.wipe();
      }
    }
  } finally {
    key.fill(0);
  }
  throw new EbbError('INTERNAL', 'an attachment could not be uploaded; no message was sent', {
    retryable: true,
    reason: 'attachment-upload',
    cause: lastFailure,
  });
}

/**
 * The sealed object, a piece at a time: the header, then each chunk sealed as it is asked for, then null.
 * Each call first counts the piece before it as sent (the transport took it).
 */
function sealedPieces(data: Uint8Array | Blob, sealer: AttachmentSealer, progress: (sent: number) => void): () => Promise<Uint8Array | null> {
  let index = 0;
  let sent = 0;
  let headerDone = false;
  return async () => {
    progress(sent);
    if (!headerDone) {
      headerDone = true;
      return sealer.header();
    }
    if (sealer.done) return null;
    const start = index * ATTACHMENT_CHUNK_BYTES;
    const end = Math.min(sealer.size, start + ATTACHMENT_CHUNK_BYTES);
    const chunk = data instanceof Uint8Array ? data.subarray(start, end) : new Uint8Array(await data.slice(start, end).arrayBuffer());
    index++;
    const box = sealer.seal(chunk);
    sent = end;
    return box;
  };
}

/**
 * The sealed object as a fetch body (Node's own HTTP client takes the pieces directly: node-put.ts). With
 * Node's fetch (an app's own fetch on Node), a stream that seals each chunk as the transport pulls it. Browsers
 * send a stream only over HTTP/2 and never with a length, which S3 requires: there the sealed chunks become a
 * Blob, which browsers may keep on disk.
 */
async function requestBody(next: () => Promise<Uint8Array | null>): Promise<BodyInit> {
  if (streamsBodies()) {
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        const piece = await next();
        if (piece) controller.enqueue(piece);
        else controller.close();
      },
    });
  }
  const parts: Uint8Array[] = [];
  for (let piece = await next(); piece; piece = await next()) parts.push(piece);
  return new Blob(parts as BlobPart[]);
}

/** Node's fetch streams a request body with the length given; browsers cannot (see requestBody). */
function streamsBodies(): boolean {
  const process = (globalThis as { process?: { versions?: { node?: unknown } } }).process;
  return typeof process?.versions?.node === 'string';
}

function isBlob(value: unknown): value is Blob {
  return typeof Blob !== 'undefined' && value instanceof Blob;
}

function sizeOf(data: Uint8Array | Blob): number {
  return data instanceof Uint8Array ? data.length : data.size;
}
