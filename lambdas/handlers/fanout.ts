import { FanoutFrame } from '../../protocol/client-frames/fanout';
import { dynamoAccounts, dynamoConnections, dynamoQueue, dynamoRateLimiter, dynamoWakeupClaims, gatewayNotifier } from '../adapters/port-adapters';
import { frankingKeyring } from '../adapters/franking-keys';
import { wakeupQueue } from '../adapters/sqs-wakeups';
import type { PortAdapters } from '../adapters/wiring';
import { fanout } from '../core/fanout';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants: those of `send`. */
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

/** `fanout`: queue one ciphertext for many recipient devices, each copy durably, then push them. */
export const route = frameRoute('fanout', FanoutFrame, fanout, adapters);
export const handler = route.handler;
