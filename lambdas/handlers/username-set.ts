import { UsernameSetFrame } from '../../protocol/client-frames/username-set';
import { dynamoAccounts, dynamoRateLimiter, dynamoUsernames } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { setUsername } from '../core/usernames';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, usernames: dynamoUsernames, rateLimiter: dynamoRateLimiter } satisfies PortAdapters;

/** `username.set`: claim a case-folded unique name for the caller, releasing the one they had. */
export const route = frameRoute('username.set', UsernameSetFrame, setUsername, adapters);
export const handler = route.handler;
