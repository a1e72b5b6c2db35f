import { KeysPublishFrame } from '../../protocol/client-frames/keys-publish';
import { dynamoAccounts, dynamoDevices, dynamoPrekeys, dynamoRateLimiter } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { publishPrekeys } from '../core/prekeys';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = {
  accounts: dynamoAccounts,
  devices: dynamoDevices,
  prekeys: dynamoPrekeys,
  rateLimiter: dynamoRateLimiter,
} satisfies PortAdapters;

/** `keys.publish`: stores the device's signed prekey and one-time prekeys; a linked device's first signed prekey makes it ready. */
export const route = frameRoute('keys.publish', KeysPublishFrame, publishPrekeys, adapters);
export const handler = route.handler;
