import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { DEFAULT_CONFIG } from '../../protocol/config';
import { EbbAttachmentsBucket } from '../../infra/attachments-bucket';
import { StackOutputs } from '../../infra/outputs';
import { logicalId, resourcesOfType, synthWithoutBundling } from './fixture';

const PURGE_SCHEDULED = {
  ...DEFAULT_CONFIG,
  sunset: { ...DEFAULT_CONFIG.sunset, shutdownAt: '2099-01-01T00:00:00Z', purgeAt: '2099-02-01T00:00:00Z' },
};

interface Rule {
  Id: string;
  Status: string;
  Prefix?: string;
  ExpirationInDays: number;
  AbortIncompleteMultipartUpload?: { DaysAfterInitiation: number };
}

describe('GIVEN the stack synthesized from cdk.json', () => {
  const { stack, template } = synthWithoutBundling();
  const buckets = resourcesOfType(template, 'AWS::S3::Bucket');
  const bucketId = logicalId(stack.attachmentsBucket.bucket);

  test('THEN it has exactly one bucket, private, encrypted, without ACLs or versions, kept when the stack goes', () => {
    expect(Object.keys(buckets)).toEqual([bucketId]);
    template.hasResource('AWS::S3::Bucket', {
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: {
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
        BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        VersioningConfiguration: Match.absent(),
        LoggingConfiguration: Match.absent(),
        WebsiteConfiguration: Match.absent(),
      },
    });
  });

  test('THEN its only policy denies requests without TLS 1.2, and allows nothing', () => {
    const policies = Object.values(resourcesOfType(template, 'AWS::S3::BucketPolicy'));
    expect(policies).toHaveLength(1);
    expect(policies[0]!.Properties!.Bucket).toEqual({ Ref: bucketId });
    const statements = (policies[0]!.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
    expect(statements.map((s) => s.Effect)).toEqual(['Deny', 'Deny']);
    expect(statements.map((s) => s.Condition)).toEqual([{ Bool: { 'aws:SecureTransport': 'false' } }, { NumericLessThan: { 's3:TlsVersion': 1.2 } }]);
  });

  test('THEN one lifecycle rule per class 1..retentionDays expires its prefix after that many days, and one the whole bucket', () => {
    const rules = (buckets[bucketId]!.Properties!.LifecycleConfiguration as { Rules: Rule[] }).Rules;
    expect(rules).toHaveLength(DEFAULT_CONFIG.retentionDays + 1);
    for (let days = 1; days <= DEFAULT_CONFIG.retentionDays; days++) {
      expect(rules[days - 1]).toEqual({ Id: `class-${days}`, Status: 'Enabled', Prefix: `${days}/`, ExpirationInDays: days });
    }
    expect(rules[DEFAULT_CONFIG.retentionDays]).toEqual({
      Id: 'retention',
      Status: 'Enabled',
      ExpirationInDays: DEFAULT_CONFIG.retentionDays,
      AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
    });
  });

  test('THEN with no webOrigins the bucket answers no CORS at all', () => {
    expect(buckets[bucketId]!.Properties!.CorsConfiguration).toBeUndefined();
  });

  test('THEN its name is a stack output', () => {
    template.hasOutput(StackOutputs.attachmentsBucketName, { Value: { Ref: bucketId } });
  });
});

describe('GIVEN webOrigins and a shorter retention', () => {
  const { stack, template } = synthWithoutBundling({
    ebb: { ...DEFAULT_CONFIG, retentionDays: 3, webOrigins: ['https://chat.example.org', 'http://localhost:5173'] },
  });
  const bucket = resourcesOfType(template, 'AWS::S3::Bucket')[logicalId(stack.attachmentsBucket.bucket)]!;

  test('THEN CORS allows PUT, GET and HEAD from exactly those origins', () => {
    expect(bucket.Properties!.CorsConfiguration).toEqual({
      CorsRules: [
        {
          AllowedOrigins: ['https://chat.example.org', 'http://localhost:5173'],
          AllowedMethods: ['PUT', 'GET', 'HEAD'],
          AllowedHeaders: ['*'],
          ExposedHeaders: ['ETag'],
          MaxAge: 3000,
        },
      ],
    });
  });

  test('THEN the rules follow retentionDays', () => {
    const rules = (bucket.Properties!.LifecycleConfiguration as { Rules: Rule[] }).Rules;
    expect(rules.map((r) => [r.Id, r.Prefix, r.ExpirationInDays])).toEqual([
      ['class-1', '1/', 1],
      ['class-2', '2/', 2],
      ['class-3', '3/', 3],
      ['retention', undefined, 3],
    ]);
  });
});

describe('GIVEN a scheduled purge', () => {
  test('THEN the bucket is destroyable like the tables (the purge empties it), with no auto-delete function', () => {
    const { template } = synthWithoutBundling({ ebb: PURGE_SCHEDULED });
    template.hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete', UpdateReplacePolicy: 'Delete' });
    expect(Object.keys(template.findResources('Custom::S3AutoDeleteObjects'))).toEqual([]);
  });
});

describe('GIVEN the construct alone', () => {
  test('WHEN retentionDays is out of range THEN synthesis fails naming the prop', () => {
    const stack = new Stack(new App());
    expect(() => new EbbAttachmentsBucket(stack, 'A', { retentionDays: 0, webOrigins: [] })).toThrow(
      'A: retentionDays must be a whole number from 1 to 365, got 0',
    );
  });

  test('THEN removalPolicy is honoured', () => {
    const stack = new Stack(new App());
    new EbbAttachmentsBucket(stack, 'A', { retentionDays: 1, webOrigins: [], removalPolicy: RemovalPolicy.DESTROY });
    Template.fromStack(stack).hasResource('AWS::S3::Bucket', { DeletionPolicy: 'Delete' });
  });
});
