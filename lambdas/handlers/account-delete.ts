import { deleteAccount } from '../core/account-deletion';
import { frameRoute } from './frame-route';

/** `account.delete`: remove the caller's account and everything stored under it, closing its other connections. */
export const route = frameRoute('account.delete', (ports, caller) => deleteAccount(ports, caller));
export const handler = route.handler;
