import type { TableKey } from './adapters/table-definitions';

/** DynamoDB actions a handler may call on a table. No route handler may Scan: only ScheduledHandlers do. */
export type TableAction = 'GetItem' | 'BatchGetItem' | 'Query' | 'Scan' | 'PutItem' | 'UpdateItem' | 'DeleteItem' | 'BatchWriteItem';

export interface HandlerSpec {
  /** File in lambdas/handlers/ (without .ts) exporting `handler`. */
  readonly entry: string;
  /** API Gateway route key; absent for the authorizer. */
  readonly routeKey?: string;
  /** Exactly the table actions the handler performs: infra grants these and nothing more. */
  readonly tables: Partial<Record<TableKey, readonly TableAction[]>>;
  /**
   * Posts to or deletes connections through the management API. Every route that receives frames needs it:
   * a connection flooding frames is answered and closed through it (core/frame-budget.ts), as API Gateway
   * has no per-connection throttle. ManageConnections is one IAM action for POST, GET and DELETE; infra scopes
   * it to this API stage's `@connections`.
   */
  readonly manageConnections: boolean;
  /** Whether the route's integration response is returned to the caller (two-way route). */
  readonly returnsResponse: boolean;
  /** Reads the franking keyring (ARCH §9.3): infra grants GetSecretValue on that one secret. */
  readonly frankingKeys?: boolean;
  /**
   * Queues wake-ups for offline devices (ARCH §6.13): infra grants `sqs:SendMessage` on the wake-up queue alone
   * and sets `EBB_WAKEUP_QUEUE_URL`.
   */
  readonly wakeups?: boolean;
  /**
   * Exactly the S3 actions the handler may take on the attachments bucket (ARCH §6.12): object actions on its
   * objects, `s3:ListBucket` on the bucket. A presigned URL can do only what its signer's grant allows, so
   * each presigning route holds one action. Infra grants these and sets `EBB_ATTACHMENTS_BUCKET`; the local
   * S3 endpoint issues the handler a credential with the same grant.
   */
  readonly attachments?: readonly BucketAction[];
}

/** IAM actions on the attachments bucket a handler may be granted. */
export type BucketAction = 's3:PutObject' | 's3:GetObject' | 's3:DeleteObject' | 's3:ListBucket';

const ACCOUNT_READ = { accounts: ['GetItem'] } as const;
/** A token taken from a bucket: conditional updates; only a refused take reads the bucket. */
const RATE_LIMIT = { rateLimits: ['UpdateItem', 'GetItem'] } as const;

/** A wake-up claimed for an offline device: one conditional update of its push subscription (ARCH §6.13). */
const WAKE = { pushTokens: ['UpdateItem'] } as const;

/** Every Lambda of ebb: the authorizer, the three special routes and one per action. */
export const Handlers: readonly HandlerSpec[] = [
  { entry: 'authorize', tables: { ...ACCOUNT_READ, nonces: ['PutItem'], ...RATE_LIMIT }, manageConnections: false, returnsResponse: false },
  { entry: 'connect', routeKey: '$connect', tables: { connections: ['PutItem'] }, manageConnections: false, returnsResponse: false },
  { entry: 'disconnect', routeKey: '$disconnect', tables: { connections: ['DeleteItem'] }, manageConnections: false, returnsResponse: false },
  { entry: 'default', routeKey: '$default', tables: {}, manageConnections: true, returnsResponse: true },
  { entry: 'hello', routeKey: 'hello', tables: ACCOUNT_READ, manageConnections: true, returnsResponse: true },
  { entry: 'status', routeKey: 'status', tables: {}, manageConnections: true, returnsResponse: true },
  {
    entry: 'register',
    routeKey: 'register',
    tables: { accounts: ['GetItem', 'PutItem', 'UpdateItem'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'keys-publish',
    routeKey: 'keys.publish',
    // GetItem: the answer carries the stored signed prekey's id. UpdateItem: a linked device's first signed prekey makes it ready.
    tables: { accounts: ['GetItem', 'UpdateItem'], prekeys: ['GetItem', 'PutItem', 'BatchWriteItem', 'Query'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'keys-count',
    routeKey: 'keys.count',
    tables: { ...ACCOUNT_READ, prekeys: ['GetItem', 'Query'] },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'keys-bundle',
    routeKey: 'keys.bundle',
    // connections and the management API: `keys.low` to a device left with few one-time prekeys.
    tables: { ...ACCOUNT_READ, prekeys: ['GetItem', 'Query', 'DeleteItem'], connections: ['Query'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'send',
    routeKey: 'send',
    tables: {
      // BatchGetItem: sender and recipient in one read, and the recipient again after writing a copy for a linked
      // device, which may be removed meanwhile (core/queue-copy.ts deliverCopies). connections: Query twice (beside the
      // checks for the push after the put, and after the put for connections made meanwhile), DeleteItem for gone ones.
      accounts: ['BatchGetItem'],
      queue: ['PutItem', 'GetItem', 'DeleteItem', 'UpdateItem', 'Query'],
      connections: ['Query', 'DeleteItem'],
      ...WAKE,
      ...RATE_LIMIT,
    },
    manageConnections: true,
    returnsResponse: true,
    frankingKeys: true,
    wakeups: true,
  },
  {
    // The same steps as `send` per copy (core/queue-copy.ts); BatchGetItem reads all recipient accounts.
    entry: 'fanout',
    routeKey: 'fanout',
    tables: {
      accounts: ['BatchGetItem'],
      queue: ['PutItem', 'GetItem', 'DeleteItem', 'UpdateItem', 'Query'],
      connections: ['Query', 'DeleteItem'],
      ...WAKE,
      ...RATE_LIMIT,
    },
    manageConnections: true,
    returnsResponse: true,
    frankingKeys: true,
    wakeups: true,
  },
  {
    entry: 'report',
    routeKey: 'report',
    tables: { ...ACCOUNT_READ, reports: ['PutItem', 'GetItem'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
    frankingKeys: true,
  },
  { entry: 'fetch', routeKey: 'fetch', tables: { ...ACCOUNT_READ, queue: ['Query'] }, manageConnections: true, returnsResponse: true },
  { entry: 'ack', routeKey: 'ack', tables: { ...ACCOUNT_READ, queue: ['DeleteItem', 'UpdateItem'] }, manageConnections: true, returnsResponse: true },
  {
    entry: 'username-set',
    routeKey: 'username.set',
    tables: { accounts: ['GetItem', 'UpdateItem'], usernames: ['PutItem', 'DeleteItem', 'GetItem'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'username-lookup',
    routeKey: 'username.lookup',
    tables: { ...ACCOUNT_READ, usernames: ['GetItem'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'delivery-token-set',
    routeKey: 'deliveryToken.set',
    tables: { accounts: ['GetItem', 'UpdateItem'] },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'account-delete',
    routeKey: 'account.delete',
    tables: {
      accounts: ['GetItem', 'UpdateItem', 'DeleteItem'],
      prekeys: ['Query', 'BatchWriteItem'],
      // DeleteItem: the link items left for devices being linked.
      queue: ['Query', 'BatchWriteItem', 'DeleteItem'],
      usernames: ['DeleteItem'],
      connections: ['Query', 'DeleteItem'],
      pushTokens: ['Query', 'BatchWriteItem'],
    },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'device-add',
    routeKey: 'device.add',
    // queue: the link item (PutItem); connections and the management API: the `link` push to the new device.
    tables: { accounts: ['GetItem', 'UpdateItem'], queue: ['PutItem'], connections: ['Query', 'DeleteItem'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
  },
  { entry: 'link-fetch', routeKey: 'link.fetch', tables: { ...ACCOUNT_READ, queue: ['GetItem'] }, manageConnections: true, returnsResponse: true },
  { entry: 'devices-list', routeKey: 'devices.list', tables: ACCOUNT_READ, manageConnections: true, returnsResponse: true },
  {
    entry: 'device-remove',
    routeKey: 'device.remove',
    tables: {
      accounts: ['GetItem', 'UpdateItem'],
      prekeys: ['Query', 'BatchWriteItem'],
      // The device's queue (Query, BatchWriteItem) and its link item, if still there (DeleteItem).
      queue: ['Query', 'BatchWriteItem', 'DeleteItem'],
      connections: ['Query', 'DeleteItem'],
      pushTokens: ['DeleteItem'],
    },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'push-register',
    routeKey: 'push.register',
    // GetItem on accounts twice: the caller's device, then again after the put, to take back a subscription
    // written for a device removed meanwhile (DeleteItem).
    tables: { ...ACCOUNT_READ, pushTokens: ['PutItem', 'DeleteItem'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'push-unregister',
    routeKey: 'push.unregister',
    tables: { ...ACCOUNT_READ, pushTokens: ['DeleteItem'], ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
  },
  {
    entry: 'attachment-upload',
    routeKey: 'attachment.upload',
    // Presigns PUTs: the URL carries this grant, so it can store objects and do nothing else.
    tables: { ...ACCOUNT_READ, ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
    attachments: ['s3:PutObject'],
  },
  {
    entry: 'attachment-download',
    routeKey: 'attachment.download',
    tables: { ...ACCOUNT_READ, ...RATE_LIMIT },
    manageConnections: true,
    returnsResponse: true,
    // ListBucket: S3 answers a GET of a missing key 404 only when its signer may list the bucket, and 403 otherwise,
    // which the SDK could not tell from an expired URL. A URL presigned for one GET cannot be used to list.
    attachments: ['s3:GetObject', 's3:ListBucket'],
  },
];

/**
 * Lambdas no client reaches: invoked by EventBridge Scheduler from the sunset schedule (ARCH §10.4).
 * They may Scan, since they walk whole tables off the message path.
 */
export const ScheduledHandlers: readonly HandlerSpec[] = [
  {
    entry: 'lifecycle',
    tables: {
      accounts: ['Scan', 'BatchWriteItem'],
      prekeys: ['Scan', 'BatchWriteItem'],
      connections: ['Scan', 'BatchWriteItem', 'DeleteItem'],
      queue: ['Scan', 'BatchWriteItem'],
      usernames: ['Scan', 'BatchWriteItem'],
      nonces: ['Scan', 'BatchWriteItem'],
      rateLimits: ['Scan', 'BatchWriteItem'],
      reports: ['Scan', 'BatchWriteItem'],
      pushTokens: ['Scan', 'BatchWriteItem'],
    },
    manageConnections: true,
    returnsResponse: false,
    // The purge lists the bucket and deletes every object (DeleteObjects needs s3:DeleteObject on each key).
    attachments: ['s3:ListBucket', 's3:DeleteObject'],
  },
];

/**
 * The Lambda the wake-up queue triggers (ARCH §6.13): it reads a device's push subscription and removes one a
 * push service calls expired, and nothing else of the tables. Its Secrets Manager and SNS grants are the push
 * construct's (infra/push.ts).
 */
export const QueueHandlers: readonly HandlerSpec[] = [
  { entry: 'push-wake', tables: { pushTokens: ['GetItem', 'DeleteItem'] }, manageConnections: false, returnsResponse: false },
];

/** Environment every Lambda reads at cold start; infra sets it from the manifest entry. */
export { LambdaEnv } from './lambda-env';
