import { LinkFetchFrame } from '../../protocol/client-frames/link-fetch';
import { dynamoAccounts, dynamoLinks } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { fetchLink } from '../core/devices';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, links: dynamoLinks } satisfies PortAdapters;

/** `link.fetch`: a device being linked reads the provision device 1 left for its temporary identity. */
export const route = frameRoute('link.fetch', LinkFetchFrame, (ports, caller) => fetchLink(ports, caller), adapters);
export const handler = route.handler;
