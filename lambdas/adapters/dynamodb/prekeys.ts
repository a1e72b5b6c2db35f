import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { OneTimePrekey, SignedPrekey } from '../../../protocol/frames';
import type { DeviceAddress, Prekeys } from '../../core/ports';
import { address, batchWrite, isConditionFailure, queryAll, removePartition } from './shared';

const SIGNED_PREKEY = 'spk';
const ONE_TIME_PREFIX = 'otk#';
const oneTimeKey = (keyId: number): string => `${ONE_TIME_PREFIX}${String(keyId).padStart(10, '0')}`;

export class DynamoPrekeys implements Prekeys {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async putSignedPrekey(owner: DeviceAddress, key: SignedPrekey) {
    await this.db.send(new PutCommand({ TableName: this.table, Item: { owner: address(owner), kid: SIGNED_PREKEY, ...key } }));
  }

  async putOneTimePrekeys(owner: DeviceAddress, keys: readonly OneTimePrekey[]) {
    const requests = keys.map((key) => ({ PutRequest: { Item: { owner: address(owner), kid: oneTimeKey(key.keyId), ...key } } }));
    await batchWrite(this.db, this.table, requests);
  }

  async signedPrekey(owner: DeviceAddress): Promise<SignedPrekey | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { owner: address(owner), kid: SIGNED_PREKEY } }));
    if (!out.Item) return undefined;
    return { keyId: Number(out.Item.keyId), publicKey: out.Item.publicKey as string, signature: out.Item.signature as string };
  }

  /** Select COUNT; with `atMost`, `Limit` stops the read there, so a bounded count costs a bounded read. */
  async countOneTime(owner: DeviceAddress, atMost?: number): Promise<number> {
    // A Query refuses Limit 0; a count bounded at nothing is nothing.
    if (atMost !== undefined && atMost <= 0) return 0;
    let count = 0;
    for await (const page of queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: '#o = :o AND begins_with(kid, :p)',
      ExpressionAttributeNames: { '#o': 'owner' },
      ExpressionAttributeValues: { ':o': address(owner), ':p': ONE_TIME_PREFIX },
      Select: 'COUNT',
      ...(atMost !== undefined && { Limit: atMost }),
    })) {
      count += page.Count ?? 0;
      if (atMost !== undefined && count >= atMost) return atMost;
    }
    return count;
  }

  async removeOneTime(owner: DeviceAddress, keyIds: readonly number[]): Promise<void> {
    const requests = keyIds.map((keyId) => ({ DeleteRequest: { Key: { owner: address(owner), kid: oneTimeKey(keyId) } } }));
    await batchWrite(this.db, this.table, requests);
  }

  /** Query the lowest key, then delete it on condition that it still exists: a lost race reads again. */
  async takeOneTime(owner: DeviceAddress): Promise<OneTimePrekey | undefined> {
    for (let attempt = 0; attempt < 16; attempt++) {
      const out = await this.db.send(
        new QueryCommand({
          TableName: this.table,
          KeyConditionExpression: '#o = :o AND begins_with(kid, :p)',
          ExpressionAttributeNames: { '#o': 'owner' },
          ExpressionAttributeValues: { ':o': address(owner), ':p': ONE_TIME_PREFIX },
          ConsistentRead: true,
          Limit: 1,
        }),
      );
      const candidate = out.Items?.[0];
      if (!candidate) return undefined;
      try {
        const deleted = await this.db.send(
          new DeleteCommand({
            TableName: this.table,
            Key: { owner: address(owner), kid: candidate.kid },
            ConditionExpression: 'attribute_exists(kid)',
            ReturnValues: 'ALL_OLD',
          }),
        );
        const item = deleted.Attributes!;
        return { keyId: Number(item.keyId), publicKey: item.publicKey as string };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
      }
    }
    return undefined;
  }

  async removeAll(owner: DeviceAddress): Promise<number> {
    return removePartition(this.db, this.table, 'owner', address(owner), 'kid');
  }
}
