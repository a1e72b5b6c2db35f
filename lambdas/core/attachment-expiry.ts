import { attachmentClassDays } from '../../protocol/attachments';

/**
 * How attachments expire (ARCH §6.12): S3 lifecycle rules, one per lifetime class plus one for the whole
 * bucket, which infra synthesizes and the local S3 endpoint applies on the stack's clock. Pure, so both read
 * one definition.
 */

export const DAY_MS = 86_400_000;

/** How long a presigned attachment URL is accepted: an upload or download must start within it. */
export const ATTACHMENT_URL_SECONDS = 600;

/** One S3 lifecycle rule: objects whose key starts with `prefix` ('' for all) expire `days` after upload. */
export interface AttachmentLifecycleRule {
  readonly id: string;
  readonly prefix: string;
  readonly days: number;
  /** Multipart uploads left unfinished are aborted this many days after they start (the bucket-wide rule only). */
  readonly abortIncompleteMultipartUploadDays?: number;
}

/**
 * When S3 expires an object uploaded at `createdMs` under a rule of `days`: it adds the days to the upload
 * time and rounds up to the next midnight UTC (the S3 User Guide, "Lifecycle expiration"). Epoch ms.
 */
export function s3ExpiryAt(createdMs: number, days: number): number {
  return Math.ceil((createdMs + days * DAY_MS) / DAY_MS) * DAY_MS;
}

/** Every rule of the bucket: `class-<d>` for each lifetime class, then `retention` over every object. */
export function attachmentLifecycleRules(retentionDays: number): AttachmentLifecycleRule[] {
  const rules: AttachmentLifecycleRule[] = [];
  for (let days = 1; days <= retentionDays; days++) rules.push({ id: `class-${days}`, prefix: `${days}/`, days });
  rules.push({ id: 'retention', prefix: '', days: retentionDays, abortIncompleteMultipartUploadDays: 1 });
  return rules;
}

/**
 * The lifetime class of an upload presigned at `nowMs` for a message living `expiresInSeconds` (absent: the
 * whole `retentionDays`): the fewest days, at least 1 and at most `retentionDays`, under which S3 keeps the
 * object until the message expires, counting the URL's lifetime in which the upload may start. With S3's
 * rounding to midnight in view, the class after it would keep the object at most a day longer than needed.
 */
export function lifetimeClassDays(nowMs: number, expiresInSeconds: number | undefined, retentionDays: number): number {
  const lifetimeMs = Math.min((expiresInSeconds ?? Infinity) * 1000, retentionDays * DAY_MS);
  const needed = nowMs + lifetimeMs + ATTACHMENT_URL_SECONDS * 1000;
  let days = 1;
  while (days < retentionDays && s3ExpiryAt(nowMs, days) < needed) days++;
  return days;
}

/**
 * When the bucket's rules expire the object `key` uploaded at `createdMs`: the earliest of the rules whose
 * prefix it has (the bucket-wide rule always applies). What the local endpoint's sweep deletes by.
 */
export function attachmentExpiresAt(key: string, createdMs: number, retentionDays: number): number {
  const classDays = attachmentClassDays(key);
  const days = classDays === undefined ? retentionDays : Math.min(classDays, retentionDays);
  return s3ExpiryAt(createdMs, days);
}
