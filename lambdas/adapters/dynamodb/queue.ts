import { DeleteCommand, type DynamoDBDocumentClient, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type {
  CiphertextQueue,
  DeviceAddress,
  MessageRef,
  QueueCounts,
  QueuedMessage,
  QueueLimits,
  QueuePage,
  QueueShare,
  SendMarker,
} from '../../core/ports';
import { DEPTH_SORT_KEY, MESSAGE_PREFIX, markerSortKey, messageSortKey, parseMessageSortKey } from '../queue-keys';
import {
  address,
  conditionalDelete,
  conditionalWrite,
  isConditionFailure,
  nowSeconds,
  orExpired,
  putIfAbsent,
  queryAll,
  removePartition,
} from './shared';

/**
 * How long after one recount a full queue is taken at its counters' word: a minute, the wait a refused sender
 * is told. TTL lags by days, so counting more often gains nothing.
 */
const QUEUE_RECOUNT_INTERVAL_MS = 60_000;

export class DynamoQueue implements CiphertextQueue {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly retentionDays = 365,
  ) {}

  async put(message: QueuedMessage) {
    await this.db.send(
      new PutCommand({
        TableName: this.table,
        Item: {
          rcpt: address(message.recipient),
          sk: messageSortKey(message),
          id: message.id,
          fromUser: message.from.userId,
          fromDevice: message.from.device,
          sentAt: message.sentAt,
          expiresAt: message.expiresAt,
          // Stored as binary: a third smaller than base64url, which DynamoDB bills by.
          ct: Buffer.from(message.ciphertext, 'base64url'),
          fc: Buffer.from(message.frank.commitment, 'base64url'),
          ft: Buffer.from(message.frank.tag, 'base64url'),
          fk: message.frank.kid,
          // Only strangers' messages are marked, so items written before shares existed count as contacts'.
          ...(message.share === 'stranger' && { stranger: true }),
        },
      }),
    );
  }

  async claim(recipient: DeviceAddress, from: string, id: string, marker: SendMarker): Promise<SendMarker | null> {
    const key = { rcpt: address(recipient), sk: markerSortKey(from, id) };
    const item = { ...key, sentAt: marker.sentAt, expiresAt: marker.expiresAt, ...(marker.share === 'stranger' && { stranger: true }) };
    if (await putIfAbsent(this.db, this.table, item, 'sk', orExpired(marker.sentAt))) return null;
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
    if (!out.Item) throw new Error('queue: the send marker that refused the put is gone');
    return { sentAt: Number(out.Item.sentAt), expiresAt: Number(out.Item.expiresAt), share: out.Item.stranger === true ? 'stranger' : 'contact' };
  }

  async remove(recipient: DeviceAddress, refs: readonly MessageRef[], nowMs: number): Promise<QueueCounts> {
    const rcpt = address(recipient);
    const unique = [...new Set(refs.map((ref) => messageSortKey(ref)))];
    // One DeleteItem each (not a batch): the old item says whether it was there and under which share it
    // was counted, so the depth counters are given back exactly that.
    const removed = await Promise.all(
      unique.map(
        async (sk) => (await this.db.send(new DeleteCommand({ TableName: this.table, Key: { rcpt, sk }, ReturnValues: 'ALL_OLD' }))).Attributes,
      ),
    );
    // An expired message left the counters at the last recount (or will at the next): giving it back would
    // make room that was never taken.
    const counted = removed.filter((item) => item !== undefined && Number(item.expiresAt) > nowSeconds(nowMs));
    return { messages: counted.length, strangers: counted.filter((item) => item?.stranger === true).length };
  }

  /**
   * One conditional UpdateItem on the depth item, which holds both counts: every reservation adds to
   * `queuedMessages`, a stranger's also to `strangerMessages` and only while both are under their limits.
   */
  async reserve(recipient: DeviceAddress, share: QueueShare, limits: QueueLimits, nowMs: number): Promise<boolean> {
    const rcpt = address(recipient);
    if (await this.increment(rcpt, share, limits, nowMs)) return true;
    // The counters say full, but TTL deletes messages without telling them: count what is really there, at
    // most once per interval per queue, so a burst of refused sends reads the partition once, not each time.
    if (!(await this.leaseRecount(rcpt, nowMs))) return false;
    const actual = await this.count(rcpt, nowMs);
    await this.db.send(
      new UpdateCommand({
        TableName: this.table,
        Key: { rcpt, sk: DEPTH_SORT_KEY },
        UpdateExpression: 'SET queuedMessages = :n, strangerMessages = :s, expiresAt = :expires',
        ExpressionAttributeValues: { ':n': actual.messages, ':s': actual.strangers, ':expires': this.counterExpiry(nowMs) },
      }),
    );
    const room = actual.messages < limits.depth && (share === 'contact' || actual.strangers < limits.strangerDepth);
    return room && (await this.increment(rcpt, share, limits, nowMs));
  }

  /** A stranger's message counts in both; a contact's in `queuedMessages` only, whatever `strangerMessages` says. */
  private async increment(rcpt: string, share: QueueShare, limits: QueueLimits, nowMs: number): Promise<boolean> {
    const stranger = share === 'stranger';
    return conditionalWrite(
      this.db,
      new UpdateCommand({
        TableName: this.table,
        Key: { rcpt, sk: DEPTH_SORT_KEY },
        UpdateExpression:
          'SET queuedMessages = if_not_exists(queuedMessages, :zero) + :one, ' +
          'strangerMessages = if_not_exists(strangerMessages, :zero) + :stranger, expiresAt = :expires',
        ConditionExpression:
          '(attribute_not_exists(queuedMessages) OR queuedMessages < :max) AND ' +
          '(attribute_not_exists(strangerMessages) OR strangerMessages < :strangerMax)',
        ExpressionAttributeValues: {
          ':zero': 0,
          ':one': 1,
          ':stranger': stranger ? 1 : 0,
          ':max': limits.depth,
          ':strangerMax': stranger ? limits.strangerDepth : Number.MAX_SAFE_INTEGER,
          ':expires': this.counterExpiry(nowMs),
        },
      }),
    );
  }

  /** Claims the right to recount the queue now: false when another refusal recounted it within the interval. */
  private async leaseRecount(rcpt: string, nowMs: number): Promise<boolean> {
    return conditionalWrite(
      this.db,
      new UpdateCommand({
        TableName: this.table,
        Key: { rcpt, sk: DEPTH_SORT_KEY },
        UpdateExpression: 'SET countedAt = :now',
        ConditionExpression: 'attribute_not_exists(countedAt) OR countedAt <= :due',
        ExpressionAttributeValues: { ':now': nowMs, ':due': nowMs - QUEUE_RECOUNT_INTERVAL_MS },
      }),
    );
  }

  async release(recipient: DeviceAddress, counts: QueueCounts): Promise<void> {
    if (counts.messages <= 0) return;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { rcpt: address(recipient), sk: DEPTH_SORT_KEY },
          UpdateExpression: 'SET queuedMessages = queuedMessages - :n, strangerMessages = if_not_exists(strangerMessages, :s) - :s',
          ConditionExpression: 'queuedMessages >= :n AND (attribute_not_exists(strangerMessages) OR strangerMessages >= :s)',
          ExpressionAttributeValues: { ':n': counts.messages, ':s': counts.strangers },
        }),
      );
    } catch (error) {
      // Already lower (a recount ran after these were deleted): the next recount corrects it.
      if (!isConditionFailure(error)) throw error;
    }
  }

  async cancel(recipient: DeviceAddress, counts: QueueCounts, dropIfOnly = false): Promise<void> {
    if (counts.messages <= 0) return;
    if (dropIfOnly) {
      // Atomic with any concurrent reservation: one made meanwhile changed the count, and the delete is refused.
      const dropped = await conditionalDelete(
        this.db,
        new DeleteCommand({
          TableName: this.table,
          Key: { rcpt: address(recipient), sk: DEPTH_SORT_KEY },
          ConditionExpression: 'queuedMessages = :n AND (attribute_not_exists(strangerMessages) OR strangerMessages = :s)',
          ExpressionAttributeValues: { ':n': counts.messages, ':s': counts.strangers },
        }),
      );
      if (dropped) return;
    }
    await this.release(recipient, counts);
  }

  /** Unexpired messages in the partition and how many of them are strangers' (a paged Query of one attribute). */
  private async count(rcpt: string, nowMs: number): Promise<QueueCounts> {
    let messages = 0;
    let strangers = 0;
    for await (const page of queryAll(this.db, {
      TableName: this.table,
      KeyConditionExpression: 'rcpt = :r AND begins_with(sk, :m)',
      FilterExpression: 'expiresAt > :now',
      ProjectionExpression: 'stranger',
      ExpressionAttributeValues: { ':r': rcpt, ':m': MESSAGE_PREFIX, ':now': nowSeconds(nowMs) },
      ConsistentRead: true,
    })) {
      for (const item of page.Items ?? []) {
        messages++;
        if (item.stranger === true) strangers++;
      }
    }
    return { messages, strangers };
  }

  /** The counter outlives every message it counts (their lifetime is capped at retentionDays), then TTL takes it. */
  private counterExpiry(nowMs: number): number {
    return nowSeconds(nowMs) + (this.retentionDays + 1) * 86_400;
  }

  async page(recipient: DeviceAddress, after: string | null, limit: number, nowMs: number): Promise<QueuePage> {
    const rcpt = address(recipient);
    const out = await this.db.send(
      new QueryCommand({
        TableName: this.table,
        KeyConditionExpression: 'rcpt = :r AND begins_with(sk, :m)',
        FilterExpression: 'expiresAt > :now',
        ExpressionAttributeValues: { ':r': rcpt, ':m': MESSAGE_PREFIX, ':now': nowSeconds(nowMs) },
        ExclusiveStartKey: after === null ? undefined : { rcpt, sk: after },
        ConsistentRead: true,
        Limit: limit,
      }),
    );
    const messages = (out.Items ?? []).map((item): QueuedMessage => ({
      recipient,
      id: item.id as string,
      from: { userId: item.fromUser as string, device: Number(item.fromDevice) },
      sentAt: Number(item.sentAt),
      expiresAt: Number(item.expiresAt),
      ciphertext: Buffer.from(item.ct as Uint8Array).toString('base64url'),
      frank: {
        commitment: Buffer.from(item.fc as Uint8Array).toString('base64url'),
        tag: Buffer.from(item.ft as Uint8Array).toString('base64url'),
        kid: item.fk as string,
      },
      ...(item.stranger === true && { share: 'stranger' as const }),
    }));
    return { messages, cursor: (out.LastEvaluatedKey?.sk as string | undefined) ?? null };
  }

  cursorOf(message: QueuedMessage) {
    return messageSortKey(message);
  }

  isCursor(cursor: string) {
    return parseMessageSortKey(cursor) !== undefined;
  }

  /** The depth counter goes with the partition but is not counted: it is neither a message nor a marker. */
  async removeAll(recipient: DeviceAddress): Promise<number> {
    return removePartition(this.db, this.table, 'rcpt', address(recipient), 'sk', (sk) => sk !== DEPTH_SORT_KEY);
  }
}
