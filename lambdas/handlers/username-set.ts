import { setUsername } from '../core/usernames';
import { frameRoute } from './frame-route';

/** `username.set`: claim a case-folded unique name for the caller, releasing the one they had. */
export const route = frameRoute('username.set', setUsername);
export const handler = route.handler;
