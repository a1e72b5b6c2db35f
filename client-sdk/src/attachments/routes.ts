/** What the attachment transfers need of the service and the platform (ARCH §8.10). */

/** The two presign routes, as the client's connection answers them. */
export interface AttachmentRoutes {
  /**
   * A presigned PUT for an object of exactly `size` bytes (the encrypted length), expiring with a message that
   * lives `expiresInSeconds` (the deployment's retention when absent).
   */
  presignUpload(
    size: number,
    expiresInSeconds?: number,
  ): Promise<{ readonly id: string; readonly url: string; readonly headers?: Readonly<Record<string, string>> }>;
  /** A presigned GET for the object `id`. */
  presignDownload(id: string): Promise<{ readonly url: string }>;
}

/** `fetch`, injectable so tests can fail a transfer on purpose. */
export type Fetch = (url: string, init?: RequestInit) => Promise<Response>;

/** An HTTP answer that was not a success, kept as an error's `cause` (the status only: never a body). */
export class TransferFailure extends Error {
  override readonly name = 'TransferFailure';
  constructor(readonly status: number) {
    super(`the bucket answered HTTP ${status}`);
  }
}

/**
 * Whether another attempt with a new URL may succeed: the bucket's own failures (5xx), throttling (429), a
 * timeout (408), and 403, which is what S3 answers for a presigned URL that expired while the request waited.
 */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || status === 429 || status === 408 || status === 403;
}
