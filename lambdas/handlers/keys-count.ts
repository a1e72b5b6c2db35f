import { countOwnPrekeys } from '../core/prekeys';
import { frameRoute } from './frame-route';

/** `keys.count`: how many one-time prekeys the device has left, so the SDK can top up. */
export const route = frameRoute('keys.count', (ports, caller) => countOwnPrekeys(ports, caller));
export const handler = route.handler;
