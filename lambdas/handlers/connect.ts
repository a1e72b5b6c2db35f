import { connectionOpened } from '../core/connect';
import { connectionRoute } from './connection-route';

/** `$connect` (after the authorizer): records the connection under its user for per-recipient lookup. */
export const route = connectionRoute('$connect', connectionOpened);
export const handler = route.handler;
