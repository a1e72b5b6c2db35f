import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { RateDecision, RateLimiter } from '../../core/ports';
import { cellWindow, latestStart, retryAfterSeconds } from '../../core/rate-limits';
import { conditionalWrite } from './shared';

/** Rounds of the two conditional updates before a take concludes the bucket is being emptied right now. */
const BUCKET_ROUNDS = 3;

/**
 * Buckets as GCRA (core/rate-limits.ts): an item `{ bucket, tat, expiresAt }`. A take is `takeCell` applied
 * by DynamoDB itself as conditional UpdateItems, atomic, so concurrent takes never share a token and no read
 * comes first: an idle bucket restarts from now; a bucket in use moves on by one interval while that stays
 * within the burst; only a refused take reads the item, to say when to retry. A take of `count` tokens moves
 * `tat` by `count` intervals and must start `count - 1` intervals before the burst's end.
 */
export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async take(key: string, limit: number, nowMs: number, periodMs?: number, count = 1): Promise<RateDecision> {
    const window = cellWindow(limit, nowMs, periodMs);
    const interval = window.interval;
    const latest = latestStart(window.latest, interval, count);
    const step = count * interval;
    const expiresAt = window.expiresAt;
    // More than the whole burst never fits: refuse without writing.
    if (count > limit) return { allowed: false, retryAfterSeconds: retryAfterSeconds(nowMs, latest) };
    for (let round = 0; round < BUCKET_ROUNDS; round++) {
      const restarted = await conditionalWrite(
        this.db,
        new UpdateCommand({
          TableName: this.table,
          Key: { bucket: key },
          UpdateExpression: 'SET tat = :next, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(tat) OR tat <= :now',
          ExpressionAttributeValues: { ':next': nowMs + step, ':now': nowMs, ':expires': expiresAt },
        }),
      );
      if (restarted) return { allowed: true };
      const advanced = await conditionalWrite(
        this.db,
        new UpdateCommand({
          TableName: this.table,
          Key: { bucket: key },
          UpdateExpression: 'SET tat = tat + :interval, expiresAt = :expires',
          ConditionExpression: 'tat > :now AND tat <= :latest',
          ExpressionAttributeValues: { ':interval': step, ':now': nowMs, ':latest': latest, ':expires': expiresAt },
        }),
      );
      if (advanced) return { allowed: true };
      const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { bucket: key }, ConsistentRead: true }));
      const tat = Number(out.Item?.tat);
      // Past the burst: refused until the earliest take would fit again. (A tat at or before now means the
      // bucket emptied and refilled between the updates: go round again.)
      if (Number.isFinite(tat) && tat > latest) return { allowed: false, retryAfterSeconds: retryAfterSeconds(tat, latest) };
    }
    return { allowed: false, retryAfterSeconds: 1 };
  }
}
