import type { Notifier } from '../core/ports';
import { DynamoAccounts } from './dynamodb/accounts';
import { DynamoConnections } from './dynamodb/connections';
import { DynamoNonces } from './dynamodb/nonces';
import { DynamoPrekeys } from './dynamodb/prekeys';
import { DynamoPushTokens } from './dynamodb/push-tokens';
import { DynamoWakeupClaims } from './dynamodb/wakeup-claims';
import { DynamoQueue } from './dynamodb/queue';
import { DynamoRateLimiter } from './dynamodb/rate-limiter';
import { DynamoReports } from './dynamodb/reports';
import { DynamoSweeper } from './dynamodb/sweeper';
import { DynamoUsernames } from './dynamodb/usernames';
import { DynamoDevices, DynamoLinks } from './dynamodb/devices';
import { GatewayNotifier } from './notifier';
import type { AdapterContext } from './wiring';

/**
 * One adapter per port, each its own export: a handler imports the ones it uses, and esbuild leaves the
 * implementations of the others out of its bundle. The attachment adapters (`s3Attachments` in
 * attachment-store.ts, `s3AttachmentObjects` in attachment-objects.ts) live beside their classes: esbuild keeps
 * every `require` of an external package a bundled module names, so only their modules may name the S3 client.
 * For the same reason the keyring adapter (`frankingKeyring`, franking-keys.ts) and the wake-up queue's
 * (`wakeupQueue`, sqs-wakeups.ts) live beside theirs, with the Secrets Manager and SQS clients: the routes that
 * name neither bundle neither client, nor require it at cold start.
 */

export const dynamoAccounts = (c: AdapterContext) => new DynamoAccounts(c.db, c.table('accounts'));
export const dynamoDevices = (c: AdapterContext) => new DynamoDevices(c.db, c.table('accounts'));
export const dynamoLinks = (c: AdapterContext) => new DynamoLinks(c.db, c.table('queue'));
export const dynamoPrekeys = (c: AdapterContext) => new DynamoPrekeys(c.db, c.table('prekeys'));
export const dynamoConnections = (c: AdapterContext) => new DynamoConnections(c.db, c.table('connections'));
export const dynamoQueue = (c: AdapterContext) => new DynamoQueue(c.db, c.table('queue'), c.options.config.retentionDays);
export const dynamoNonces = (c: AdapterContext) => new DynamoNonces(c.db, c.table('nonces'));
export const dynamoUsernames = (c: AdapterContext) => new DynamoUsernames(c.db, c.table('usernames'), c.table('accounts'));
export const dynamoRateLimiter = (c: AdapterContext) => new DynamoRateLimiter(c.db, c.table('rateLimits'));
export const dynamoReports = (c: AdapterContext) => new DynamoReports(c.db, c.table('reports'));
export const dynamoSweeper = (c: AdapterContext) => new DynamoSweeper(c.db, c.table);
export const dynamoPushTokens = (c: AdapterContext) => new DynamoPushTokens(c.db, c.table('pushTokens'));
export const dynamoWakeupClaims = (c: AdapterContext) => new DynamoWakeupClaims(c.db, c.table('pushTokens'));

/** The management API client of the options; a handler not given one fails on first use. */
export const gatewayNotifier = (c: AdapterContext): Notifier => {
  if (!c.options.management) throw new Error('EBB_CALLBACK_URL is not set for this handler');
  return new GatewayNotifier(c.options.management, c.options.logger);
};
