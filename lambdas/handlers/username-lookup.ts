import { UsernameLookupFrame } from '../../protocol/client-frames/username-lookup';
import { dynamoAccounts, dynamoRateLimiter, dynamoUsernames } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { lookupUsername } from '../core/usernames';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, usernames: dynamoUsernames, rateLimiter: dynamoRateLimiter } satisfies PortAdapters;

/** `username.lookup`: the user id holding a name, in any case, or null. */
export const route = frameRoute('username.lookup', UsernameLookupFrame, lookupUsername, adapters);
export const handler = route.handler;
