import { send } from '../core/delivery';
import { frameRoute } from './frame-route';

/** `send`: queue each ciphertext durably, then push it to the recipient's live connections. */
export const route = frameRoute('send', send);
export const handler = route.handler;
