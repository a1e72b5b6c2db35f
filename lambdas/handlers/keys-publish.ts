import { publishPrekeys } from '../core/prekeys';
import { frameRoute } from './frame-route';

/** `keys.publish`: stores the device's signed prekey and one-time prekeys. */
export const route = frameRoute('keys.publish', publishPrekeys);
export const handler = route.handler;
