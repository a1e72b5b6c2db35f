import type { AttachmentRefWire } from '../../protocol/attachment-ref';
import type { EbbConfig } from '../../protocol/config';
import type { Frank, OneTimePrekey, SignedPrekey } from '../../protocol/frames';
import type { ContentKind } from '../../protocol/franking';
import type { PushSubscription } from '../../protocol/push';

/** Small interfaces the core depends on; DynamoDB, API Gateway and in-memory implementations live in adapters/. */

export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export interface AccountRecord {
  readonly userId: string;
  /** base64url Ed25519 signing public key; `userId` is derived from it. */
  readonly signingKey: string;
  /** base64url X25519 identity public key and the signing key's signature over it. */
  readonly identityKey: string;
  readonly identitySig: string;
  readonly devices: readonly number[];
  readonly createdAt: number;
  /** The username as the user spelled it, if they set one. */
  readonly username?: string;
  /** The attempt token of the claim that holds `username` (core/usernames.ts); absent for names set before tokens. */
  readonly usernameToken?: string;
  /**
   * Username claims this account may hold, as claim entries (`name/token`, or a bare name from before
   * tokens): noted before each claim is made, so whoever ends last (a later change, or the deletion) can
   * release them. The claim behind `username` stays here.
   */
  readonly usernameClaims?: readonly string[];
  /** Claim entries taken out of `usernameClaims` and being released: a crash midway leaves them here. */
  readonly usernameReleasing?: readonly string[];
  /** Set by an operator (`ebb-admin suspend`); the reason is for operators and never sent to the user. */
  readonly suspended?: { readonly reason: string; readonly at: number };
  /** base64url SHA-256 of the account's delivery token (core/delivery-tokens.ts); the token itself is never stored. */
  readonly deliveryTokenHash?: string;
  /** Devices linked to the account (ARCH §4.6), ready or still waiting for their first signed prekey; absent: none. */
  readonly linked?: readonly LinkedDevice[];
  /** The number the next linked device gets: numbers are never reused. Absent: 2. */
  readonly nextDevice?: number;
  /** Every device signing key ever linked to the account: a key links once (a link code is used once). */
  readonly linkedKeys?: readonly string[];
}

/** A device linked to an account: its own signing key, which the account signing key certified. */
export interface LinkedDevice {
  readonly device: number;
  /** base64url Ed25519 key the device signs its connects and signed prekeys with. */
  readonly signingKey: string;
  /** base64url signature by the account signing key over `DEVICE_CONTEXT\n ‖ signingKey`. */
  readonly cert: string;
  /** Sealed by the SDK, opaque here; null when the device was linked without one. */
  readonly name: string | null;
  readonly linkedAt: number;
  /** It has published a signed prekey: it is in the account's `devices`, and messages fan out to it. */
  readonly ready: boolean;
}

/** The number the first device linked to an account gets; device 1 is the one that registered. */
export const FIRST_LINKED_DEVICE = 2;

/** A device `Devices.add` links, before it has a number. */
export type NewLinkedDevice = Omit<LinkedDevice, 'device' | 'ready'>;

/**
 * What `Devices.add` did: linked the device under a new number, or not, because the account has `max`
 * devices already (`full`), linked this key before (`duplicate`), has used every device number (`exhausted`),
 * or is gone or being deleted (`missing`).
 */
export type DeviceAddOutcome =
  | { readonly outcome: 'added'; readonly device: number }
  | { readonly outcome: 'full' }
  | { readonly outcome: 'duplicate' }
  | { readonly outcome: 'exhausted' }
  | { readonly outcome: 'missing' };

/**
 * An account's linked devices (ARCH §4.6), kept on its account item, so that a connect, a send and a bundle
 * still read one item. Apart from Accounts so that only the routes that change devices carry this code.
 */
export interface Devices {
  /**
   * Links `device` under the account's next device number, unless the account would then have more than
   * `max` devices (device 1 and every linked one, ready or not), or has linked `device.signingKey` before.
   * Atomic: concurrent adds never share a number or pass `max`.
   */
  add(userId: string, device: NewLinkedDevice, max: number): Promise<DeviceAddOutcome>;
  /** Makes a linked device ready, adding it to `devices`; false if it is not linked, or ready already. */
  activate(userId: string, device: number): Promise<boolean>;
  /** Unlinks a device (device 1 never), taking it out of `devices`; false if the account has no such linked device. */
  remove(userId: string, device: number): Promise<boolean>;
}

/** What device 1 left for a device being linked (`device.add`), under the device's temporary user id. */
export interface LinkRecord {
  readonly user: string;
  readonly device: number;
  /** Sealed by device 1 to the link key in the code; relayed, never read. */
  readonly provision: string;
}

/** Link items, kept for 10 minutes: the new device fetches its provision with `link.fetch`. */
export interface Links {
  /** Stores `link` for `tmp` until `expiresAt` (epoch seconds), replacing any earlier one. */
  put(tmp: string, link: LinkRecord, expiresAt: number): Promise<void>;
  /** The link stored for `tmp`, unless it expired by `nowMs`. */
  get(tmp: string, nowMs: number): Promise<LinkRecord | undefined>;
  /** Deletes the link stored for `tmp`; none is no error. */
  remove(tmp: string): Promise<void>;
}

export interface Accounts {
  get(userId: string): Promise<AccountRecord | undefined>;
  /** Two accounts in one strongly consistent read (a send needs the sender's and the recipient's). */
  getPair(first: string, second: string): Promise<[AccountRecord | undefined, AccountRecord | undefined]>;
  /**
   * Many accounts in strongly consistent reads (BatchGetItem, at most 100 keys a request): those that exist,
   * by user id. A fan-out reads the sender's and every recipient's.
   */
  getMany(userIds: readonly string[]): Promise<Map<string, AccountRecord>>;
  /** Creates the account unless one exists: returns the stored record either way. */
  create(record: AccountRecord): Promise<{ created: boolean; record: AccountRecord }>;
  /** Replaces the identity key of the account whose signing key is `signingKey`; false if there is none. */
  replaceIdentity(userId: string, signingKey: string, identityKey: string, identitySig: string): Promise<boolean>;
  /** Sets the account's `deliveryTokenHash`; false if there is no account. */
  setDeliveryTokenHash(userId: string, hash: string): Promise<boolean>;
  /** Deletes the account item; no account is no error. */
  remove(userId: string): Promise<void>;
  /** Marks the account suspended (replacing an earlier reason); false if there is no account. */
  suspend(userId: string, reason: string, at: number): Promise<boolean>;
  /** Lifts a suspension; false if there is no account. */
  unsuspend(userId: string): Promise<boolean>;
}

/** Username claims, by case-folded name: the one place that decides who holds a name. */
export interface Usernames {
  /**
   * Claims `name` for `userId`. With `token` (one per attempt) only a name no one holds is claimed; without
   * one, a name the user holds already counts as claimed. True when this call holds it now.
   */
  claim(name: string, userId: string, token?: string): Promise<boolean>;
  /** The user id holding `name`, if any. */
  holder(name: string): Promise<string | undefined>;
  /** Who holds `name` and under which attempt token (null: a claim from before tokens). */
  claimOf(name: string): Promise<{ userId: string; token: string | null } | undefined>;
  /**
   * Releases `name` if `userId` holds it: any claim of theirs when `token` is undefined, else only the claim
   * made under `token` (null: only a claim from before tokens). Anything else is left as it is.
   */
  release(name: string, userId: string, token?: string | null): Promise<void>;

  // The account's side of its claims (its `username…` attributes, core/usernames.ts), kept here rather than
  // in Accounts so that only the routes that change names carry this code.

  /** Adds claim entries to the account's `usernameClaims`; false if there is no account or it is being deleted. */
  noteClaims(userId: string, entries: readonly string[]): Promise<boolean>;
  /**
   * Makes `username` the account's, held by the claim `entry` under `token` (null: a claim from before
   * tokens), on condition that `entry` is still noted and the account is not being deleted; false otherwise.
   */
  commitName(userId: string, username: string, entry: string, token: string | null): Promise<boolean>;
  /**
   * Moves `entries` from `usernameClaims` to `usernameReleasing`, on condition that the account's username
   * is still held under `whileCommitted`; false otherwise (a later change committed and releases them).
   */
  retireClaims(userId: string, entries: readonly string[], whileCommitted: string): Promise<boolean>;
  /** Removes `entries` from `usernameClaims` and `usernameReleasing`; no account is no error. */
  forgetClaims(userId: string, entries: readonly string[]): Promise<void>;
  /**
   * Marks the account as being deleted (from then on nothing is noted or committed on it) and returns it
   * as it is from then on; undefined if there is none.
   */
  closeAccount(userId: string, at: number): Promise<AccountRecord | undefined>;
}

/** A user's device: `uid#dev` in storage. */
export interface DeviceAddress {
  readonly userId: string;
  readonly device: number;
}

export interface Prekeys {
  putSignedPrekey(owner: DeviceAddress, key: SignedPrekey): Promise<void>;
  putOneTimePrekeys(owner: DeviceAddress, keys: readonly OneTimePrekey[]): Promise<void>;
  signedPrekey(owner: DeviceAddress): Promise<SignedPrekey | undefined>;
  /** How many one-time prekeys the device has, counted up to `atMost` (a bounded read) when given. */
  countOneTime(owner: DeviceAddress, atMost?: number): Promise<number>;
  /** Deletes these one-time prekeys of the device; ones already gone are no error. */
  removeOneTime(owner: DeviceAddress, keyIds: readonly number[]): Promise<void>;
  /** Removes and returns one one-time prekey; concurrent callers never get the same key. */
  takeOneTime(owner: DeviceAddress): Promise<OneTimePrekey | undefined>;
  /** Deletes every prekey of the device (one Query on its partition, batch deletes); returns how many. */
  removeAll(owner: DeviceAddress): Promise<number>;
}

export interface ConnectionRecord {
  readonly connectionId: string;
  readonly userId: string;
  readonly device: number;
  readonly connectedAt: number;
  /** Epoch seconds, past the 2-hour connection limit: a missed $disconnect still expires. */
  readonly expiresAt: number;
}

export interface Connections {
  put(record: ConnectionRecord): Promise<void>;
  remove(userId: string, connectionId: string): Promise<void>;
  /**
   * One Query on the user's partition; expired records are left out. Eventually consistent unless `consistent`:
   * a strongly consistent read sees every record written before it (a send's read after its put, ARCH §6.2).
   */
  ofUser(userId: string, nowMs: number, options?: { readonly consistent?: boolean }): Promise<ConnectionRecord[]>;
}

/**
 * Whose part of a recipient's queue a message is counted in (ARCH §6.6): a contact's (someone the recipient
 * wrote to, or the recipient itself) may fill all of `maxQueueDepth`, a stranger's only its share.
 */
export type QueueShare = 'contact' | 'stranger';

/** How full a recipient device's queue may get. */
export interface QueueLimits {
  /** Messages in all (`maxQueueDepth`). */
  readonly depth: number;
  /** Messages counted as strangers' (`strangerQueuePercent` per cent of `depth`). */
  readonly strangerDepth: number;
}

/** Messages taken out of a queue, or reservations given back: all of them, and how many of those were strangers'. */
export interface QueueCounts {
  readonly messages: number;
  readonly strangers: number;
}

export interface QueuedMessage {
  readonly recipient: DeviceAddress;
  readonly id: string;
  readonly from: DeviceAddress;
  readonly sentAt: number;
  /** Epoch seconds (the TTL attribute). */
  readonly expiresAt: number;
  readonly ciphertext: string;
  /** The sender's commitment and the server's tag over it (ARCH §9.2). */
  readonly frank: Frank;
  /** The share its reservation was taken from, and so the one its ack gives back; absent: a contact's. */
  readonly share?: QueueShare;
}

export interface MessageRef {
  readonly id: string;
  readonly sentAt: number;
}

export interface QueuePage {
  readonly messages: QueuedMessage[];
  /** Opaque position after the last message read, or null at the end. */
  readonly cursor: string | null;
}

/**
 * Marker proving that `(sender, id)` was queued for a recipient device, kept for the retention period. Stored
 * under a hash of sender and id (adapters/queue-keys.ts), so it names no sender.
 */
export interface SendMarker {
  readonly sentAt: number;
  readonly expiresAt: number;
  /** The share the original was reserved under; absent: a contact's. */
  readonly share?: QueueShare;
}

export interface CiphertextQueue {
  /** Unconditional write of one message under its own key. */
  put(message: QueuedMessage): Promise<void>;
  /**
   * Conditionally records that `(from, id)` reached `recipient` at `marker.sentAt`.
   * Returns null when this call made the claim, or the marker an earlier call left.
   */
  claim(recipient: DeviceAddress, from: string, id: string, marker: SendMarker): Promise<SendMarker | null>;
  /**
   * Deletes these messages from the recipient's queue; returns how many were there unexpired at `nowMs`, and how
   * many of them strangers': an expired message no longer counts against the queue, so it has no room to give back.
   */
  remove(recipient: DeviceAddress, refs: readonly MessageRef[], nowMs: number): Promise<QueueCounts>;
  /**
   * Reserves room for one more message in the recipient's queue under `share`: false when the queue already
   * holds `limits.depth` unexpired messages, or, for a stranger, `limits.strangerDepth` strangers' ones.
   * Each reservation is matched by a put of a message with that share, or given back with `release`.
   */
  reserve(recipient: DeviceAddress, share: QueueShare, limits: QueueLimits, nowMs: number): Promise<boolean>;
  /** Gives back reservations: messages acked or a duplicate copy dropped. */
  release(recipient: DeviceAddress, counts: QueueCounts): Promise<void>;
  /**
   * Gives back reservations this request made and will not match with a put (a refused send, a stale device,
   * a share predicted wrongly). With `dropIfOnly`, a counter that holds nothing but these is deleted rather
   * than left at zero: a send to a user or device that does not exist leaves no item behind.
   */
  cancel(recipient: DeviceAddress, counts: QueueCounts, dropIfOnly?: boolean): Promise<void>;
  /** Messages in queue order after `cursor`, unexpired at `nowMs`, at most `limit`. */
  page(recipient: DeviceAddress, after: string | null, limit: number, nowMs: number): Promise<QueuePage>;
  /** The cursor that resumes a page right after `message`. */
  cursorOf(message: QueuedMessage): string;
  /** Whether `cursor` is one this queue could have produced. */
  isCursor(cursor: string): boolean;
  /** Deletes the device's whole queue, messages and send markers (a Query on its partition); returns how many. */
  removeAll(recipient: DeviceAddress): Promise<number>;
}

export interface Nonces {
  /** Single use: true for the first claim of `key` until `expiresAt` (epoch seconds). */
  claim(key: string, expiresAt: number, nowMs: number): Promise<boolean>;
}

export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** Fixed windows by key: at most `limit` takes in each period (a minute unless said) counted from the epoch. */
export interface RateLimiter {
  /**
   * Takes `count` (default 1) from the window of `key` that holds `nowMs`, all or none, or says how long until
   * that window ends. A `count` above `limit` is never allowed. One store request, whatever the answer.
   */
  take(key: string, limit: number, nowMs: number, periodMs?: number, count?: number): Promise<RateDecision>;
  /**
   * Gives back `count` taken from the window of `key` that holds `nowMs`, never below zero and never making a
   * window that was not there: for a take a request made beside one that was refused. One store request.
   */
  giveBack(key: string, nowMs: number, periodMs?: number, count?: number): Promise<void>;
}

/** A server franking key: `kid` names it in every tag it made. */
export interface FrankingKey {
  readonly kid: string;
  readonly key: Uint8Array;
}

/** The server's franking keyring: on AWS a Secrets Manager secret, locally generated by the stack. */
export interface FrankingKeys {
  /** The key new messages are tagged with. */
  current(): Promise<FrankingKey>;
  /** The key `kid` names while reports under it are still accepted (retired keys: for `retentionDays`). */
  find(kid: string): Promise<FrankingKey | undefined>;
}

/** What a verified report keeps: who reported whom, when, why, and the reported content — nothing else. */
export interface ReportRecord {
  /** Derived from reporter and message, so reporting the same message twice finds the first report. */
  readonly reportId: string;
  readonly reporter: DeviceAddress;
  readonly sender: DeviceAddress;
  readonly messageId: string;
  /** When the server queued the message, epoch ms. */
  readonly sentAt: number;
  readonly reportedAt: number;
  readonly reason: string;
  readonly kind: ContentKind;
  /** The content: the text itself, or base64url of the bytes. */
  readonly content: string;
  /** The reported message's attachment references (ARCH §8.10), checked against its commitment: what the operator fetches and decrypts. */
  readonly attachments?: readonly AttachmentRefWire[];
}

export interface Reports {
  /** Stores `record` unless a report with its id exists: returns the stored one and whether this call made it. */
  create(record: ReportRecord): Promise<{ created: boolean; record: ReportRecord }>;
}

/**
 * Each device's push subscription (ARCH §6.13, §7.9): at most one per device, kept until the device unregisters,
 * is removed, its account is deleted or purged, or a push service calls it expired.
 */
export interface PushTokens {
  /** The device's subscription, if it registered one. */
  get(device: DeviceAddress): Promise<PushSubscription | undefined>;
  /**
   * Stores the device's subscription at `nowMs`, replacing any earlier one; its wake-up window starts afresh.
   * True when it replaced one.
   */
  put(device: DeviceAddress, subscription: PushSubscription, nowMs: number): Promise<boolean>;
  /**
   * Deletes the device's subscription; with `only`, only while the stored one is that same subscription (same
   * endpoint or token), so a push service's "expired" for an old one never removes one registered since. True when
   * one was deleted.
   */
  remove(device: DeviceAddress, only?: PushSubscription): Promise<boolean>;
  /** Deletes the subscriptions of every device of the user (one Query on its partition); returns how many. */
  removeAll(userId: string): Promise<number>;
}

/**
 * The wake-up side of the `PushTokens` items (ARCH §6.13), a port of its own so that the routes that queue
 * copies carry only this one write, not the code that stores subscriptions.
 */
export interface WakeupClaims {
  /**
   * Claims the device's next wake-up at `nowMs`: true when it has a subscription and no wake-up was claimed in the
   * `everyMs` before, recording `nowMs` as its last; false otherwise, changing nothing. One conditional write
   * answers both, so a device without a subscription never costs a queue message (ARCH §6.13).
   */
  claimWakeup(device: DeviceAddress, nowMs: number, everyMs: number): Promise<boolean>;
}

/**
 * The wake-up queue (ARCH §6.13): the only thing that leaves the message path for the push services. Its messages
 * name a device and nothing else (adapters/wakeup-message.ts); on AWS an SQS queue, locally an in-process one.
 */
export interface Wakeups {
  /** Queues one wake-up for `device`; resolves once the queue has accepted it. */
  enqueue(device: DeviceAddress): Promise<void>;
}

/** What the routes know of the push services of this deployment (ARCH §6.13). */
export interface PushSettings {
  /** base64url of the deployment's 65-byte uncompressed P-256 VAPID public key, or null when Web Push is off. */
  vapidPublicKey(): string | null;
  /**
   * Origins (`http://127.0.0.1:4000`) whose plain-http Web Push endpoints are accepted: the local push receiver's,
   * and none on AWS, where every endpoint must be https.
   */
  readonly httpOrigins: readonly string[];
}

/** A presigned PUT: the URL, and the headers the request must carry as they are signed. */
export interface PresignedPut {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * Presigned URLs for attachment objects (ARCH §6.12): S3 on AWS, the local S3 endpoint locally. The URL carries
 * the authority of the credentials that signed it, which is why each route's grant allows exactly one action.
 */
export interface AttachmentStore {
  /**
   * A URL that stores exactly `size` bytes as `key`, accepted when a PUT starts within `expiresInSeconds` and
   * carries every header in `headers` (signed into the URL), and only while no object `key` exists.
   */
  presignUpload(key: string, size: number, expiresInSeconds: number): Promise<PresignedPut>;
  /** A URL that reads `key`, accepted when a GET starts within `expiresInSeconds`. */
  presignDownload(key: string, expiresInSeconds: number): Promise<string>;
}

/** One stored attachment object, as a listing shows it. */
export interface StoredObject {
  readonly key: string;
  readonly size: number;
}

/** The attachment objects as a whole: for the purge (ARCH §10.4) and the operator's stats, never for a route. */
export interface AttachmentObjects {
  /** One page of objects after `cursor` (null: from the start), at most `limit`, in key order. */
  list(cursor: string | null, limit: number): Promise<SweepPage<StoredObject>>;
  /** Deletes these objects; one already gone is no error. */
  remove(keys: readonly string[]): Promise<void>;
}

export type PushOutcome = 'sent' | 'gone' | 'failed';

export interface Notifier {
  /** Posts `data` to one connection; `gone` means API Gateway no longer knows it. */
  push(connectionId: string, data: string): Promise<PushOutcome>;
  /** Closes one connection (API Gateway then runs its `$disconnect`); one already gone is no error. */
  disconnect(connectionId: string): Promise<void>;
}

/**
 * Work a route has started that its answer must not wait for (ARCH §6.13): the route's edge sends the answer
 * first, then lets the work finish before the invocation ends (a frozen Lambda would never finish it).
 */
export interface AfterAnswer {
  /** Hands over `work`, already started; a rejection is swallowed, so log inside it. */
  add(work: Promise<void>): void;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export interface Ports {
  readonly accounts: Accounts;
  readonly devices: Devices;
  readonly links: Links;
  readonly prekeys: Prekeys;
  readonly connections: Connections;
  readonly queue: CiphertextQueue;
  readonly nonces: Nonces;
  readonly usernames: Usernames;
  readonly rateLimiter: RateLimiter;
  readonly frankingKeys: FrankingKeys;
  readonly reports: Reports;
  readonly pushTokens: PushTokens;
  readonly wakeupClaims: WakeupClaims;
  readonly wakeups: Wakeups;
  readonly notifier: Notifier;
  readonly push: PushSettings;
  readonly afterAnswer: AfterAnswer;
  readonly attachments: AttachmentStore;
  readonly clock: Clock;
  readonly config: EbbConfig;
  readonly logger: Logger;
}

/** The authenticated caller, as the authorizer put it in the request context. */
export interface Caller {
  readonly userId: string;
  readonly device: number;
  readonly connectionId: string;
  /** base64url Ed25519 signing key proven at connect. */
  readonly signingKey: string;
  /** The client's address as API Gateway saw it, when it says. */
  readonly sourceIp?: string;
}

/** The stored tables, by role; adapters map each to a DynamoDB table. */
export type StoreName = 'accounts' | 'prekeys' | 'connections' | 'queue' | 'usernames' | 'nonces' | 'rateLimits' | 'reports' | 'pushTokens';

/** The primary key of one stored item, as the sweeper read it: opaque to the core. */
export type ItemKey = Readonly<Record<string, string | number>>;

export interface SweepPage<T> {
  readonly items: readonly T[];
  /** Opaque position after the last item read; null once the table has been read to the end. */
  readonly cursor: string | null;
}

export interface SweptConnection {
  readonly record: ConnectionRecord;
  readonly key: ItemKey;
}

/**
 * Whole-table walks for the scheduled lifecycle jobs only (ARCH §10.4): a Scan, which nothing on the
 * message path may use. Reads are strongly consistent, so an item deleted is never read again.
 */
export interface StoreSweeper {
  /** One page of connection records after `cursor` (null: from the start), at most `limit`. */
  connections(cursor: string | null, limit: number): Promise<SweepPage<SweptConnection>>;
  /** One page of the keys of the items of `store` after `cursor`, at most `limit`. */
  keys(store: StoreName, cursor: string | null, limit: number): Promise<SweepPage<ItemKey>>;
  /** Deletes these items, in batches; an item already gone is no error. */
  remove(store: StoreName, keys: readonly ItemKey[]): Promise<void>;
}

/** What the lifecycle jobs run with: the route ports they need plus the sweeper. */
export interface LifecyclePorts extends Pick<Ports, 'connections' | 'notifier' | 'clock' | 'config' | 'logger'> {
  readonly sweeper: StoreSweeper;
  /** The attachments bucket, which the purge empties after the tables. */
  readonly attachmentObjects: AttachmentObjects;
}
