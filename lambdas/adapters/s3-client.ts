import { S3Client } from '@aws-sdk/client-s3';
import { LambdaEnv } from '../lambda-env';
import type { AdapterContext } from './wiring';

/**
 * Options every S3 client of ebb is made with. Checksums only where S3 requires them: by default the SDK
 * would sign a CRC32 of the (empty) body into a presigned PUT, which S3 then holds the upload to, and ask
 * for checksums on every GET.
 */
export const attachmentS3ClientConfig = { requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } as const;

/**
 * The attachments bucket and an S3 client for it: the options', or one from the Lambda's environment. In a
 * module of its own, as are the two adapters using it, so only the Lambdas granted the bucket load the S3 client.
 * @throws Error when the handler was not given the bucket.
 */
export function attachmentsBucket(c: AdapterContext): { s3: S3Client; bucket: string } {
  const bucket = c.options.attachmentsBucket;
  if (!bucket) throw new Error(`${LambdaEnv.attachmentsBucket} is not set for this handler`);
  return { s3: c.options.s3 ?? new S3Client(attachmentS3ClientConfig), bucket };
}
