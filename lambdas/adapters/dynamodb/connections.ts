import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { ConnectionRecord, Connections } from '../../core/ports';
import { nowSeconds, queryAll } from './shared';

export class DynamoConnections implements Connections {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async put(record: ConnectionRecord) {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          uid: record.userId,
          connectionId: record.connectionId,
          device: record.device,
          connectedAt: record.connectedAt,
          expiresAt: record.expiresAt,
        },
      }),
    );
  }

  async remove(userId: string, connectionId: string) {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { uid: userId, connectionId } }));
  }

  async ofUser(userId: string, nowMs: number, options: { readonly consistent?: boolean } = {}): Promise<ConnectionRecord[]> {
    const records: ConnectionRecord[] = [];
    for await (const page of queryAll(this.db, {
      TableName: this.table,
      ...(options.consistent === true && { ConsistentRead: true }),
      KeyConditionExpression: 'uid = :u',
      FilterExpression: 'expiresAt > :now',
      ExpressionAttributeValues: { ':u': userId, ':now': nowSeconds(nowMs) },
    })) {
      for (const item of page.Items ?? []) {
        records.push({
          userId,
          connectionId: item.connectionId as string,
          device: Number(item.device),
          connectedAt: Number(item.connectedAt),
          expiresAt: Number(item.expiresAt),
        });
      }
    }
    return records;
  }
}
