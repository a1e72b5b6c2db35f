import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { once } from 'node:events';
import { AttachmentOpener } from '../client-sdk/src/crypto/attachment';
import type { S3AttachmentObjects } from '../lambdas/adapters/attachment-objects';
import { attachmentRefFromWire, type AttachmentRefWire } from '../protocol/attachment-ref';

/**
 * `reports show --save-attachments DIR` (ARCH §6.12, §9): fetches each attachment of a reported message from
 * the bucket, opens it with the key the report revealed, checks it against the digest the franking
 * commitment covers, and writes the file. The SDK's own opener does the checking, chunk by chunk, so a file is
 * kept only when every chunk opened and the whole object hashes to the committed digest.
 */

/** What became of one attachment. */
export interface SavedAttachment {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  /**
   * `saved`: verified and written to `file`; `missing`: no longer stored (expired, purged or never uploaded);
   * `altered`: the stored object does not open to what the sender committed to, and nothing was written.
   */
  readonly status: 'saved' | 'missing' | 'altered';
  readonly file?: string;
}

/** Longest file name written, in UTF-16 code units, before the index prefix. */
const MAX_NAME_CHARS = 120;

/**
 * Saves every attachment of `refs` into `dir` (created if need be) as `<n>-<name>`, never overwriting a file.
 * @throws whatever storage or the file system throws; an altered or missing object is an outcome, not a throw.
 */
export async function saveAttachments(objects: S3AttachmentObjects, refs: readonly AttachmentRefWire[], dir: string): Promise<SavedAttachment[]> {
  await mkdir(dir, { recursive: true });
  const saved: SavedAttachment[] = [];
  for (const [index, wire] of refs.entries()) {
    const about = { id: wire.id, name: wire.name, type: wire.type, size: wire.size };
    const ref = attachmentRefFromWire(wire);
    const body = ref ? await objects.read(wire.id) : undefined;
    if (!ref || !body) {
      saved.push({ ...about, status: ref ? 'missing' : 'altered' });
      continue;
    }
    const file = path.join(dir, `${index + 1}-${safeFileName(wire.name)}`);
    const ok = await openInto(new AttachmentOpener(ref.key, ref.size, ref.digest), body, file);
    ref.key.fill(0);
    saved.push(ok ? { ...about, status: 'saved', file } : { ...about, status: 'altered' });
  }
  return saved;
}

/** Streams `body` through `opener` into `file`; on any mismatch the partial file is removed. */
async function openInto(opener: AttachmentOpener, body: AsyncIterable<Uint8Array>, file: string): Promise<boolean> {
  // 'wx': a name already in the directory is an error, not something to overwrite.
  const out = createWriteStream(file, { flags: 'wx' });
  let ok = true;
  try {
    for await (const piece of body) {
      const chunks = opener.push(piece);
      if (chunks === null) {
        ok = false;
        break;
      }
      for (const chunk of chunks) if (!out.write(chunk)) await once(out, 'drain');
    }
    ok = ok && opener.finish();
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (!ok) await rm(file, { force: true });
  return ok;
}

/**
 * The sender's file name as one harmless path segment: no directory parts, no leading dot (hidden files,
 * `..`), only characters every file system takes; what is left, or `attachment`.
 */
export function safeFileName(name: string): string {
  const base = name.split(/[/\\]/).pop() ?? '';
  const cleaned = base
    .normalize('NFC')
    .replace(/[^\p{L}\p{N} ._+-]/gu, '_')
    .replace(/^[.\s]+/, '')
    .slice(0, MAX_NAME_CHARS)
    .trim();
  return cleaned === '' ? 'attachment' : cleaned;
}
