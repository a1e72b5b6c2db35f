import { KeysBundleFrame } from '../../protocol/client-frames/keys-bundle';
import { dynamoAccounts, dynamoPrekeys, dynamoRateLimiter } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { prekeyBundle } from '../core/prekeys';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, prekeys: dynamoPrekeys, rateLimiter: dynamoRateLimiter } satisfies PortAdapters;

/** `keys.bundle`: identity and prekeys of another user's devices; each one-time prekey goes out once. */
export const route = frameRoute('keys.bundle', KeysBundleFrame, prekeyBundle, adapters);
export const handler = route.handler;
