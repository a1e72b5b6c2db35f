import { KeysCountFrame } from '../../protocol/client-frames/keys-count';
import { dynamoAccounts, dynamoPrekeys } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { countOwnPrekeys } from '../core/prekeys';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, prekeys: dynamoPrekeys } satisfies PortAdapters;

/** `keys.count`: how many one-time prekeys the device has left, so the SDK can top up. */
export const route = frameRoute('keys.count', KeysCountFrame, (ports, caller) => countOwnPrekeys(ports, caller), adapters);
export const handler = route.handler;
