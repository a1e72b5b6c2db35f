import { RegisterFrame } from '../../protocol/client-frames/register';
import { dynamoAccounts, dynamoRateLimiter } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { register } from '../core/accounts';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, rateLimiter: dynamoRateLimiter } satisfies PortAdapters;

/** `register`: creates the account of the connection's self-certifying user id. */
export const route = frameRoute('register', RegisterFrame, register, adapters);
export const handler = route.handler;
