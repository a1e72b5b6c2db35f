import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RateDecision, RateLimiter } from '../../core/ports';
import { rateWindow } from '../../core/rate-limits';
import { conditionalWrite } from './shared';

/**
 * Fixed windows (core/rate-limits.ts): an item `{ bucket: <key>#<window index>, n, expiresAt }` per window in
 * use. A take is one conditional UpdateItem, `ADD n :count` while the window has room: atomic, so concurrent
 * takes never share a place, with no read before it and no second write after a refusal; a refused take is
 * told the seconds to the window's end, which it knows without reading. TTL removes a window once it is over.
 */
export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async take(key: string, limit: number, nowMs: number, periodMs?: number, count = 1): Promise<RateDecision> {
    const window = rateWindow(nowMs, periodMs);
    // More than the whole window never fits: refuse without writing.
    if (count > limit) return { allowed: false, retryAfterSeconds: window.retryAfterSeconds };
    const taken = await conditionalWrite(
      this.db,
      new UpdateCommand({
        TableName: this.table,
        Key: { bucket: `${key}#${window.index}` },
        UpdateExpression: 'ADD n :count SET expiresAt = :expires',
        ConditionExpression: 'attribute_not_exists(n) OR n <= :room',
        ExpressionAttributeValues: { ':count': count, ':room': limit - count, ':expires': window.expiresAt },
      }),
    );
    return taken ? { allowed: true } : { allowed: false, retryAfterSeconds: window.retryAfterSeconds };
  }

  async giveBack(key: string, nowMs: number, periodMs?: number, count = 1): Promise<void> {
    const window = rateWindow(nowMs, periodMs);
    // Conditional: a window TTL removed (or never made) is not made again, and no count goes below zero.
    await conditionalWrite(
      this.db,
      new UpdateCommand({
        TableName: this.table,
        Key: { bucket: `${key}#${window.index}` },
        UpdateExpression: 'ADD n :back',
        ConditionExpression: 'n >= :count',
        ExpressionAttributeValues: { ':back': -count, ':count': count },
      }),
    );
  }
}
