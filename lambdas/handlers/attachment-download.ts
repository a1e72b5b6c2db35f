import { AttachmentDownloadFrame } from '../../protocol/client-frames/attachment-download';
import { dynamoAccounts, dynamoRateLimiter, s3Attachments } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { presignDownload } from '../core/attachments';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, rateLimiter: dynamoRateLimiter, attachments: s3Attachments } satisfies PortAdapters;

/** `attachment.download`: a presigned GET for an attachment id (ARCH §6.12). */
export const route = frameRoute('attachment.download', AttachmentDownloadFrame, presignDownload, adapters);
export const handler = route.handler;
