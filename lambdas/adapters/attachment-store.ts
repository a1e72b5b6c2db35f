import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AttachmentStore, Clock, PresignedPut } from '../core/ports';
import { attachmentsBucket } from './s3-client';
import type { AdapterContext } from './wiring';

/**
 * Presigned S3 URLs for attachment objects (ARCH §6.12), made with `@aws-sdk/s3-request-presigner`: SigV4 query
 * signatures with the Lambda's own credentials, so a URL can do exactly what the route's grant allows. The
 * S3 client must be made with `attachmentS3ClientConfig` (s3-client.ts: no checksum of the empty body signed in).
 */
export class S3AttachmentStore implements AttachmentStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly clock: Clock,
  ) {}

  async presignUpload(key: string, size: number, expiresInSeconds: number): Promise<PresignedPut> {
    // ContentLength puts `content-length` among the signed headers: S3 refuses a PUT of any other length.
    // IfNoneMatch signs `if-none-match: *`, S3's conditional write: a PUT to a key that holds an object is
    // refused (412), so a URL replayed within its lifetime cannot replace the uploaded ciphertext.
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentLength: size, IfNoneMatch: '*' });
    const url = await getSignedUrl(this.s3, command, { expiresIn: expiresInSeconds, signingDate: new Date(this.clock.now()) });
    return { url, headers: { 'if-none-match': '*' } };
  }

  presignDownload(key: string, expiresInSeconds: number): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: key });
    return getSignedUrl(this.s3, command, { expiresIn: expiresInSeconds, signingDate: new Date(this.clock.now()) });
  }
}

/** Presigns attachment URLs with the handler's own credentials; a handler not granted the bucket fails on first use. */
export const s3Attachments = (c: AdapterContext): AttachmentStore => {
  const { s3, bucket } = attachmentsBucket(c);
  return new S3AttachmentStore(s3, bucket, c.options.clock);
};
