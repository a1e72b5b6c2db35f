import type { OneTimePrekey, SignedPrekey } from '../../protocol/frames';
import type {
  AccountRecord,
  Accounts,
  AttachmentObjects,
  AttachmentStore,
  PresignedPut,
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
  RateLimiter,
  Clock,
  DeviceAddOutcome,
  Devices,
  FrankingKey,
  LinkRecord,
  Links,
  NewLinkedDevice,
  FrankingKeys,
  ReportRecord,
  Reports,
  SendMarker,
  StoredObject,
  StoreName,
  StoreSweeper,
  SweepPage,
  SweptConnection,
  Usernames,
  PushTokens,
  WakeupClaims,
  Wakeups,
} from '../core/ports';
import { isWebPush, type PushSubscription } from '../../protocol/push';
import { encodeWakeup } from './wakeup-message';
import { Limits } from '../../protocol/limits';
import { FIRST_LINKED_DEVICE } from '../core/ports';
import { rateWindow, takeWindow } from '../core/rate-limits';
import { acceptedKey, newKeyring, rotateKeyring, type Keyring } from './franking-keys';
import { markerSortKey, messageSortKey, parseMessageSortKey } from './queue-keys';

/** In-memory ports with the same semantics as the DynamoDB ones, for core tests. */

const address = (a: DeviceAddress): string => `${a.userId}#${a.device}`;

export class MemoryAccounts implements Accounts {
  readonly items = new Map<string, AccountRecord>();
  /** Accounts marked as being deleted (`Usernames.closeAccount`). */
  readonly deleting = new Set<string>();
  async get(userId: string) {
    return this.items.get(userId);
  }
  async getPair(first: string, second: string): Promise<[AccountRecord | undefined, AccountRecord | undefined]> {
    return [this.items.get(first), this.items.get(second)];
  }
  async getMany(userIds: readonly string[]): Promise<Map<string, AccountRecord>> {
    const found = new Map<string, AccountRecord>();
    for (const userId of userIds) {
      const record = this.items.get(userId);
      if (record) found.set(userId, record);
    }
    return found;
  }
  async create(record: AccountRecord) {
    const existing = this.items.get(record.userId);
    if (existing) return { created: false, record: existing };
    this.items.set(record.userId, record);
    this.deleting.delete(record.userId);
    return { created: true, record };
  }
  async replaceIdentity(userId: string, signingKey: string, identityKey: string, identitySig: string) {
    const existing = this.items.get(userId);
    if (!existing || existing.signingKey !== signingKey) return false;
    this.items.set(userId, { ...existing, identityKey, identitySig });
    return true;
  }
  async setDeliveryTokenHash(userId: string, deliveryTokenHash: string) {
    const existing = this.items.get(userId);
    if (!existing) return false;
    this.items.set(userId, { ...existing, deliveryTokenHash });
    return true;
  }
  async remove(userId: string) {
    this.items.delete(userId);
    this.deleting.delete(userId);
  }
  async suspend(userId: string, reason: string, at: number) {
    const existing = this.items.get(userId);
    if (!existing) return false;
    this.items.set(userId, { ...existing, suspended: { reason, at } });
    return true;
  }
  async unsuspend(userId: string) {
    const existing = this.items.get(userId);
    if (!existing) return false;
    const { suspended: _lifted, ...rest } = existing;
    this.items.set(userId, rest);
    return true;
  }
}

export class MemoryUsernames implements Usernames {
  /** The accounts whose username attributes this keeps. */
  constructor(private readonly accounts: MemoryAccounts = new MemoryAccounts()) {}
  /** Case-folded name → user id. */
  readonly items = new Map<string, string>();
  /** Case-folded name → the attempt token of its claim, for claims made with one. */
  readonly tokens = new Map<string, string>();
  async claim(name: string, userId: string, token?: string) {
    const holder = this.items.get(name);
    if (holder !== undefined && (token !== undefined || holder !== userId)) return false;
    this.items.set(name, userId);
    if (token !== undefined) this.tokens.set(name, token);
    else this.tokens.delete(name);
    return true;
  }
  async holder(name: string) {
    return this.items.get(name);
  }
  async claimOf(name: string) {
    const userId = this.items.get(name);
    return userId === undefined ? undefined : { userId, token: this.tokens.get(name) ?? null };
  }
  async release(name: string, userId: string, token?: string | null) {
    if (this.items.get(name) !== userId) return;
    if (token !== undefined && (this.tokens.get(name) ?? null) !== token) return;
    this.items.delete(name);
    this.tokens.delete(name);
  }
  async noteClaims(userId: string, entries: readonly string[]) {
    const existing = this.accounts.items.get(userId);
    if (!existing || this.accounts.deleting.has(userId)) return false;
    this.accounts.items.set(userId, { ...existing, usernameClaims: [...new Set([...(existing.usernameClaims ?? []), ...entries])] });
    return true;
  }
  async commitName(userId: string, username: string, entry: string, token: string | null) {
    const existing = this.accounts.items.get(userId);
    if (!existing || this.accounts.deleting.has(userId) || !(existing.usernameClaims ?? []).includes(entry)) return false;
    const { usernameToken: _replaced, ...rest } = existing;
    this.accounts.items.set(userId, { ...rest, username, ...(token !== null && { usernameToken: token }) });
    return true;
  }
  async retireClaims(userId: string, entries: readonly string[], whileCommitted: string) {
    const existing = this.accounts.items.get(userId);
    if (!existing || existing.usernameToken !== whileCommitted) return false;
    this.accounts.items.set(userId, {
      ...existing,
      usernameClaims: (existing.usernameClaims ?? []).filter((entry) => !entries.includes(entry)),
      usernameReleasing: [...new Set([...(existing.usernameReleasing ?? []), ...entries])],
    });
    return true;
  }
  async forgetClaims(userId: string, entries: readonly string[]) {
    const existing = this.accounts.items.get(userId);
    if (!existing) return;
    this.accounts.items.set(userId, {
      ...existing,
      usernameClaims: (existing.usernameClaims ?? []).filter((entry) => !entries.includes(entry)),
      usernameReleasing: (existing.usernameReleasing ?? []).filter((entry) => !entries.includes(entry)),
    });
  }
  async closeAccount(userId: string) {
    if (this.accounts.items.has(userId)) this.accounts.deleting.add(userId);
    return this.accounts.items.get(userId);
  }
}

export class MemoryPrekeys implements Prekeys {
  readonly signed = new Map<string, SignedPrekey>();
  readonly oneTime = new Map<string, Map<number, OneTimePrekey>>();
  async putSignedPrekey(owner: DeviceAddress, key: SignedPrekey) {
    this.signed.set(address(owner), key);
  }
  async putOneTimePrekeys(owner: DeviceAddress, keys: readonly OneTimePrekey[]) {
    const bucket = this.oneTime.get(address(owner)) ?? new Map<number, OneTimePrekey>();
    for (const key of keys) bucket.set(key.keyId, key);
    this.oneTime.set(address(owner), bucket);
  }
  async signedPrekey(owner: DeviceAddress) {
    return this.signed.get(address(owner));
  }
  async countOneTime(owner: DeviceAddress, atMost?: number) {
    const count = this.oneTime.get(address(owner))?.size ?? 0;
    return atMost === undefined ? count : Math.min(count, atMost);
  }
  async removeOneTime(owner: DeviceAddress, keyIds: readonly number[]) {
    for (const keyId of keyIds) this.oneTime.get(address(owner))?.delete(keyId);
  }
  async takeOneTime(owner: DeviceAddress) {
    const bucket = this.oneTime.get(address(owner));
    if (!bucket || bucket.size === 0) return undefined;
    const lowest = Math.min(...bucket.keys());
    const key = bucket.get(lowest)!;
    bucket.delete(lowest);
    return key;
  }
  async removeAll(owner: DeviceAddress) {
    const removed = (this.signed.delete(address(owner)) ? 1 : 0) + (this.oneTime.get(address(owner))?.size ?? 0);
    this.oneTime.delete(address(owner));
    return removed;
  }
}

export class MemoryConnections implements Connections {
  readonly items = new Map<string, ConnectionRecord>();
  async put(record: ConnectionRecord) {
    this.items.set(record.connectionId, record);
  }
  async remove(userId: string, connectionId: string) {
    if (this.items.get(connectionId)?.userId === userId) this.items.delete(connectionId);
  }
  /** Memory reads are always consistent: `options` changes nothing. */
  async ofUser(userId: string, nowMs: number, _options?: { readonly consistent?: boolean }) {
    return [...this.items.values()].filter((c) => c.userId === userId && c.expiresAt * 1000 > nowMs);
  }
}

export class MemoryQueue implements CiphertextQueue {
  /** recipient → sort key → message; kept sorted on read. */
  readonly messages = new Map<string, Map<string, QueuedMessage>>();
  /** `recipient|marker sort key` → marker: keyed by the same hash as in DynamoDB, so it names no sender either. */
  readonly markers = new Map<string, SendMarker>();
  /** Link items (MemoryLinks), by temporary user id: the queue table holds them on AWS. */
  readonly links = new Map<string, { link: LinkRecord; expiresAt: number }>();
  /** recipient → reservations granted and not yet matched by a put, by share. */
  private readonly pending = new Map<string, { contact: number; stranger: number }>();

  async put(message: QueuedMessage) {
    const bucket = this.messages.get(address(message.recipient)) ?? new Map<string, QueuedMessage>();
    bucket.set(messageSortKey(message), message);
    this.messages.set(address(message.recipient), bucket);
    const pending = this.pending.get(address(message.recipient));
    const share = message.share ?? 'contact';
    if (pending && pending[share] > 0) pending[share]--;
  }
  async claim(recipient: DeviceAddress, from: string, id: string, marker: SendMarker) {
    const key = `${address(recipient)}|${markerSortKey(from, id)}`;
    const existing = this.markers.get(key);
    if (existing && existing.expiresAt * 1000 > marker.sentAt) return existing;
    this.markers.set(key, marker);
    return null;
  }
  async remove(recipient: DeviceAddress, refs: readonly MessageRef[], nowMs: number): Promise<QueueCounts> {
    const bucket = this.messages.get(address(recipient));
    let messages = 0;
    let strangers = 0;
    for (const key of new Set(refs.map((ref) => messageSortKey(ref)))) {
      const message = bucket?.get(key);
      if (!message) continue;
      bucket!.delete(key);
      if (message.expiresAt * 1000 <= nowMs) continue;
      messages++;
      if (message.share === 'stranger') strangers++;
    }
    return { messages, strangers };
  }
  /**
   * Counts the queue itself (memory has no TTL lag to correct for) plus the reservations not yet put, so
   * concurrent sends never share one free place. An ack or a dropped copy has already left the queue, so
   * `release` has nothing to give back.
   */
  async reserve(recipient: DeviceAddress, share: QueueShare, limits: QueueLimits, nowMs: number) {
    const pending = this.pending.get(address(recipient)) ?? { contact: 0, stranger: 0 };
    const live = [...(this.messages.get(address(recipient))?.values() ?? [])].filter((m) => m.expiresAt * 1000 > nowMs);
    const strangers = live.filter((m) => m.share === 'stranger').length + pending.stranger;
    if (live.length + pending.contact + pending.stranger >= limits.depth) return false;
    if (share === 'stranger' && strangers >= limits.strangerDepth) return false;
    pending[share]++;
    this.pending.set(address(recipient), pending);
    return true;
  }
  async release() {}
  async cancel(recipient: DeviceAddress, counts: QueueCounts) {
    const pending = this.pending.get(address(recipient));
    if (!pending) return;
    pending.stranger = Math.max(0, pending.stranger - counts.strangers);
    pending.contact = Math.max(0, pending.contact - (counts.messages - counts.strangers));
    if (pending.contact === 0 && pending.stranger === 0) this.pending.delete(address(recipient));
  }
  async page(recipient: DeviceAddress, after: string | null, limit: number, nowMs: number): Promise<QueuePage> {
    const keys = [...(this.messages.get(address(recipient))?.keys() ?? [])].sort().filter((k) => after === null || k > after);
    const read = keys.slice(0, limit);
    const bucket = this.messages.get(address(recipient));
    const messages = read.map((k) => bucket!.get(k)!).filter((m) => m.expiresAt * 1000 > nowMs);
    return { messages, cursor: keys.length > limit ? read[read.length - 1]! : null };
  }
  cursorOf(message: QueuedMessage) {
    return messageSortKey(message);
  }
  isCursor(cursor: string) {
    return parseMessageSortKey(cursor) !== undefined;
  }
  async removeAll(recipient: DeviceAddress) {
    let removed = this.messages.get(address(recipient))?.size ?? 0;
    this.messages.delete(address(recipient));
    this.pending.delete(address(recipient));
    for (const key of [...this.markers.keys()]) {
      if (key.startsWith(`${address(recipient)}|`)) removed += this.markers.delete(key) ? 1 : 0;
    }
    return removed;
  }
}

export class MemoryNonces implements Nonces {
  readonly items = new Map<string, number>();
  async claim(key: string, expiresAt: number, nowMs: number) {
    const existing = this.items.get(key);
    if (existing !== undefined && existing * 1000 > nowMs) return false;
    this.items.set(key, expiresAt);
    return true;
  }
}

/** Fixed windows as the DynamoDB adapter keeps them: a count per `<key>#<window index>`, one step per take. */
export class MemoryRateLimiter implements RateLimiter {
  readonly items = new Map<string, { n: number; expiresAt: number }>();
  async take(key: string, limit: number, nowMs: number, periodMs?: number, count = 1) {
    const bucket = `${key}#${rateWindow(nowMs, periodMs).index}`;
    const step = takeWindow(this.items.get(bucket)?.n, limit, nowMs, periodMs, count);
    if (!step.allowed) return { allowed: false as const, retryAfterSeconds: step.retryAfterSeconds };
    // Windows over are dropped now and then, as TTL drops them from the table; an old one is never read again.
    if (this.items.size >= 4096) for (const [k, v] of this.items) if (v.expiresAt * 1000 <= nowMs) this.items.delete(k);
    this.items.set(bucket, { n: step.used, expiresAt: step.expiresAt });
    return { allowed: true as const };
  }
  async giveBack(key: string, nowMs: number, periodMs?: number, count = 1) {
    const item = this.items.get(`${key}#${rateWindow(nowMs, periodMs).index}`);
    if (item && item.n >= count) item.n -= count;
  }
}

export class MemoryReports implements Reports {
  readonly items = new Map<string, ReportRecord>();
  async create(record: ReportRecord) {
    const stored = this.items.get(record.reportId);
    if (stored) return { created: false, record: stored };
    this.items.set(record.reportId, record);
    return { created: true, record };
  }
}

/** Subscriptions and their wake-up claims in one map, as the DynamoDB adapters share one table. */
export class MemoryPushTokens implements PushTokens, WakeupClaims {
  /** By `uid#dev`. */
  readonly items = new Map<string, { subscription: PushSubscription; registeredAt: number; lastWakeAt?: number }>();
  async get(device: DeviceAddress) {
    return this.items.get(address(device))?.subscription;
  }
  async put(device: DeviceAddress, subscription: PushSubscription, nowMs: number) {
    const replaced = this.items.has(address(device));
    this.items.set(address(device), { subscription, registeredAt: nowMs });
    return replaced;
  }
  async remove(device: DeviceAddress, only?: PushSubscription) {
    const stored = this.items.get(address(device));
    if (!stored || (only !== undefined && !sameSubscription(stored.subscription, only))) return false;
    return this.items.delete(address(device));
  }
  async removeAll(userId: string) {
    const keys = [...this.items.keys()].filter((key) => key.startsWith(`${userId}#`));
    for (const key of keys) this.items.delete(key);
    return keys.length;
  }
  async claimWakeup(device: DeviceAddress, nowMs: number, everyMs: number) {
    const stored = this.items.get(address(device));
    if (!stored || (stored.lastWakeAt !== undefined && stored.lastWakeAt > nowMs - everyMs)) return false;
    stored.lastWakeAt = nowMs;
    return true;
  }
}

/** The same subscription: same endpoint, or same platform and token (what `PushTokens.remove` matches on). */
function sameSubscription(a: PushSubscription, b: PushSubscription): boolean {
  if (isWebPush(a) || isWebPush(b)) return isWebPush(a) && isWebPush(b) && a.endpoint === b.endpoint;
  return a.platform === b.platform && a.token === b.token;
}

/**
 * The wake-up queue in process (ARCH §6.13): the local stack's and the core tests'. Keeps every body as SQS
 * would carry it, and hands each to `consumer` when one is set (the local push sender), off the enqueuer's path;
 * a body the consumer fails on is kept in `failed`, as a dead-letter queue would keep it.
 */
export class MemoryWakeups implements Wakeups {
  readonly bodies: string[] = [];
  readonly failed: string[] = [];
  consumer?: (body: string) => Promise<void>;
  private readonly delivering = new Set<Promise<void>>();
  async enqueue(device: DeviceAddress) {
    const body = encodeWakeup(device);
    this.bodies.push(body);
    const consumer = this.consumer;
    if (!consumer) return;
    const delivery = Promise.resolve()
      .then(() => consumer(body))
      .catch(() => void this.failed.push(body))
      .finally(() => this.delivering.delete(delivery));
    this.delivering.add(delivery);
  }
  /** Resolves once every body handed to the consumer so far has been handled. */
  async idle(): Promise<void> {
    while (this.delivering.size > 0) await Promise.all([...this.delivering]);
  }
}

export interface MemoryStores {
  readonly accounts: MemoryAccounts;
  readonly prekeys: MemoryPrekeys;
  readonly connections: MemoryConnections;
  readonly queue: MemoryQueue;
  readonly usernames: MemoryUsernames;
  readonly nonces: MemoryNonces;
  readonly rateLimits: MemoryRateLimiter;
  readonly reports: MemoryReports;
  readonly pushTokens: MemoryPushTokens;
}

/** Each memory item under one string id; pages run in id order, as a Scan runs in key order. */
export class MemorySweeper implements StoreSweeper {
  constructor(private readonly stores: MemoryStores) {}

  async connections(cursor: string | null, limit: number): Promise<SweepPage<SweptConnection>> {
    const page = this.pageOf(this.ids('connections'), cursor, limit);
    const items = page.items.map((id) => ({ record: this.stores.connections.items.get(id)!, key: { id } }));
    return { items, cursor: page.cursor };
  }

  async keys(store: StoreName, cursor: string | null, limit: number): Promise<SweepPage<ItemKey>> {
    const page = this.pageOf(this.ids(store), cursor, limit);
    return { items: page.items.map((id) => ({ id })), cursor: page.cursor };
  }

  async remove(store: StoreName, keys: readonly ItemKey[]): Promise<void> {
    const { accounts, prekeys, connections, queue, usernames, nonces, rateLimits, reports, pushTokens } = this.stores;
    for (const { id } of keys) {
      const [kind, a = '', b = ''] = String(id).split('|');
      if (store === 'accounts') accounts.items.delete(String(id));
      else if (store === 'connections') connections.items.delete(String(id));
      else if (store === 'nonces') nonces.items.delete(String(id));
      else if (store === 'usernames') {
        usernames.items.delete(String(id));
        usernames.tokens.delete(String(id));
      } else if (store === 'rateLimits') rateLimits.items.delete(String(id));
      else if (store === 'reports') reports.items.delete(String(id));
      else if (store === 'pushTokens') pushTokens.items.delete(String(id));
      else if (store === 'prekeys' && kind === 'spk') prekeys.signed.delete(a);
      else if (store === 'prekeys') prekeys.oneTime.get(a)?.delete(Number(b));
      else if (kind === 'm') queue.messages.get(a)?.delete(b);
      else if (kind === 'l') queue.links.delete(a);
      else queue.markers.delete(String(id).slice(2));
    }
  }

  private ids(store: StoreName): string[] {
    const { accounts, prekeys, connections, queue, usernames, nonces, rateLimits, reports, pushTokens } = this.stores;
    switch (store) {
      case 'pushTokens':
        return [...pushTokens.items.keys()];
      case 'reports':
        return [...reports.items.keys()];
      case 'accounts':
        return [...accounts.items.keys()];
      case 'connections':
        return [...connections.items.keys()];
      case 'nonces':
        return [...nonces.items.keys()];
      case 'usernames':
        return [...usernames.items.keys()];
      case 'rateLimits':
        return [...rateLimits.items.keys()];
      case 'prekeys':
        return [
          ...[...prekeys.signed.keys()].map((owner) => `spk|${owner}`),
          ...[...prekeys.oneTime].flatMap(([owner, bucket]) => [...bucket.keys()].map((keyId) => `otk|${owner}|${keyId}`)),
        ];
      case 'queue':
        return [
          ...[...queue.messages].flatMap(([rcpt, bucket]) => [...bucket.keys()].map((sk) => `m|${rcpt}|${sk}`)),
          ...[...queue.markers.keys()].map((key) => `d|${key}`),
          ...[...queue.links.keys()].map((tmp) => `l|${tmp}`),
        ];
    }
  }

  private pageOf(ids: string[], cursor: string | null, limit: number): SweepPage<string> {
    const after = ids.sort().filter((id) => cursor === null || id > cursor);
    const items = after.slice(0, limit);
    return { items, cursor: after.length > limit ? items[items.length - 1]! : null };
  }
}

/** A fixed keyring for unit tests and the local stack: `rotate()` makes a new key current, as `ebb-admin franking rotate` does on AWS. */
export class MemoryFrankingKeys implements FrankingKeys {
  private keyring: Keyring;

  constructor(
    private readonly clock: Clock,
    private readonly retentionDays: number,
    private readonly random: (n: number) => Uint8Array,
  ) {
    this.keyring = newKeyring(random);
  }

  async current(): Promise<FrankingKey> {
    return acceptedKey(this.keyring, this.keyring.current, this.clock.now(), this.retentionDays)!;
  }

  async find(kid: string): Promise<FrankingKey | undefined> {
    return acceptedKey(this.keyring, kid, this.clock.now(), this.retentionDays);
  }

  /** Retires the current key now and returns the new one's kid. */
  rotate(): string {
    this.keyring = rotateKeyring(this.keyring, this.random, this.clock.now(), this.retentionDays);
    return this.keyring.current;
  }
}

/** The linked devices of MemoryAccounts' records, with DynamoDevices' semantics. */
export class MemoryDevices implements Devices {
  constructor(private readonly accounts: MemoryAccounts) {}

  async add(userId: string, device: NewLinkedDevice, max: number): Promise<DeviceAddOutcome> {
    const account = this.accounts.items.get(userId);
    if (!account || this.accounts.deleting.has(userId)) return { outcome: 'missing' };
    const linked = account.linked ?? [];
    if ((account.linkedKeys ?? []).includes(device.signingKey)) return { outcome: 'duplicate' };
    if (1 + linked.length >= max) return { outcome: 'full' };
    const number = account.nextDevice ?? FIRST_LINKED_DEVICE;
    if (number > Limits.maxDevice) return { outcome: 'exhausted' };
    this.accounts.items.set(userId, {
      ...account,
      linked: [...linked, { ...device, device: number, ready: false }],
      nextDevice: number + 1,
      linkedKeys: [...(account.linkedKeys ?? []), device.signingKey],
    });
    return { outcome: 'added', device: number };
  }

  async activate(userId: string, device: number): Promise<boolean> {
    const account = this.accounts.items.get(userId);
    const entry = account?.linked?.find((d) => d.device === device);
    if (!account || !entry || account.devices.includes(device)) return false;
    this.accounts.items.set(userId, {
      ...account,
      devices: [...account.devices, device],
      linked: account.linked!.map((d) => (d.device === device ? { ...d, ready: true } : d)),
    });
    return true;
  }

  async remove(userId: string, device: number): Promise<boolean> {
    const account = this.accounts.items.get(userId);
    if (!account?.linked?.some((d) => d.device === device)) return false;
    this.accounts.items.set(userId, {
      ...account,
      devices: account.devices.filter((d) => d !== device),
      linked: account.linked.filter((d) => d.device !== device),
    });
    return true;
  }
}

/** Link items in MemoryQueue, as DynamoLinks keeps them in the queue table. */
export class MemoryLinks implements Links {
  constructor(private readonly queue: MemoryQueue) {}
  async put(tmp: string, link: LinkRecord, expiresAt: number) {
    this.queue.links.set(tmp, { link, expiresAt });
  }
  async get(tmp: string, nowMs: number) {
    const stored = this.queue.links.get(tmp);
    return stored && stored.expiresAt > Math.floor(nowMs / 1000) ? stored.link : undefined;
  }
  async remove(tmp: string) {
    this.queue.links.delete(tmp);
  }
}

/** A URL the memory store made: what it was signed for. */
export interface MemoryPresign {
  readonly method: 'PUT' | 'GET';
  readonly key: string;
  readonly size?: number;
  readonly expiresInSeconds: number;
}

/** Presigns nothing real: records each request and answers a URL naming it, for core tests. */
export class MemoryAttachmentStore implements AttachmentStore {
  readonly presigned: MemoryPresign[] = [];

  async presignUpload(key: string, size: number, expiresInSeconds: number): Promise<PresignedPut> {
    this.presigned.push({ method: 'PUT', key, size, expiresInSeconds });
    return { url: `https://attachments.invalid/${key}?put=${size}`, headers: { 'if-none-match': '*' } };
  }

  async presignDownload(key: string, expiresInSeconds: number): Promise<string> {
    this.presigned.push({ method: 'GET', key, expiresInSeconds });
    return `https://attachments.invalid/${key}?get`;
  }
}

/** Stored objects by key, listed in key order as ListObjectsV2 lists them. */
export class MemoryAttachmentObjects implements AttachmentObjects {
  readonly objects = new Map<string, number>();

  async list(cursor: string | null, limit: number): Promise<SweepPage<StoredObject>> {
    const after = [...this.objects.keys()].sort().filter((key) => cursor === null || key > cursor);
    const items = after.slice(0, limit).map((key) => ({ key, size: this.objects.get(key)! }));
    return { items, cursor: after.length > limit ? items[items.length - 1]!.key : null };
  }

  async remove(keys: readonly string[]): Promise<void> {
    for (const key of keys) this.objects.delete(key);
  }
}
