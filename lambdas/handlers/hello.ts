import { hello } from '../core/accounts';
import { frameRoute } from './frame-route';

/** `hello`: who the connection is, whether it is registered, and the service status with its schedule. */
export const route = frameRoute('hello', (ports, caller) => hello(ports, caller));
export const handler = route.handler;
