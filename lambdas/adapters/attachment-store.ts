import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { AttachmentStore, Clock } from '../core/ports';

/**
 * Presigned S3 URLs for attachment objects (ARCH §6.12), made with `@aws-sdk/s3-request-presigner`: SigV4 query
 * signatures with the Lambda's own credentials, so a URL can do exactly what the route's grant allows. The
 * S3 client must be made with `attachmentS3ClientConfig` (no checksum of the empty request body signed in).
 */
export class S3AttachmentStore implements AttachmentStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
    private readonly clock: Clock,
  ) {}

  presignUpload(key: string, size: number, expiresInSeconds: number): Promise<string> {
    // ContentLength puts `content-length` among the signed headers: S3 refuses a PUT of any other length.
    const command = new PutObjectCommand({ Bucket: this.bucket, Key: key, ContentLength: size });
    return getSignedUrl(this.s3, command, { expiresIn: expiresInSeconds, signingDate: new Date(this.clock.now()) });
  }

  presignDownload(key: string, expiresInSeconds: number): Promise<string> {
    const command = new GetObjectCommand({ Bucket: this.bucket, Key: key });
    return getSignedUrl(this.s3, command, { expiresIn: expiresInSeconds, signingDate: new Date(this.clock.now()) });
  }
}

/**
 * Options every S3 client of ebb is made with. Checksums only where S3 requires them: by default the SDK
 * would sign a CRC32 of the (empty) body into a presigned PUT, which S3 then holds the upload to, and ask
 * for checksums on every GET.
 */
export const attachmentS3ClientConfig = { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } as const;
