import { Tables, type TableKey } from '../lambdas/adapters/table-definitions';

/**
 * Names of the stack outputs operators and `ebb-admin` read. Plain TypeScript with no CDK import, so the
 * CLI can share it without loading aws-cdk-lib.
 */
export const StackOutputs = {
  webSocketUrl: 'WebSocketUrl',
  callbackUrl: 'CallbackUrl',
  lifecycleFunctionName: 'LifecycleFunctionName',
  /** `AccountsTableName`, `CiphertextQueueTableName`, …: the deployed name of each table. */
  tableName: (key: TableKey): string => `${Tables[key].id}TableName`,
} as const;
