import { StatusFrame } from '../../protocol/client-frames/status';
import type { PortAdapters } from '../adapters/wiring';
import { serviceStatus } from '../core/phase';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = {} satisfies PortAdapters;

/** `status`: phase, schedule and limits. Answered in every phase, to everyone connected. */
export const route = frameRoute('status', StatusFrame, async (ports) => serviceStatus(ports), adapters);
export const handler = route.handler;
