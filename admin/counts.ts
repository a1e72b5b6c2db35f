import { ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { MESSAGE_PREFIX } from '../lambdas/adapters/queue-keys';
import type { TableKey } from '../lambdas/adapters/table-definitions';
import type { AttachmentObjects, StoredObject, SweepPage } from '../lambdas/core/ports';
import { AdminError } from './errors';
import type { Target } from './target';

/** Send-marker sort keys begin so (`markerSortKey`; queue-keys.ts exports only the message prefix). */
const MARKER_PREFIX = 'd#';

interface Filter {
  readonly expression: string;
  readonly values?: Record<string, AttributeValue>;
}

/**
 * Items of one table that pass `filter`, by a paginated Scan with `Select: COUNT`. Fine for an operator's
 * occasional look; nothing on the message path scans.
 * @throws AdminError when the table does not exist at the target.
 */
export async function countItems(target: Target, key: TableKey, filter?: Filter): Promise<number> {
  const table = target.tables[key];
  let count = 0;
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    let page;
    try {
      page = await target.dynamodb.send(
        new ScanCommand({
          TableName: table,
          Select: 'COUNT',
          FilterExpression: filter?.expression,
          ExpressionAttributeValues: filter?.values,
          ExclusiveStartKey: startKey,
        }),
      );
    } catch (error) {
      if ((error as Error).name === 'ResourceNotFoundException') {
        const where = target.description.kind === 'local' ? `at ${target.description.dynamodbEndpoint}` : `in stack ${target.description.stackName}`;
        throw new AdminError(`table ${table} (${key}) not found ${where}`);
      }
      throw error;
    }
    count += page.Count ?? 0;
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return count;
}

/** Connection records not yet expired: TTL deletion lags on AWS, so an expired record is not a connection. */
export function countConnected(target: Target, nowMs: number): Promise<number> {
  return countItems(target, 'connections', { expression: 'expiresAt > :now', values: { ':now': { N: String(Math.floor(nowMs / 1000)) } } });
}

/** Registered accounts: every account item carries its signing key. */
export function countRegistered(target: Target): Promise<number> {
  return countItems(target, 'accounts', { expression: 'attribute_exists(signingKey)' });
}

/** Accounts an operator has suspended (`ebb-admin suspend`) and not unsuspended. */
export function countSuspended(target: Target): Promise<number> {
  return countItems(target, 'accounts', { expression: 'attribute_exists(signingKey) AND attribute_exists(suspendedAt)' });
}

/** Queue items not yet expired: messages waiting for a device (`m#…`), and send-dedup markers (`d#…`). */
export interface QueueCounts {
  readonly messages: number;
  readonly markers: number;
}

/** Two Scans of the queue table, one per sort-key prefix; expired items count as absent (TTL deletion lags). */
export async function countQueued(target: Target, nowMs: number): Promise<QueueCounts> {
  const unexpired = (prefix: string): Filter => ({
    expression: 'begins_with(sk, :prefix) AND expiresAt > :now',
    values: { ':prefix': { S: prefix }, ':now': { N: String(Math.floor(nowMs / 1000)) } },
  });
  const [messages, markers] = await Promise.all([
    countItems(target, 'queue', unexpired(MESSAGE_PREFIX)),
    countItems(target, 'queue', unexpired(MARKER_PREFIX)),
  ]);
  return { messages, markers };
}

/** What the attachments bucket holds. */
export interface ObjectCounts {
  readonly objects: number;
  readonly bytes: number;
}

/** Every object of the attachments bucket, listed a page (1000) at a time: as often as `stats` runs, no more. */
export async function countObjects(objects: AttachmentObjects): Promise<ObjectCounts> {
  let count = 0;
  let bytes = 0;
  let cursor: string | null = null;
  do {
    const page: SweepPage<StoredObject> = await objects.list(cursor, 1000);
    count += page.items.length;
    for (const item of page.items) bytes += item.size;
    cursor = page.cursor;
  } while (cursor !== null);
  return { objects: count, bytes };
}
