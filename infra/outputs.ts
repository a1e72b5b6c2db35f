import { Tables, type TableKey } from '../lambdas/adapters/table-definitions';

/**
 * Names of the stack outputs operators and `ebb-admin` read. Plain TypeScript with no CDK import, so the
 * CLI can share it without loading aws-cdk-lib.
 */
export const StackOutputs = {
  webSocketUrl: 'WebSocketUrl',
  callbackUrl: 'CallbackUrl',
  lifecycleFunctionName: 'LifecycleFunctionName',
  /** ARN of the Secrets Manager secret holding the franking keyring; `ebb-admin franking rotate` rewrites it. */
  frankingSecretArn: 'FrankingSecretArn',
  /** ARN of the SNS topic every alarm notifies; absent when the stack creates no topic. */
  alarmTopicArn: 'AlarmTopicArn',
  /** Name of the S3 bucket holding attachment ciphertexts (ARCH §6.12); `ebb-admin stats` counts its objects. */
  attachmentsBucketName: 'AttachmentsBucketName',
  /** Name of the CloudWatch dashboard. */
  dashboardName: 'DashboardName',
  /** `AccountsTableName`, `CiphertextQueueTableName`, `ReportsTableName`, …: the deployed name of each table. */
  tableName: (key: TableKey): string => `${Tables[key].id}TableName`,
} as const;
