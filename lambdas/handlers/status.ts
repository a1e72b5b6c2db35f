import { serviceStatus } from '../core/phase';
import { frameRoute } from './frame-route';

/** `status`: phase, schedule and limits. Answered in every phase, to everyone connected. */
export const route = frameRoute('status', async (ports) => serviceStatus(ports));
export const handler = route.handler;
