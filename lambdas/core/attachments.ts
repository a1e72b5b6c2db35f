import { randomBytes } from 'node:crypto';
import { ATTACHMENT_ID_RANDOM_BYTES, maxAttachmentObjectBytes } from '../../protocol/attachments';
import { toBase64Url } from '../../protocol/base64url';
import type { AttachmentDownloadFrame, AttachmentUploadFrame, Results } from '../../protocol/frames';
import { requireAccount } from './accounts';
import { ATTACHMENT_URL_SECONDS, lifetimeClassDays } from './attachment-expiry';
import { requirePhaseAllows } from './phase';
import type { Caller, Ports } from './ports';
import { requireRateToken } from './rate-limits';
import { Refusal } from './refusal';

/**
 * `attachment.upload` and `attachment.download` (ARCH §6.12): presigned URLs for attachment ciphertexts, which
 * go straight between the device and storage. Every refusal comes before anything is signed.
 */

/**
 * A URL that stores exactly `frame.size` bytes under a new random id in the lifetime class of the message.
 * @throws Refusal SERVICE_READ_ONLY / SERVICE_SHUT_DOWN by phase; FORBIDDEN unregistered; ACCOUNT_SUSPENDED;
 * RATE_LIMITED (retryable); PAYLOAD_TOO_LARGE over the deployment's bound.
 */
export async function presignUpload(
  ports: Pick<Ports, 'accounts' | 'attachments' | 'rateLimiter' | 'config' | 'clock' | 'logger'>,
  caller: Caller,
  frame: AttachmentUploadFrame,
): Promise<Results['attachment.upload']> {
  requirePhaseAllows(ports, 'attachment.upload');
  await requireAccount(ports, caller);
  const limit = maxAttachmentObjectBytes(ports.config.maxAttachmentBytes);
  if (frame.size > limit) {
    throw new Refusal('PAYLOAD_TOO_LARGE', `an attachment may be at most ${ports.config.maxAttachmentBytes} bytes (${limit} encrypted)`);
  }
  await requireRateToken(ports, 'attachmentUpload', caller.userId);
  const now = ports.clock.now();
  const days = lifetimeClassDays(now, frame.expiresInSeconds, ports.config.retentionDays);
  const id = `${days}/${toBase64Url(new Uint8Array(randomBytes(ATTACHMENT_ID_RANDOM_BYTES)))}`;
  const { url, headers } = await ports.attachments.presignUpload(id, frame.size, ATTACHMENT_URL_SECONDS);
  // The id is not logged: with the uploader's user id it would tie the object to its sender.
  ports.logger.info('attachment presigned', { action: 'attachment.upload', userId: caller.userId, bytes: frame.size, days });
  return { id, url, expiresAt: now + ATTACHMENT_URL_SECONDS * 1000, headers };
}

/**
 * A URL that reads the object `frame.id`. Whether it exists is S3's to answer (404, which the SDK reports as
 * NOT_FOUND): asking first would cost a request per download and could not rule out expiry in between.
 * @throws Refusal SERVICE_SHUT_DOWN; FORBIDDEN unregistered; ACCOUNT_SUSPENDED; RATE_LIMITED (retryable).
 */
export async function presignDownload(
  ports: Pick<Ports, 'accounts' | 'attachments' | 'rateLimiter' | 'config' | 'clock'>,
  caller: Caller,
  frame: AttachmentDownloadFrame,
): Promise<Results['attachment.download']> {
  requirePhaseAllows(ports, 'attachment.download');
  await requireAccount(ports, caller);
  await requireRateToken(ports, 'attachmentDownload', caller.userId);
  const now = ports.clock.now();
  const url = await ports.attachments.presignDownload(frame.id, ATTACHMENT_URL_SECONDS);
  return { url, expiresAt: now + ATTACHMENT_URL_SECONDS * 1000 };
}
