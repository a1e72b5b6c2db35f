import { AckFrame } from '../../protocol/client-frames/ack';
import { dynamoAccounts, dynamoQueue } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { ack } from '../core/delivery';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, queue: dynamoQueue } satisfies PortAdapters;

/** `ack`: removes delivered messages from the caller's own queue. A `quiet` ack is answered only if it fails. */
export const route = frameRoute('ack', AckFrame, ack, adapters, { resultless: (frame) => frame.quiet === true });
export const handler = route.handler;
