import { FetchFrame } from '../../protocol/client-frames/fetch';
import { dynamoAccounts, dynamoQueue } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { fetch } from '../core/delivery';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, queue: dynamoQueue } satisfies PortAdapters;

/** `fetch`: one page of the caller's own queue, in order. */
export const route = frameRoute('fetch', FetchFrame, fetch, adapters);
export const handler = route.handler;
