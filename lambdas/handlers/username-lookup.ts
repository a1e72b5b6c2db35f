import { lookupUsername } from '../core/usernames';
import { frameRoute } from './frame-route';

/** `username.lookup`: the user id holding a name, in any case, or null. */
export const route = frameRoute('username.lookup', lookupUsername);
export const handler = route.handler;
