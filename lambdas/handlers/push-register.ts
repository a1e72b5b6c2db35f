import { PushRegisterFrame } from '../../protocol/client-frames/push-register';
import { dynamoAccounts, dynamoPushTokens, dynamoRateLimiter } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { registerPush } from '../core/push-subscriptions';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, pushTokens: dynamoPushTokens, rateLimiter: dynamoRateLimiter } satisfies PortAdapters;

/** `push.register`: keep this device's push subscription, so that it is woken when something waits for it (ARCH §6.13). */
export const route = frameRoute('push.register', PushRegisterFrame, registerPush, adapters);
export const handler = route.handler;
