import { connectionClosed } from '../core/connect';
import { connectionRoute } from './connection-route';

/** `$disconnect`: forgets the connection. Best effort on AWS, so connection records also carry a TTL. */
export const route = connectionRoute('$disconnect', connectionClosed);
export const handler = route.handler;
