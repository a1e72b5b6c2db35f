import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { attachmentLifecycleRules } from '../lambdas/core/attachment-expiry';
import type { BucketAction } from '../lambdas/routes';
import { requireWholeNumber } from './validate';

export interface EbbAttachmentsBucketProps {
  /** `retentionDays` bounds every object's life; one lifecycle rule per lifetime class up to it (ARCH §6.12). */
  readonly retentionDays: number;

  /** Browser origins that may PUT and GET through presigned URLs (`webOrigins`); none means no CORS at all. */
  readonly webOrigins: readonly string[];

  /**
   * What happens to the bucket when it leaves the stack. `DESTROY` deletes it only once it is empty, which the
   * purge sees to (ARCH §10.4); objects left by a `cdk destroy` before the purge keep the bucket, and the stack
   * deletion fails, rather than lose them unannounced.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/** How long a browser may cache a CORS preflight answer. */
const CORS_MAX_AGE_SECONDS = 3000;

/**
 * The attachments bucket (ARCH §6.12): attachment ciphertexts, uploaded and downloaded through URLs the two
 * attachment routes presign, and nothing else. No public access, TLS (1.2 or later) only, S3-managed
 * encryption at rest, ACLs disabled, no versioning (an expired or purged object must really be gone), and
 * the lifecycle rules of `attachmentLifecycleRules`, which the local S3 endpoint applies too.
 *
 * No server access log: it would record the address of every uploader and downloader next to the object
 * id, linking the sender of a message to its recipients, which ebb keeps out of every log (ARCH §12).
 */
export class EbbAttachmentsBucket extends Construct {
  readonly bucket: s3.Bucket;

  constructor(scope: Construct, id: string, props: EbbAttachmentsBucketProps) {
    super(scope, id);
    requireWholeNumber(this, 'retentionDays', props.retentionDays, 1, 365);
    this.bucket = new s3.Bucket(this, 'Bucket', {
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      minimumTLSVersion: 1.2,
      encryption: s3.BucketEncryption.S3_MANAGED,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: false,
      lifecycleRules: attachmentLifecycleRules(props.retentionDays).map((rule) => ({
        id: rule.id,
        ...(rule.prefix !== '' && { prefix: rule.prefix }),
        expiration: Duration.days(rule.days),
        ...(rule.abortIncompleteMultipartUploadDays !== undefined && {
          abortIncompleteMultipartUploadAfter: Duration.days(rule.abortIncompleteMultipartUploadDays),
        }),
      })),
      cors:
        props.webOrigins.length === 0
          ? undefined
          : [
              {
                allowedOrigins: [...props.webOrigins],
                allowedMethods: [s3.HttpMethods.PUT, s3.HttpMethods.GET, s3.HttpMethods.HEAD],
                // The SDK sends Content-Type with its PUT; what a URL may do is fixed by its signature, not by CORS.
                allowedHeaders: ['*'],
                exposedHeaders: ['ETag'],
                maxAge: CORS_MAX_AGE_SECONDS,
              },
            ],
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'Server access logs would record the address of every uploader and downloader next to the object id, linking the sender of a message to its recipients; ebb keeps that link out of every log.',
    });
  }

  /**
   * Grants `grantee` exactly `actions`: object actions on the bucket's objects, `s3:ListBucket` on the bucket.
   * Not Bucket.grantPut/grantRead, which add more actions than a presigned URL should carry.
   */
  grant(grantee: iam.IGrantable, actions: readonly BucketAction[]): void {
    const objectActions = actions.filter((action) => action !== 's3:ListBucket');
    if (objectActions.length > 0) {
      iam.Grant.addToPrincipal({ grantee, actions: [...new Set(objectActions)], resourceArns: [this.bucket.arnForObjects('*')] });
      const bucketLogicalId = Stack.of(this).getLogicalId(this.bucket.node.defaultChild as CfnElement);
      Validations.of(grantee instanceof Construct ? grantee : this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketLogicalId}.Arn>/*]`,
        reason: "Object keys are random ids made at request time; the grant is the listed object actions on this one bucket's objects.",
      });
    }
    if (actions.includes('s3:ListBucket')) {
      iam.Grant.addToPrincipal({ grantee, actions: ['s3:ListBucket'], resourceArns: [this.bucket.bucketArn] });
    }
  }
}
