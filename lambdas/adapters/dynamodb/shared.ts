import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  type DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  type UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { DeviceAddress } from '../../core/ports';

/**
 * The low-level pieces every DynamoDB adapter shares. No transactions (dynalite has none); Scan only in
 * DynamoSweeper (sweeper.ts).
 */

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** A device's partition key, `uid#dev`. */
export const address = (a: DeviceAddress): string => `${a.userId}#${a.device}`;
/** TTL attributes (`expiresAt`) are epoch seconds. */
export const nowSeconds = (nowMs: number): number => Math.floor(nowMs / 1000);

export function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** A conditional delete: true when it was made, false when its condition failed; any other error is thrown. */
export async function conditionalDelete(db: DynamoDBDocumentClient, command: DeleteCommand): Promise<boolean> {
  try {
    await db.send(command);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** A conditional write: true when it was made, false when its condition failed; any other error is thrown. */
export async function conditionalWrite(db: DynamoDBDocumentClient, command: PutCommand | UpdateCommand): Promise<boolean> {
  try {
    await db.send(command as PutCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** A condition that widens "absent" in `putIfAbsent`, with the values it names. */
export interface AbsentAlso {
  readonly condition: string;
  readonly values: Record<string, unknown>;
}

/** An item whose TTL has passed counts as absent: TTL deletion on AWS may lag by days. */
export const orExpired = (nowMs: number): AbsentAlso => ({ condition: 'expiresAt <= :now', values: { ':now': nowSeconds(nowMs) } });

/**
 * A PutItem made only when no item holds its key (`keyAttribute` is absent), or when `orIf` holds for the item
 * there: true when it was written, false when its condition failed; any other error is thrown.
 */
export function putIfAbsent(
  db: DynamoDBDocumentClient,
  table: string,
  item: Record<string, unknown>,
  keyAttribute: string,
  orIf?: AbsentAlso,
): Promise<boolean> {
  return conditionalWrite(
    db,
    new PutCommand({
      TableName: table,
      Item: item,
      // A placeholder for the key: some key attributes (`name`) are reserved words.
      ConditionExpression: orIf ? `attribute_not_exists(#key) OR ${orIf.condition}` : 'attribute_not_exists(#key)',
      ExpressionAttributeNames: { '#key': keyAttribute },
      ...(orIf && { ExpressionAttributeValues: orIf.values }),
    }),
  );
}

/** Runs a Query to the end, one page at a time. */
export async function* queryAll(db: DynamoDBDocumentClient, input: QueryCommandInput) {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    yield page;
    start = page.LastEvaluatedKey;
  } while (start);
}

/** BatchWriteItem in chunks of 25, retrying unprocessed items with backoff. */
export async function batchWrite(db: DynamoDBDocumentClient, table: string, requests: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < requests.length; i += 25) {
    let pending = requests.slice(i, i + 25);
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 8) throw new Error('BatchWriteItem left unprocessed items');
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt) * Math.random()));
      const out = await db.send(new BatchWriteCommand({ RequestItems: { [table]: pending } }));
      pending = (out.UnprocessedItems?.[table] as Record<string, unknown>[] | undefined) ?? [];
    }
  }
}

/** Every item of one partition, read keys-only with a Query and deleted in batches; returns how many of them `counts`. */
export async function removePartition(
  db: DynamoDBDocumentClient,
  table: string,
  partitionKey: string,
  value: string,
  sortKey: string,
  counts: (sortKeyValue: string) => boolean = () => true,
): Promise<number> {
  const keys: Record<string, unknown>[] = [];
  for await (const page of queryAll(db, {
    TableName: table,
    KeyConditionExpression: '#p = :p',
    // Key attributes only ("owner" is a reserved word, hence the placeholders).
    ProjectionExpression: '#p, #s',
    ExpressionAttributeNames: { '#p': partitionKey, '#s': sortKey },
    ExpressionAttributeValues: { ':p': value },
    ConsistentRead: true,
  })) {
    for (const item of page.Items ?? []) keys.push({ [partitionKey]: item[partitionKey], [sortKey]: item[sortKey] });
  }
  await batchWrite(
    db,
    table,
    keys.map((key) => ({ DeleteRequest: { Key: key } })),
  );
  return keys.filter((key) => counts(key[sortKey] as string)).length;
}
