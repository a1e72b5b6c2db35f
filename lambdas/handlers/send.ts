import { SendFrame } from '../../protocol/client-frames/send';
import { dynamoAccounts, dynamoConnections, dynamoQueue, dynamoRateLimiter, dynamoWakeupClaims, gatewayNotifier } from '../adapters/port-adapters';
import { frankingKeyring } from '../adapters/franking-keys';
import { wakeupQueue } from '../adapters/sqs-wakeups';
import type { PortAdapters } from '../adapters/wiring';
import { send } from '../core/delivery';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = {
  accounts: dynamoAccounts,
  queue: dynamoQueue,
  connections: dynamoConnections,
  rateLimiter: dynamoRateLimiter,
  notifier: gatewayNotifier,
  frankingKeys: frankingKeyring,
  // Wake-ups for recipient devices with no live connection (ARCH §6.13).
  wakeupClaims: dynamoWakeupClaims,
  wakeups: wakeupQueue,
} satisfies PortAdapters;

/** `send`: queue each ciphertext durably, then push it to the recipient's live connections. */
export const route = frameRoute('send', SendFrame, send, adapters);
export const handler = route.handler;
