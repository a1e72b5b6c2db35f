import { KeysBundleFrame } from '../../protocol/client-frames/keys-bundle';
import { dynamoAccounts, dynamoConnections, dynamoPrekeys, dynamoRateLimiter, gatewayNotifier } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { prekeyBundle } from '../core/prekeys';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = {
  accounts: dynamoAccounts,
  prekeys: dynamoPrekeys,
  rateLimiter: dynamoRateLimiter,
  connections: dynamoConnections,
  notifier: gatewayNotifier,
} satisfies PortAdapters;

/** `keys.bundle`: identity and prekeys of another user's devices; each one-time prekey goes out once; a device left low hears `keys.low`. */
export const route = frameRoute('keys.bundle', KeysBundleFrame, prekeyBundle, adapters);
export const handler = route.handler;
