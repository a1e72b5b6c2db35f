import type { EbbConfig } from './config';

/**
 * The defaults of `context.ebb` and how an operator's partial config is laid over them. Apart from the
 * schema (config.ts), so a Lambda, whose config infra already validated at synth, need not bundle it.
 */

export const DEFAULT_CONFIG: EbbConfig = {
  retentionDays: 30,
  maxCiphertextBytes: 16384,
  maxQueueDepth: 10000,
  strangerQueuePercent: 50,
  rateLimits: {
    sendPerMinute: 120,
    // One 1000-member group with 6 devices per member, once a minute; 1:1 sends never touch this bucket.
    sendCopiesPerMinute: 6000,
    connectPerMinute: 20,
    bundlePerMinute: 60,
    registerPerMinute: 10,
    reportPerMinute: 10,
    connectFailuresPerMinute: 60,
    // Well above the SDK's bursts (a fetch/ack drain, a send split over frames, prekey top-ups).
    framesPerSecond: 50,
    frameBurst: 500,
    usernameSetPerMinute: 5,
    usernameLookupPerMinute: 30,
    keysPublishPerMinute: 10,
    bundlePerPairPerHour: 5,
    // A message may carry several attachments, and a recipient downloads each on every device.
    attachmentUploadPerMinute: 30,
    attachmentDownloadPerMinute: 120,
  },
  maxOneTimePrekeysPerDevice: 200,
  prekeyLowWater: 25,
  maxDevicesPerAccount: 6,
  maxGroupSize: 1000,
  maxAttachmentBytes: 100 * 1024 * 1024,
  webOrigins: [],
  sunset: { signupsCloseAt: null, readOnlyAt: null, shutdownAt: null, purgeAt: null, noticeUrl: null, message: null },
  push: {
    vapidSubject: null,
    apns: null,
    fcm: null,
    webPushHosts: ['fcm.googleapis.com', 'updates.push.services.mozilla.com', '*.notify.windows.com', '*.push.apple.com'],
  },
};

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * `input` laid over the defaults, the nested `rateLimits`, `sunset` and `push` key by key. Not validated.
 * @throws ConfigError when `input` is not an object.
 */
export function withDefaults(input: unknown = {}): Record<string, unknown> {
  if (input === null || input === undefined) input = {};
  if (!isPlainObject(input)) throw new ConfigError('ebb: must be an object');
  const merged: Record<string, unknown> = { ...DEFAULT_CONFIG, ...input };
  for (const key of ['rateLimits', 'sunset', 'push'] as const) {
    const given = input[key];
    if (given === undefined) continue;
    merged[key] = isPlainObject(given) ? { ...DEFAULT_CONFIG[key], ...given } : given;
  }
  return merged;
}
