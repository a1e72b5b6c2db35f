import { dynamoConnections } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { connectionClosed } from '../core/connect';
import { connectionRoute } from './connection-route';

/** The ports the route uses, and so the tables its manifest entry grants. */
export const adapters = { connections: dynamoConnections } satisfies PortAdapters;

/** `$disconnect`: forgets the connection. Best effort on AWS, so connection records also carry a TTL. */
export const route = connectionRoute('$disconnect', connectionClosed, adapters);
export const handler = route.handler;
