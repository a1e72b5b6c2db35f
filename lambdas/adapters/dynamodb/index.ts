/** The DynamoDB adapters, one file per port; `shared.ts` holds what they have in common. */
export { documentClient } from './shared';
export { DynamoAccounts } from './accounts';
export { DynamoConnections } from './connections';
export { DynamoDevices, DynamoLinks } from './devices';
export { DynamoNonces } from './nonces';
export { DynamoPrekeys } from './prekeys';
export { DynamoQueue } from './queue';
export { DynamoRateLimiter } from './rate-limiter';
export { DynamoReports } from './reports';
export { DynamoSweeper } from './sweeper';
export { DynamoUsernames } from './usernames';
export { DynamoPushTokens } from './push-tokens';
export { DynamoWakeupClaims } from './wakeup-claims';
