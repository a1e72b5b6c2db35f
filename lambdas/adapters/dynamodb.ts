import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  BatchWriteCommand,
  type BatchGetCommandOutput,
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  type QueryCommandInput,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { OneTimePrekey, SignedPrekey } from '../../protocol/frames';
import type {
  AccountRecord,
  Accounts,
  CiphertextQueue,
  ConnectionRecord,
  Connections,
  DeviceAddress,
  ItemKey,
  MessageRef,
  Nonces,
  Prekeys,
  QueueCounts,
  QueuedMessage,
  QueueLimits,
  QueuePage,
  QueueShare,
  RateDecision,
  RateLimiter,
  ReportRecord,
  Reports,
  SendMarker,
  StoreName,
  StoreSweeper,
  SweepPage,
  SweptConnection,
  Usernames,
} from '../core/ports';
import { linkedDevicesOf } from './dynamodb/devices';
import { Tables } from './table-definitions';
import { cellWindow, retryAfterSeconds } from '../core/rate-limits';
import { DEPTH_SORT_KEY, MESSAGE_PREFIX, markerSortKey, messageSortKey, parseMessageSortKey } from './queue-keys';

/** DynamoDB implementations of the storage ports. No transactions (dynalite has none); Scan only in DynamoSweeper. */

export function documentClient(client: DynamoDBClient): DynamoDBDocumentClient {
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

const address = (a: DeviceAddress): string => `${a.userId}#${a.device}`;
const nowSeconds = (nowMs: number): number => Math.floor(nowMs / 1000);

function isConditionFailure(error: unknown): boolean {
  return error instanceof ConditionalCheckFailedException || (error as { name?: string })?.name === 'ConditionalCheckFailedException';
}

/** A conditional write: true when it was made, false when its condition failed; any other error is thrown. */
async function conditionalWrite(db: DynamoDBDocumentClient, command: PutCommand | UpdateCommand): Promise<boolean> {
  try {
    await db.send(command as PutCommand);
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Runs a Query to the end, one page at a time. */
async function* queryAll(db: DynamoDBDocumentClient, input: QueryCommandInput) {
  let start: Record<string, unknown> | undefined;
  do {
    const page = await db.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
    yield page;
    start = page.LastEvaluatedKey;
  } while (start);
}

/** BatchWriteItem in chunks of 25, retrying unprocessed items with backoff. */
async function batchWrite(db: DynamoDBDocumentClient, table: string, requests: Record<string, unknown>[]): Promise<void> {
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
    const found = new Map<string, AccountRecord>();
    let keys: Record<string, unknown>[] | undefined = first === second ? [{ uid: first }] : [{ uid: first }, { uid: second }];
    // DynamoDB may leave keys unprocessed under load: read those again, as it asks.
    for (let attempt = 0; keys && keys.length > 0; attempt++) {
      if (attempt === 4) throw new Error('accounts: BatchGetItem left keys unprocessed');
      const out: BatchGetCommandOutput = await this.db.send(
        new BatchGetCommand({ RequestItems: { [this.table]: { Keys: keys, ConsistentRead: true } } }),
      );
      for (const item of out.Responses?.[this.table] ?? []) found.set(item.uid as string, toAccount(item));
      keys = out.UnprocessedKeys?.[this.table]?.Keys;
    }
    return [found.get(first), found.get(second)];
  }

  async create(record: AccountRecord) {
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: {
            uid: record.userId,
            signingKey: record.signingKey,
            identityKey: record.identityKey,
            identitySig: record.identitySig,
            devices: [...record.devices],
            createdAt: record.createdAt,
          },
          ConditionExpression: 'attribute_not_exists(uid)',
        }),
      );
      return { created: true, record };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const existing = await this.get(record.userId);
      if (!existing) throw error;
      return { created: false, record: existing };
    }
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
function updateAccount(
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

function toAccount(item: Record<string, unknown>): AccountRecord {
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

/**
 * The usernames table, and the username attributes of account items (`accounts`: the accounts table).
 * `name` is a DynamoDB reserved word, hence `#n` throughout.
 */
export class DynamoUsernames implements Usernames {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly accounts: string,
  ) {}

  async noteClaims(userId: string, entries: readonly string[]): Promise<boolean> {
    return this.update(userId, 'ADD usernameClaims :e', { ':e': new Set(entries) }, 'attribute_exists(uid) AND attribute_not_exists(deleting)');
  }

  async commitName(userId: string, username: string, entry: string, token: string | null): Promise<boolean> {
    return this.update(
      userId,
      token === null ? 'SET username = :u REMOVE usernameToken' : 'SET username = :u, usernameToken = :t',
      { ':u': username, ':e': entry, ...(token !== null && { ':t': token }) },
      'contains(usernameClaims, :e) AND attribute_not_exists(deleting)',
    );
  }

  async retireClaims(userId: string, entries: readonly string[], whileCommitted: string): Promise<boolean> {
    return this.update(
      userId,
      'DELETE usernameClaims :e ADD usernameReleasing :e',
      { ':e': new Set(entries), ':t': whileCommitted },
      'usernameToken = :t',
    );
  }

  async forgetClaims(userId: string, entries: readonly string[]): Promise<void> {
    if (entries.length === 0) return;
    // DELETE from string sets; an emptied set is removed by DynamoDB itself.
    await this.update(userId, 'DELETE usernameClaims :e, usernameReleasing :e', { ':e': new Set(entries) });
  }

  /** The mark, then a strongly consistent read: it sees every claim noted before the mark. */
  async closeAccount(userId: string, at: number): Promise<AccountRecord | undefined> {
    if (!(await this.update(userId, 'SET deleting = if_not_exists(deleting, :at)', { ':at': at }))) return undefined;
    const out = await this.db.send(new GetCommand({ TableName: this.accounts, Key: { uid: userId }, ConsistentRead: true }));
    return out.Item ? toAccount(out.Item) : undefined;
  }

  private update(userId: string, expression: string, values: Record<string, unknown>, condition?: string): Promise<boolean> {
    return updateAccount(this.db, this.accounts, userId, expression, values, condition);
  }

  async claim(name: string, userId: string, token?: string): Promise<boolean> {
    return conditionalWrite(
      this.db,
      new PutCommand({
        TableName: this.table,
        Item: { name, uid: userId, ...(token !== undefined && { token }) },
        ConditionExpression: token === undefined ? 'attribute_not_exists(#n) OR uid = :u' : 'attribute_not_exists(#n)',
        ExpressionAttributeNames: { '#n': 'name' },
        ...(token === undefined && { ExpressionAttributeValues: { ':u': userId } }),
      }),
    );
  }

  async holder(name: string): Promise<string | undefined> {
    return (await this.claimOf(name))?.userId;
  }

  async claimOf(name: string): Promise<{ userId: string; token: string | null } | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { name }, ConsistentRead: true }));
    if (!out.Item) return undefined;
    return { userId: out.Item.uid as string, token: typeof out.Item.token === 'string' ? out.Item.token : null };
  }

  async release(name: string, userId: string, token?: string | null): Promise<void> {
    const byToken = token === undefined ? '' : token === null ? ' AND attribute_not_exists(#t)' : ' AND #t = :t';
    try {
      await this.db.send(
        new DeleteCommand({
          TableName: this.table,
          Key: { name },
          ConditionExpression: `uid = :u${byToken}`,
          ...(token !== undefined && { ExpressionAttributeNames: { '#t': 'token' } }),
          ExpressionAttributeValues: { ':u': userId, ...(typeof token === 'string' && { ':t': token }) },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
    }
  }
}

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

/** Every item of one partition, read keys-only with a Query and deleted in batches; returns how many of them `counts`. */
async function removePartition(
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

  async ofUser(userId: string, nowMs: number): Promise<ConnectionRecord[]> {
    const records: ConnectionRecord[] = [];
    for await (const page of queryAll(this.db, {
      TableName: this.table,
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
    try {
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: { ...key, sentAt: marker.sentAt, expiresAt: marker.expiresAt, ...(marker.share === 'stranger' && { stranger: true }) },
          // An expired marker counts as absent: TTL deletion on AWS may lag by days.
          ConditionExpression: 'attribute_not_exists(sk) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': nowSeconds(marker.sentAt) },
        }),
      );
      return null;
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const out = await this.db.send(new GetCommand({ TableName: this.table, Key: key, ConsistentRead: true }));
      if (!out.Item) throw error;
      return { sentAt: Number(out.Item.sentAt), expiresAt: Number(out.Item.expiresAt), share: out.Item.stranger === true ? 'stranger' : 'contact' };
    }
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

export class DynamoNonces implements Nonces {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async claim(key: string, expiresAt: number, nowMs: number): Promise<boolean> {
    return conditionalWrite(
      this.db,
      new PutCommand({
        TableName: this.table,
        Item: { nonce: key, expiresAt },
        ConditionExpression: 'attribute_not_exists(nonce) OR expiresAt <= :now',
        ExpressionAttributeValues: { ':now': nowSeconds(nowMs) },
      }),
    );
  }
}

/** Rounds of the two conditional updates before a take concludes the bucket is being emptied right now. */
const BUCKET_ROUNDS = 3;

/**
 * Buckets as GCRA (core/rate-limits.ts): an item `{ bucket, tat, expiresAt }`. A take is `takeCell` applied
 * by DynamoDB itself as conditional UpdateItems, atomic, so concurrent takes never share a token and no read
 * comes first: an idle bucket restarts from now; a bucket in use moves on by one interval while that stays
 * within the burst; only a refused take reads the item, to say when to retry.
 */
export class DynamoRateLimiter implements RateLimiter {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async take(key: string, limit: number, nowMs: number, periodMs?: number): Promise<RateDecision> {
    const { interval, latest, expiresAt } = cellWindow(limit, nowMs, periodMs);
    for (let round = 0; round < BUCKET_ROUNDS; round++) {
      const restarted = await conditionalWrite(
        this.db,
        new UpdateCommand({
          TableName: this.table,
          Key: { bucket: key },
          UpdateExpression: 'SET tat = :next, expiresAt = :expires',
          ConditionExpression: 'attribute_not_exists(tat) OR tat <= :now',
          ExpressionAttributeValues: { ':next': nowMs + interval, ':now': nowMs, ':expires': expiresAt },
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
          ExpressionAttributeValues: { ':interval': interval, ':now': nowMs, ':latest': latest, ':expires': expiresAt },
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

/** Verified reports by id. `create` is the route's; `get` and `list` (a Scan) are for operators only. */
export class DynamoReports implements Reports {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(record: ReportRecord): Promise<{ created: boolean; record: ReportRecord }> {
    try {
      await this.db.send(
        new PutCommand({ TableName: this.table, Item: toReportItem(record), ConditionExpression: 'attribute_not_exists(reportId)' }),
      );
      return { created: true, record };
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const stored = await this.get(record.reportId);
      if (!stored) throw error;
      return { created: false, record: stored };
    }
  }

  async get(reportId: string): Promise<ReportRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { reportId }, ConsistentRead: true }));
    return out.Item ? fromReportItem(out.Item) : undefined;
  }

  /** One Scan page after `cursor` (a report id), at most `limit`; the order is the table's, not time. */
  async list(cursor: string | null, limit: number): Promise<{ reports: ReportRecord[]; cursor: string | null }> {
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.table,
        Limit: limit,
        ConsistentRead: true,
        ExclusiveStartKey: cursor === null ? undefined : { reportId: cursor },
      }),
    );
    return { reports: (out.Items ?? []).map(fromReportItem), cursor: (out.LastEvaluatedKey?.reportId as string | undefined) ?? null };
  }
}

function toReportItem(r: ReportRecord): Record<string, unknown> {
  return {
    reportId: r.reportId,
    reporter: r.reporter.userId,
    reporterDevice: r.reporter.device,
    sender: r.sender.userId,
    senderDevice: r.sender.device,
    messageId: r.messageId,
    sentAt: r.sentAt,
    reportedAt: r.reportedAt,
    reason: r.reason,
    kind: r.kind,
    content: r.content,
  };
}

function fromReportItem(item: Record<string, unknown>): ReportRecord {
  return {
    reportId: item.reportId as string,
    reporter: { userId: item.reporter as string, device: Number(item.reporterDevice) },
    sender: { userId: item.sender as string, device: Number(item.senderDevice) },
    messageId: item.messageId as string,
    sentAt: Number(item.sentAt),
    reportedAt: Number(item.reportedAt),
    reason: item.reason as string,
    kind: item.kind === 'text' ? 'text' : 'bytes',
    content: item.content as string,
  };
}

function keyNames(store: StoreName): string[] {
  const def: { partitionKey: { name: string }; sortKey?: { name: string } } = Tables[store];
  return def.sortKey ? [def.partitionKey.name, def.sortKey.name] : [def.partitionKey.name];
}
