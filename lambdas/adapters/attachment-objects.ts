import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { AttachmentObjects, StoredObject, SweepPage } from '../core/ports';

/** The attachments bucket the local stack creates on its S3 endpoint; `ebb-admin --s3-endpoint` reads it. */
export const LOCAL_ATTACHMENTS_BUCKET = 'ebb-attachments-local';

/** DeleteObjects takes at most this many keys a request. */
const DELETE_BATCH = 1000;

/**
 * The attachments bucket as a whole, for the purge and `ebb-admin stats` (ARCH §6.12): ListObjectsV2 pages and
 * DeleteObjects batches. Only the lifecycle Lambda and the operator hold these grants.
 */
export class S3AttachmentObjects implements AttachmentObjects {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async list(cursor: string | null, limit: number): Promise<SweepPage<StoredObject>> {
    const page = await this.s3.send(
      new ListObjectsV2Command({ Bucket: this.bucket, MaxKeys: limit, ...(cursor !== null && { ContinuationToken: cursor }) }),
    );
    const items = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ key: o.Key, size: o.Size ?? 0 }]));
    return { items, cursor: page.IsTruncated && page.NextContinuationToken ? page.NextContinuationToken : null };
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const answer = await this.s3.send(
        new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      // DeleteObjects answers 200 with per-key errors; a key already gone is not one of them.
      const failed = answer.Errors ?? [];
      if (failed.length > 0)
        throw new Error(`DeleteObjects failed for ${failed.length} of ${batch.length} objects (${failed[0]?.Code ?? 'unknown'})`);
    }
  }
}
