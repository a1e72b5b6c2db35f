import { ReportFrame } from '../../protocol/client-frames/report';
import { frankingKeyring } from '../adapters/franking-keys';
import { dynamoAccounts, dynamoRateLimiter, dynamoReports } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { report } from '../core/reports';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = {
  accounts: dynamoAccounts,
  reports: dynamoReports,
  rateLimiter: dynamoRateLimiter,
  frankingKeys: frankingKeyring,
} satisfies PortAdapters;

/** `report`: verify the franking tag and commitment of a received message, then store the report. */
export const route = frameRoute('report', ReportFrame, report, adapters);
export const handler = route.handler;
