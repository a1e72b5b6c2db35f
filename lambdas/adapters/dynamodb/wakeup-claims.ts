import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { DeviceAddress, WakeupClaims } from '../../core/ports';
import { conditionalWrite } from './shared';

/** Wake-up claims on the `PushTokens` items (ARCH §6.13, §7.9): one conditional update each. */
export class DynamoWakeupClaims implements WakeupClaims {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  claimWakeup(device: DeviceAddress, nowMs: number, everyMs: number): Promise<boolean> {
    return conditionalWrite(
      this.db,
      new UpdateCommand({
        TableName: this.table,
        Key: { uid: device.userId, dev: String(device.device) },
        UpdateExpression: 'SET lastWakeAt = :now',
        // No item, no subscription: the condition fails and nothing is created.
        ConditionExpression: 'attribute_exists(uid) AND (attribute_not_exists(lastWakeAt) OR lastWakeAt <= :since)',
        ExpressionAttributeValues: { ':now': nowMs, ':since': nowMs - everyMs },
      }),
    );
  }
}
