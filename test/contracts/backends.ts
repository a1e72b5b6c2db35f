import { randomBytes } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lambdas/adapters/dynamodb';
import { localTableNames, type TableNames } from '../../lambdas/adapters/table-definitions';
import { createTables, startDynalite, type LocalDynamo } from '../../local/dynamo';

/**
 * The two backends every storage contract runs against. A contract is a function of a factory that makes a
 * fresh adapter; each file calls it once per backend, so both implementations meet the same expectations.
 */
export interface FreshTables {
  readonly db: DynamoDBDocumentClient;
  readonly names: TableNames;
}

/**
 * One dynalite for the enclosing describe block (started in its beforeAll); `fresh()` creates the tables under
 * a new prefix, so each test starts from empty tables without restarting dynalite.
 */
export function useDynalite(): { fresh(): Promise<FreshTables> } {
  let dynamo: LocalDynamo | undefined;
  let tables = 0;
  beforeAll(async () => {
    dynamo = await startDynalite();
  });
  afterAll(async () => {
    await dynamo?.stop();
  });
  return {
    async fresh() {
      if (!dynamo) throw new Error('useDynalite: fresh() called outside a test');
      const names = localTableNames(`contract${++tables}`);
      await createTables(dynamo.client, names);
      return { db: documentClient(dynamo.client), names };
    },
  };
}

/** A user id as the server derives them (43 base64url characters), different each call. */
export const freshUserId = (): string => randomBytes(32).toString('base64url');

/** A message id within the queue's sort-key alphabet. */
export const freshMessageId = (): string => randomBytes(16).toString('base64url');

/** Epoch milliseconds every contract starts from: a whole second, so second-granular expiry is exact. */
export const T0 = Date.UTC(2027, 0, 1);
