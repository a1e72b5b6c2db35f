import { DeviceRemoveFrame } from '../../protocol/client-frames/device-remove';
import {
  dynamoAccounts,
  dynamoConnections,
  dynamoDevices,
  dynamoLinks,
  dynamoPrekeys,
  dynamoPushTokens,
  dynamoQueue,
  gatewayNotifier,
} from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { removeDevice } from '../core/devices';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = {
  accounts: dynamoAccounts,
  devices: dynamoDevices,
  links: dynamoLinks,
  prekeys: dynamoPrekeys,
  pushTokens: dynamoPushTokens,
  queue: dynamoQueue,
  connections: dynamoConnections,
  notifier: gatewayNotifier,
} satisfies PortAdapters;

/** `device.remove`: unlink a device, close its connections and delete its queue, prekeys and push subscription (ARCH §4.6). */
export const route = frameRoute('device.remove', DeviceRemoveFrame, removeDevice, adapters);
export const handler = route.handler;
