import { DevicesListFrame } from '../../protocol/client-frames/devices-list';
import { dynamoAccounts } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { listDevices } from '../core/devices';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts } satisfies PortAdapters;

/** `devices.list`: the caller's account's devices, from its account item. */
export const route = frameRoute('devices.list', DevicesListFrame, (ports, caller) => listDevices(ports, caller), adapters);
export const handler = route.handler;
