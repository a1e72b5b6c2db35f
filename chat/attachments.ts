import { openAsBlob } from 'node:fs';
import { open, stat, unlink } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { printable } from '../shared/printable';
import { EbbError, type ReceivedAttachment } from '../client-sdk/src';

/** Media types by file extension, for `/file`: what a recipient's app needs to show an image or play a note. */
const MEDIA_TYPES: Readonly<Record<string, string>> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.pdf': 'application/pdf',
  '.txt': 'text/plain',
  '.md': 'text/markdown',
  '.json': 'application/json',
  '.zip': 'application/zip',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.oga': 'audio/ogg',
  '.opus': 'audio/ogg',
  '.m4a': 'audio/mp4',
  '.wav': 'audio/wav',
  '.webm': 'audio/webm',
  '.mp4': 'video/mp4',
};

/** The file at `path` as an attachment: read a chunk at a time as it uploads, never whole. */
export async function fileAttachment(path: string): Promise<{ name: string; type: string; data: Blob; size: number }> {
  const info = await stat(path);
  if (!info.isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' });
  const data = await openAsBlob(path);
  return { name: basename(path), type: MEDIA_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream', data, size: info.size };
}

/** `512 B`, `12.3 KiB`, `3.0 MiB`. */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 ** 2) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 ** 3) return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
  return `${(bytes / 1024 ** 3).toFixed(1)} GiB`;
}

/** `45 %`, rounded down so 100 % means done. */
export function percent(done: number, total: number): string {
  return `${total === 0 ? 100 : Math.floor((done * 100) / total)} %`;
}

/**
 * A progress callback that shows `percent` only when it reaches another tenth: a pipe gets at most ten
 * lines per file, not one per chunk.
 */
export function byTenths(show: (percentText: string) => void): (done: number, total: number) => void {
  let shown = -1;
  return (done, total) => {
    const tenth = total === 0 ? 10 : Math.floor((done * 10) / total);
    if (tenth === shown) return;
    shown = tenth;
    show(percent(done, total));
  };
}

/**
 * A file name the sender chose, made safe to create in the user's directory: no directory part, no control
 * or bidi characters (escaped as printable shows them, then path separators replaced), no leading dot (a
 * hidden or `..` file), at most 200 characters. Never empty.
 */
export function safeFileName(name: string): string {
  const cleaned = printable(name)
    .replace(/[/\\:]/g, '_')
    .replace(/^[.\s]+/, '')
    .slice(0, 200);
  return cleaned === '' ? 'attachment' : cleaned;
}

/**
 * Writes `attachment` into `dir` under its safe name, or `name (1).ext`… when that exists (never over a file),
 * a chunk at a time. A download that fails leaves no file behind.
 * @returns the path written.
 * @throws the download's EbbError (NOT_FOUND, INTERNAL with reason `attachment-integrity`…) or the file system's.
 */
export async function saveAttachment(
  attachment: ReceivedAttachment,
  dir: string,
  onProgress: (done: number, total: number) => void,
): Promise<string> {
  const safe = safeFileName(attachment.name);
  const ext = extname(safe);
  const stem = safe.slice(0, safe.length - ext.length);
  for (let n = 0; ; n++) {
    const path = join(dir, n === 0 ? safe : `${stem} (${n})${ext}`);
    let file;
    try {
      file = await open(path, 'wx', 0o600);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST' && n < 1000) continue;
      throw err;
    }
    try {
      await attachment.downloadTo(
        async (chunk) => {
          await file.write(chunk);
        },
        { onProgress },
      );
      await file.close();
      return path;
    } catch (err) {
      await file.close().catch(() => undefined);
      await unlink(path).catch(() => undefined);
      throw err;
    }
  }
}

/** Why a file could not be read, in words for the chat. */
export function fileFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'not a file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return printable(err instanceof Error ? err.message : String(err));
}

/** Why a download failed, in words for the chat. */
export function downloadFailure(err: unknown): string {
  if (EbbError.is(err, 'NOT_FOUND')) return 'it has expired or is gone from the service';
  if (EbbError.is(err) && err.reason === 'attachment-integrity') return 'it failed its integrity check (altered in storage): nothing was saved';
  if (EbbError.is(err)) return `${err.code}: ${printable(err.message)}`;
  return printable(err instanceof Error ? err.message : String(err));
}
