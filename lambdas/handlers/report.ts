import { report } from '../core/reports';
import { frameRoute } from './frame-route';

/** `report`: verify the franking tag and commitment of a received message, then store the report. */
export const route = frameRoute('report', report);
export const handler = route.handler;
