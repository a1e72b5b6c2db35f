import { PushUnregisterFrame } from '../../protocol/client-frames/push-unregister';
import { dynamoAccounts, dynamoPushTokens, dynamoRateLimiter } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { unregisterPush } from '../core/push-subscriptions';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, pushTokens: dynamoPushTokens, rateLimiter: dynamoRateLimiter } satisfies PortAdapters;

/** `push.unregister`: forget this device's push subscription (ARCH §6.13). */
export const route = frameRoute('push.unregister', PushUnregisterFrame, (ports, caller) => unregisterPush(ports, caller), adapters);
export const handler = route.handler;
