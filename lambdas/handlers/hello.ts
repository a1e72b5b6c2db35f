import { HelloFrame } from '../../protocol/client-frames/hello';
import { dynamoAccounts } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { hello } from '../core/accounts';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts } satisfies PortAdapters;

/** `hello`: who the connection is, whether it is registered, and the service status with its schedule. */
export const route = frameRoute('hello', HelloFrame, (ports, caller) => hello(ports, caller), adapters);
export const handler = route.handler;
