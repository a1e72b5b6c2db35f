import { ack } from '../core/delivery';
import { frameRoute } from './frame-route';

/** `ack`: removes delivered messages from the caller's own queue. */
export const route = frameRoute('ack', ack);
export const handler = route.handler;
