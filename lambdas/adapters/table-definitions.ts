/**
 * One definition of each DynamoDB table (ARCH §7), used by infra (CDK) and by the local stack (dynalite).
 * Keys are strings throughout; every table with a TTL attribute stores epoch seconds in it.
 */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N' | 'B';
}

export interface TableDefinition {
  /** Construct id on AWS and the stem of the local table name. */
  readonly id: string;
  /** Environment variable through which Lambdas learn the deployed table name. */
  readonly envVar: string;
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** TTL attribute (epoch seconds). Expired items count as absent in every read. */
  readonly ttlAttribute?: string;
  readonly description: string;
}

export const Tables = {
  accounts: {
    id: 'Accounts',
    envVar: 'EBB_TABLE_ACCOUNTS',
    partitionKey: { name: 'uid', type: 'S' },
    description: 'One item per user id: signing key, identity key and its signature, devices.',
  },
  prekeys: {
    id: 'Prekeys',
    envVar: 'EBB_TABLE_PREKEYS',
    partitionKey: { name: 'owner', type: 'S' },
    sortKey: { name: 'kid', type: 'S' },
    description: 'Per device (`uid#dev`): the signed prekey (`spk`) and one-time prekeys (`otk#<id>`), each handed out once.',
  },
  connections: {
    id: 'Connections',
    envVar: 'EBB_TABLE_CONNECTIONS',
    partitionKey: { name: 'uid', type: 'S' },
    sortKey: { name: 'connectionId', type: 'S' },
    ttlAttribute: 'expiresAt',
    description: 'Live WebSocket connections, queried per recipient user; TTL past the 2-hour connection limit.',
  },
  queue: {
    id: 'CiphertextQueue',
    envVar: 'EBB_TABLE_QUEUE',
    partitionKey: { name: 'rcpt', type: 'S' },
    sortKey: { name: 'sk', type: 'S' },
    ttlAttribute: 'expiresAt',
    description: 'Per recipient device (`uid#dev`): messages (`m#<sentAt>#<id>`) and send-dedup markers (`d#<sender>#<id>`).',
  },
  usernames: {
    id: 'Usernames',
    envVar: 'EBB_TABLE_USERNAMES',
    partitionKey: { name: 'name', type: 'S' },
    description: 'Claimed usernames, case-folded (`name`), each held by one user id (`uid`); the account item holds the name as spelled.',
  },
  nonces: {
    id: 'ConnectNonces',
    envVar: 'EBB_TABLE_NONCES',
    partitionKey: { name: 'nonce', type: 'S' },
    ttlAttribute: 'expiresAt',
    description: 'Connect nonces (`uid#nonce`), single use, kept past the allowed clock skew.',
  },
  rateLimits: {
    id: 'RateLimits',
    envVar: 'EBB_TABLE_RATE_LIMITS',
    partitionKey: { name: 'bucket', type: 'S' },
    ttlAttribute: 'expiresAt',
    description:
      'Token buckets (`send#<uid>`, `connect#<ip>`, `bundle#<uid>`, `bundleTarget#<uid>`, `register#<ip>`, `report#<uid>`); TTL once a bucket would be full again.',
  },
  reports: {
    id: 'Reports',
    envVar: 'EBB_TABLE_REPORTS',
    partitionKey: { name: 'reportId', type: 'S' },
    description: 'Verified abuse reports: reporter, sender, message id and time, reason and the reported content; kept until purge.',
  },
  pushTokens: {
    id: 'PushTokens',
    envVar: 'EBB_TABLE_PUSH_TOKENS',
    partitionKey: { name: 'uid', type: 'S' },
    sortKey: { name: 'dev', type: 'S' },
    description: "Per user (`uid`) and device (`dev`, decimal): the device's push subscription and when it was last woken.",
  },
} as const satisfies Record<string, TableDefinition>;

export type TableKey = keyof typeof Tables;
export type TableNames = Record<TableKey, string>;

/** Table names the local stack uses. The queue's contains "queue", as on AWS. */
export function localTableNames(prefix = 'ebb'): TableNames {
  return {
    accounts: `${prefix}-accounts`,
    prekeys: `${prefix}-prekeys`,
    connections: `${prefix}-connections`,
    queue: `${prefix}-ciphertext-queue`,
    usernames: `${prefix}-usernames`,
    nonces: `${prefix}-connect-nonces`,
    rateLimits: `${prefix}-rate-limits`,
    reports: `${prefix}-reports`,
    pushTokens: `${prefix}-push-tokens`,
  };
}
