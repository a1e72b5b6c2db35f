import {
  dynamoAccounts,
  dynamoConnections,
  dynamoDevices,
  dynamoLinks,
  dynamoNonces,
  dynamoPrekeys,
  dynamoPushTokens,
  dynamoQueue,
  dynamoRateLimiter,
  dynamoReports,
  dynamoSweeper,
  dynamoUsernames,
  dynamoWakeupClaims,
  gatewayNotifier,
} from './port-adapters';
import { frankingKeyring } from './franking-keys';
import { wakeupQueue } from './sqs-wakeups';
import { s3AttachmentObjects } from './attachment-objects';
import { s3Attachments } from './attachment-store';
import { wirePorts, type HandlerPorts, type PortAdapters, type PortsOptions } from './wiring';

export { systemClock, type HandlerPorts, type PortsOptions } from './wiring';

/** Every adapter: the all-tables view the local stack gives tests. A Lambda, local or deployed, wires only its own. */
export const EveryAdapter = {
  accounts: dynamoAccounts,
  devices: dynamoDevices,
  links: dynamoLinks,
  prekeys: dynamoPrekeys,
  connections: dynamoConnections,
  queue: dynamoQueue,
  nonces: dynamoNonces,
  usernames: dynamoUsernames,
  rateLimiter: dynamoRateLimiter,
  reports: dynamoReports,
  sweeper: dynamoSweeper,
  notifier: gatewayNotifier,
  frankingKeys: frankingKeyring,
  pushTokens: dynamoPushTokens,
  wakeupClaims: dynamoWakeupClaims,
  wakeups: wakeupQueue,
  attachments: s3Attachments,
  attachmentObjects: s3AttachmentObjects,
} as const satisfies Required<PortAdapters>;

/** Ports over every table given, the management API, the keyring and the attachments bucket, each built on first use. */
export function createPorts(options: PortsOptions): HandlerPorts {
  return wirePorts(options, EveryAdapter);
}
