import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { DeviceAddress, PushTokens } from '../../core/ports';
// Types only: the protocol's schemas stay out of the bundles of the routes that merely store or delete these.
import type { PushSubscription, WebPushSubscription } from '../../../protocol/push';
import { isConditionFailure, removePartition } from './shared';

/**
 * Push subscriptions in their own table, partition `uid`, sort `dev` (ARCH §7.9): one item per device, so a
 * user's whole set goes with one Query, and the account item every route reads stays small.
 */
export class DynamoPushTokens implements PushTokens {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async get(device: DeviceAddress): Promise<PushSubscription | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: keyOf(device), ConsistentRead: true }));
    return out.Item ? subscriptionOf(out.Item) : undefined;
  }

  async put(device: DeviceAddress, subscription: PushSubscription, nowMs: number): Promise<boolean> {
    // A whole new item: the last wake-up of an earlier subscription goes with it.
    const out = await this.db.send(
      new PutCommand({ TableName: this.table, Item: { ...keyOf(device), ...itemOf(subscription), registeredAt: nowMs }, ReturnValues: 'ALL_OLD' }),
    );
    return out.Attributes !== undefined;
  }

  async remove(device: DeviceAddress, only?: PushSubscription): Promise<boolean> {
    const match = only === undefined ? undefined : matchOf(only);
    try {
      const out = await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: keyOf(device),
          ReturnValues: 'ALL_OLD',
          ...(match && { ConditionExpression: match.condition, ExpressionAttributeNames: match.names, ExpressionAttributeValues: match.values }),
        }),
      );
      return out.Attributes !== undefined;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  async removeAll(userId: string): Promise<number> {
    return removePartition(this.db, this.table, 'uid', userId, 'dev');
  }
}

const keyOf = (device: DeviceAddress) => ({ uid: device.userId, dev: String(device.device) });

const isWebPush = (subscription: PushSubscription): subscription is WebPushSubscription => 'endpoint' in subscription;

function itemOf(subscription: PushSubscription): Record<string, string> {
  if (isWebPush(subscription)) {
    return { kind: 'web', endpoint: subscription.endpoint, p256dh: subscription.keys.p256dh, auth: subscription.keys.auth };
  }
  return { kind: subscription.platform, token: subscription.token };
}

function subscriptionOf(item: Record<string, unknown>): PushSubscription {
  if (item.kind === 'web') {
    return { endpoint: item.endpoint as string, keys: { p256dh: item.p256dh as string, auth: item.auth as string } };
  }
  return { platform: item.kind as 'apns' | 'fcm', token: item.token as string };
}

/** The condition that the stored subscription is `subscription`: same endpoint, or same platform and token. */
function matchOf(subscription: PushSubscription): { condition: string; names: Record<string, string>; values: Record<string, string> } {
  if (isWebPush(subscription)) {
    return { condition: '#endpoint = :endpoint', names: { '#endpoint': 'endpoint' }, values: { ':endpoint': subscription.endpoint } };
  }
  return {
    condition: '#kind = :kind AND #token = :token',
    names: { '#kind': 'kind', '#token': 'token' },
    values: { ':kind': subscription.platform, ':token': subscription.token },
  };
}
