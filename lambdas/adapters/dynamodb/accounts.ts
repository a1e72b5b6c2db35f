import {
  type BatchGetCommandOutput,
  BatchGetCommand,
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { AccountRecord, Accounts } from '../../core/ports';
import { conditionalWrite, putIfAbsent } from './shared';
import { linkedDevicesOf } from './devices';

/** The most keys one BatchGetItem request may ask for. */
const BATCH_GET_KEYS = 100;

export class DynamoAccounts implements Accounts {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(userId: string): Promise<AccountRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { uid: userId }, ConsistentRead: true }));
    return out.Item ? toAccount(out.Item) : undefined;
  }

  /**
   * One BatchGetItem for both: one request instead of two on the message path, the same read units. A send to
   * oneself asks for one key, still as a batch: that route's grant has BatchGetItem, not GetItem.
   */
  async getPair(first: string, second: string): Promise<[AccountRecord | undefined, AccountRecord | undefined]> {
    const found = await this.getMany([first, second]);
    return [found.get(first), found.get(second)];
  }

  /** BatchGetItem takes at most 100 keys: the distinct ids go in requests of 100, all at once. */
  async getMany(userIds: readonly string[]): Promise<Map<string, AccountRecord>> {
    const distinct = [...new Set(userIds)];
    const found = new Map<string, AccountRecord>();
    const requests: Promise<void>[] = [];
    for (let i = 0; i < distinct.length; i += BATCH_GET_KEYS) {
      requests.push(this.readBatch(distinct.slice(i, i + BATCH_GET_KEYS), found));
    }
    await Promise.all(requests);
    return found;
  }

  private async readBatch(userIds: readonly string[], found: Map<string, AccountRecord>): Promise<void> {
    let keys: Record<string, unknown>[] | undefined = userIds.map((uid) => ({ uid }));
    // DynamoDB may leave keys unprocessed under load: read those again, as it asks.
    for (let attempt = 0; keys && keys.length > 0; attempt++) {
      if (attempt === 4) throw new Error('accounts: BatchGetItem left keys unprocessed');
      const out: BatchGetCommandOutput = await this.db.send(
        new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[this.table] ?? []) found.set(item.uid as string, toAccount(item));
      keys = out.UnprocessedKeys?.[this.table]?.Keys;
    }
  }

  async create(record: AccountRecord) {
    const item = {
      uid: record.userId,
      signingKey: record.signingKey,
      identityKey: record.identityKey,
      identitySig: record.identitySig,
      devices: [...record.devices],
      createdAt: record.createdAt,
    };
    if (await putIfAbsent(this.db, this.table, item, 'uid')) return { created: true, record };
    const existing = await this.get(record.userId);
    if (!existing) throw new Error('accounts: the account that refused the put is gone');
    return { created: false, record: existing };
  }

  async replaceIdentity(userId: string, signingKey: string, identityKey: string, identitySig: string): Promise<boolean> {
    return conditionalWrite(
      this.db,
      new UpdateCommand({
        TableName: this.table,
        Key: { uid: userId },
        UpdateExpression: 'SET identityKey = :ik, identitySig = :is',
        ConditionExpression: 'signingKey = :sk',
        ExpressionAttributeValues: { ':ik': identityKey, ':is': identitySig, ':sk': signingKey },
      }),
    );
  }

  async setDeliveryTokenHash(userId: string, hash: string): Promise<boolean> {
    return this.updateExisting(userId, 'SET deliveryTokenHash = :h', { ':h': hash });
  }

  async remove(userId: string): Promise<void> {
    await this.db.send(new DeleteCommand({ TableName: this.table, Key: { uid: userId } }));
  }

  async suspend(userId: string, reason: string, at: number): Promise<boolean> {
    return this.updateExisting(userId, 'SET suspendedReason = :r, suspendedAt = :t', { ':r': reason, ':t': at });
  }

  async unsuspend(userId: string): Promise<boolean> {
    return this.updateExisting(userId, 'REMOVE suspendedReason, suspendedAt', undefined);
  }

  /** An UpdateItem that never creates the item: false when there is no account. */
  private async updateExisting(userId: string, expression: string, values: Record<string, unknown> | undefined): Promise<boolean> {
    return updateAccount(this.db, this.table, userId, expression, values);
  }
}

/** An UpdateItem of an account item that never creates it: false when there is none, or `condition` fails. */
export function updateAccount(
  db: DynamoDBDocumentClient,
  table: string,
  userId: string,
  expression: string,
  values: Record<string, unknown> | undefined,
  condition = 'attribute_exists(uid)',
): Promise<boolean> {
  return conditionalWrite(
    db,
    new UpdateCommand({
      TableName: table,
      Key: { uid: userId },
      UpdateExpression: expression,
      ConditionExpression: condition,
      ExpressionAttributeValues: values,
    }),
  );
}

export function toAccount(item: Record<string, unknown>): AccountRecord {
  const claims = item.usernameClaims as Set<string> | undefined;
  const releasing = item.usernameReleasing as Set<string> | undefined;
  return {
    userId: item.uid as string,
    signingKey: item.signingKey as string,
    identityKey: item.identityKey as string,
    identitySig: item.identitySig as string,
    devices: (item.devices as number[]).map(Number),
    createdAt: Number(item.createdAt),
    ...(typeof item.username === 'string' && { username: item.username }),
    ...(typeof item.usernameToken === 'string' && { usernameToken: item.usernameToken }),
    ...(claims && claims.size > 0 && { usernameClaims: [...claims] }),
    ...(releasing && releasing.size > 0 && { usernameReleasing: [...releasing] }),
    ...(item.suspendedAt !== undefined && { suspended: { reason: String(item.suspendedReason ?? ''), at: Number(item.suspendedAt) } }),
    ...(typeof item.deliveryTokenHash === 'string' && { deliveryTokenHash: item.deliveryTokenHash }),
    ...linkedDevicesOf(item),
  };
}
