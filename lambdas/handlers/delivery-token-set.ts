import { DeliveryTokenSetFrame } from '../../protocol/client-frames/delivery-token-set';
import { dynamoAccounts } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { setDeliveryToken } from '../core/delivery-tokens';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts } satisfies PortAdapters;

/** `deliveryToken.set`: replace the hash of the caller's delivery token, which makes its contacts' sends count as theirs. */
export const route = frameRoute('deliveryToken.set', DeliveryTokenSetFrame, setDeliveryToken, adapters);
export const handler = route.handler;
