import { AccountDeleteFrame } from '../../protocol/client-frames/account-delete';
import {
  dynamoAccounts,
  dynamoConnections,
  dynamoLinks,
  dynamoPrekeys,
  dynamoPushTokens,
  dynamoQueue,
  dynamoUsernames,
  gatewayNotifier,
} from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { deleteAccount } from '../core/account-deletion';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = {
  accounts: dynamoAccounts,
  prekeys: dynamoPrekeys,
  queue: dynamoQueue,
  links: dynamoLinks,
  usernames: dynamoUsernames,
  connections: dynamoConnections,
  pushTokens: dynamoPushTokens,
  notifier: gatewayNotifier,
} satisfies PortAdapters;

/** `account.delete`: remove the caller's account and everything stored under it, closing its other connections. */
export const route = frameRoute('account.delete', AccountDeleteFrame, (ports, caller) => deleteAccount(ports, caller), adapters);
export const handler = route.handler;
