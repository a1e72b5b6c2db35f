import { DeviceAddFrame } from '../../protocol/client-frames/device-add';
import { dynamoAccounts, dynamoConnections, dynamoDevices, dynamoLinks, dynamoRateLimiter, gatewayNotifier } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { addDevice } from '../core/devices';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = {
  accounts: dynamoAccounts,
  devices: dynamoDevices,
  links: dynamoLinks,
  rateLimiter: dynamoRateLimiter,
  connections: dynamoConnections,
  notifier: gatewayNotifier,
} satisfies PortAdapters;

/** `device.add`: device 1 links a device it certified and leaves it the sealed provision (ARCH §4.6). */
export const route = frameRoute('device.add', DeviceAddFrame, addDevice, adapters);
export const handler = route.handler;
