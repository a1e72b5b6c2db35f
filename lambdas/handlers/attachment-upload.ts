import { AttachmentUploadFrame } from '../../protocol/client-frames/attachment-upload';
import { dynamoAccounts, dynamoRateLimiter, s3Attachments } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { presignUpload } from '../core/attachments';
import { frameRoute } from './frame-route';

/** The ports the route uses, and so the tables and services its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, rateLimiter: dynamoRateLimiter, attachments: s3Attachments } satisfies PortAdapters;

/** `attachment.upload`: a presigned PUT for one attachment's ciphertext of the declared size (ARCH §6.12). */
export const route = frameRoute('attachment.upload', AttachmentUploadFrame, presignUpload, adapters);
export const handler = route.handler;
