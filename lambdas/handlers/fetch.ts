import { fetch } from '../core/delivery';
import { frameRoute } from './frame-route';

/** `fetch`: one page of the caller's own queue, in order. */
export const route = frameRoute('fetch', fetch);
export const handler = route.handler;
