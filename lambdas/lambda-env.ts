import type { TableKey, Tables } from './adapters/table-definitions';

/**
 * Environment every Lambda reads at cold start (parsed in adapters/env.ts). Its own module, so that a
 * handler reading it does not bundle the manifest of every handler (routes.ts) with it.
 */
export const LambdaEnv = {
  config: 'EBB_CONFIG',
  callbackUrl: 'EBB_CALLBACK_URL',
  /** ARN of the Secrets Manager secret holding the franking keyring. */
  frankingSecret: 'EBB_FRANKING_SECRET',
  /** URL of the SQS wake-up queue (ARCH §6.13), set on the routes that may queue wake-ups (`wakeups` in the manifest). */
  wakeupQueueUrl: 'EBB_WAKEUP_QUEUE_URL',
  /**
   * base64url of the deployment's VAPID public key when Web Push is on: public, so an environment variable is
   * fine; `status` and `hello` announce it (ARCH §6.13).
   */
  vapidPublicKey: 'EBB_VAPID_PUBLIC_KEY',
  /** Name of the attachments bucket (ARCH §6.12), set only for the handlers granted access to it. */
  attachmentsBucket: 'EBB_ATTACHMENTS_BUCKET',
} as const;

/**
 * Environment variable through which a Lambda learns each deployed table name; infra sets only those of the
 * tables its handler was granted. The same names as `Tables[key].envVar` (the compiler holds them equal),
 * repeated here so a Lambda does not bundle every table's definition to read them.
 */
export const TableEnv = {
  accounts: 'EBB_TABLE_ACCOUNTS',
  prekeys: 'EBB_TABLE_PREKEYS',
  connections: 'EBB_TABLE_CONNECTIONS',
  queue: 'EBB_TABLE_QUEUE',
  usernames: 'EBB_TABLE_USERNAMES',
  nonces: 'EBB_TABLE_NONCES',
  rateLimits: 'EBB_TABLE_RATE_LIMITS',
  reports: 'EBB_TABLE_REPORTS',
  pushTokens: 'EBB_TABLE_PUSH_TOKENS',
} as const satisfies { readonly [K in TableKey]: (typeof Tables)[K]['envVar'] };
