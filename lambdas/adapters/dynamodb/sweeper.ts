import { type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ItemKey, StoreName, StoreSweeper, SweepPage, SweptConnection } from '../../core/ports';
import { Tables } from '../table-definitions';
import { batchWrite } from './shared';

/** The Scan position as an opaque cursor (keys are strings throughout, so JSON carries them). */
const encodeCursor = (key: Record<string, unknown> | undefined): string | null =>
  key ? Buffer.from(JSON.stringify(key), 'utf8').toString('base64url') : null;
const decodeCursor = (cursor: string | null): Record<string, unknown> | undefined =>
  cursor === null ? undefined : (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as Record<string, unknown>);

/** Whole-table Scans and batch deletes for the scheduled lifecycle jobs: never used on the message path. */
export class DynamoSweeper implements StoreSweeper {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: (store: StoreName) => string,
  ) {}

  async connections(cursor: string | null, limit: number): Promise<SweepPage<SweptConnection>> {
    const out = await this.db.send(
      new ScanCommand({ TableName: this.table('connections'), ExclusiveStartKey: decodeCursor(cursor), Limit: limit, ConsistentRead: true }),
    );
    const items = (out.Items ?? []).map((item) => ({
      record: {
        userId: item.uid as string,
        connectionId: item.connectionId as string,
        device: Number(item.device),
        connectedAt: Number(item.connectedAt),
        expiresAt: Number(item.expiresAt),
      },
      key: { uid: item.uid as string, connectionId: item.connectionId as string },
    }));
    return { items, cursor: encodeCursor(out.LastEvaluatedKey) };
  }

  async keys(store: StoreName, cursor: string | null, limit: number): Promise<SweepPage<ItemKey>> {
    const names = keyNames(store);
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.table(store),
        // Key attributes only ("owner" is a reserved word, hence the placeholders).
        ProjectionExpression: names.map((_, i) => `#k${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(names.map((name, i) => [`#k${i}`, name])),
        ExclusiveStartKey: decodeCursor(cursor),
        Limit: limit,
        ConsistentRead: true,
      }),
    );
    const items = (out.Items ?? []).map((item): ItemKey => Object.fromEntries(names.map((name) => [name, item[name] as string])));
    return { items, cursor: encodeCursor(out.LastEvaluatedKey) };
  }

  async remove(store: StoreName, keys: readonly ItemKey[]): Promise<void> {
    await batchWrite(
      this.db,
      this.table(store),
      keys.map((key) => ({ DeleteRequest: { Key: key } })),
    );
  }
}

function keyNames(store: StoreName): string[] {
  const def: { partitionKey: { name: string }; sortKey?: { name: string } } = Tables[store];
  return def.sortKey ? [def.partitionKey.name, def.sortKey.name] : [def.partitionKey.name];
}
