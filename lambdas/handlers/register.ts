import { register } from '../core/accounts';
import { frameRoute } from './frame-route';

/** `register`: creates the account of the connection's self-certifying user id. */
export const route = frameRoute('register', register);
export const handler = route.handler;
