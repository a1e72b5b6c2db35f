import { dynamoConnections } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { connectionOpened } from '../core/connect';
import { connectionRoute } from './connection-route';

/** The ports the route uses, and so the tables its manifest entry grants. */
export const adapters = { connections: dynamoConnections } satisfies PortAdapters;

/** `$connect` (after the authorizer): records the connection under its user for per-recipient lookup. */
export const route = connectionRoute('$connect', connectionOpened, adapters);
export const handler = route.handler;
