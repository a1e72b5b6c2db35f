import * as v from 'valibot';
import { maxChars, minChars } from './chars';
import { ConfigError, withDefaults } from './config-defaults';
import { Limits } from './limits';
import { describeIssues } from './issues';

export { ConfigError, DEFAULT_CONFIG } from './config-defaults';

/** `context.ebb` in cdk.json (ARCH §3.1): read by infra at synth, by the local stack and by every Lambda. */

const isoUtc = v.nullable(
  v.pipe(
    v.string(),
    v.check(
      (s) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?Z$/.test(s) && !Number.isNaN(Date.parse(s)),
      'must be an ISO-8601 UTC date like 2027-01-31T00:00:00Z',
    ),
  ),
);

/** A browser origin as the `Origin` header carries it: scheme, host and port, no path. */
const webOrigin = v.pipe(
  v.string(),
  v.check(
    (s) => /^https?:\/\/[^/\s?#*]+$/.test(s) && URL.canParse(s) && new URL(s).origin === s,
    'must be an origin like https://chat.example.org (scheme, host and port only)',
  ),
);

const perMinute = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000));

const SunsetSchema = v.pipe(
  v.strictObject({
    signupsCloseAt: isoUtc,
    readOnlyAt: isoUtc,
    shutdownAt: isoUtc,
    purgeAt: isoUtc,
    noticeUrl: v.nullable(v.pipe(v.string(), v.url())),
    message: v.nullable(v.pipe(v.string(), maxChars(1000))),
  }),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    const s = dataset.value;
    const issue = (key: (typeof order)[number], message: string) =>
      addIssue({ message, path: [{ type: 'object', origin: 'value', input: s, key, value: s[key] }] });
    const order = ['signupsCloseAt', 'readOnlyAt', 'shutdownAt', 'purgeAt'] as const;
    let previous: { key: string; at: number } | undefined;
    for (const key of order) {
      const value = s[key];
      if (value === null) continue;
      const at = Date.parse(value);
      if (previous && at < previous.at) issue(key, `must not be before ${previous.key}`);
      previous = { key, at };
    }
    if (s.purgeAt !== null && s.shutdownAt === null) issue('purgeAt', 'needs shutdownAt: data is purged only after shutdown');
  }),
);

/** A Secrets Manager secret name as the console allows it: letters, digits and `/_+=.@-`, at most 512. */
const secretName = v.pipe(
  v.string(),
  minChars(1),
  maxChars(512),
  v.regex(/^[A-Za-z0-9/_+=.@-]+$/, 'must be a Secrets Manager secret name (letters, digits and /_+=.@-)'),
);

/**
 * Push wake-ups (ARCH §6.13). Web Push is always on, with VAPID keys the stack generates; APNs and FCM are on
 * only when named here, each with the Secrets Manager secret that holds its credential (never the credential
 * itself, which would land in the template).
 */
const PushSchema = v.strictObject({
  /**
   * The VAPID `sub` claim (RFC 8292 §2.1): a `mailto:` or `https:` contact for the push services. Null: the
   * deployment's own https URL.
   */
  vapidSubject: v.nullable(
    v.pipe(
      v.string(),
      maxChars(256),
      v.check((s) => /^mailto:[^\s]+@[^\s]+$/.test(s) || isHttpsUrl(s), 'must be a mailto: or https: URI'),
    ),
  ),
  /**
   * APNs through an SNS platform application with token authentication: the secret's value is the `.p8` signing
   * key; `keyId`, `teamId` and `bundleId` name it. `sandbox` targets the development APNs environment.
   */
  apns: v.nullable(
    v.strictObject({
      secretName,
      keyId: v.pipe(v.string(), v.regex(/^[A-Z0-9]{10}$/, 'must be the 10-character APNs key id')),
      teamId: v.pipe(v.string(), v.regex(/^[A-Z0-9]{10}$/, 'must be the 10-character Apple team id')),
      bundleId: v.pipe(v.string(), maxChars(155), v.regex(/^[A-Za-z0-9.-]+$/, 'must be an app bundle id like org.example.chat')),
      sandbox: v.boolean(),
    }),
  ),
  /** FCM (HTTP v1) through an SNS platform application: the secret's value is the service account's JSON key. */
  fcm: v.nullable(v.strictObject({ secretName })),
  /**
   * The Web Push services a subscription's endpoint may name: host names, or `*.` and a suffix for every host
   * under it. The sender posts only to these, so a client cannot aim it at any other host (nor, through DNS it
   * controls, at an address inside the network). The default lists the push services of Chrome, Edge, Firefox
   * and Safari.
   */
  webPushHosts: v.pipe(
    v.array(v.pipe(v.string(), maxChars(253), v.regex(/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+$/, 'must be a lower-case host name, or *. and a domain'))),
    v.maxLength(64),
  ),
});

function isHttpsUrl(s: string): boolean {
  try {
    return new URL(s).protocol === 'https:';
  } catch {
    return false;
  }
}

export const EbbConfigSchema = v.strictObject({
  retentionDays: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(365)),
  maxCiphertextBytes: v.pipe(v.number(), v.integer(), v.minValue(256), v.maxValue(Limits.ciphertextBytesCeiling)),
  maxQueueDepth: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1_000_000)),
  /**
   * The percentage of each queue that senders the recipient never wrote to may fill (ARCH §6.6); contacts may
   * fill all of `maxQueueDepth`. A whole number, as every number of the deployed config; at least 1, or no
   * one could ever be written to first.
   */
  strangerQueuePercent: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)),
  rateLimits: v.strictObject({
    sendPerMinute: perMinute,
    /**
     * Device copies one sender's `fanout` frames may queue a minute (ARCH §6.11): a fan-out takes one `send`
     * token for the frame and one of these per copy, so a sender is charged for the devices it reaches. At
     * least one full frame's copies, or that frame could never be sent.
     */
    sendCopiesPerMinute: v.pipe(v.number(), v.integer(), v.minValue(Limits.maxFanoutDevicesPerFrame), v.maxValue(1_000_000)),
    connectPerMinute: perMinute,
    bundlePerMinute: perMinute,
    registerPerMinute: perMinute,
    reportPerMinute: perMinute,
    /** Failed connects (bad signature, malformed query) per source address, counted apart from `connectPerMinute`. */
    connectFailuresPerMinute: perMinute,
    /** Frames per connection per second, sustained, and the burst a quiet connection may send at once. */
    framesPerSecond: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(10_000)),
    frameBurst: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100_000)),
    usernameSetPerMinute: perMinute,
    usernameLookupPerMinute: perMinute,
    keysPublishPerMinute: perMinute,
    /** Bundles one user may fetch of one other user an hour: one stranger cannot drain the other's one-time prekeys. */
    bundlePerPairPerHour: perMinute,
    /** Presigned attachment uploads and downloads per user (ARCH §6.13): each URL is storage someone pays for. */
    attachmentUploadPerMinute: perMinute,
    attachmentDownloadPerMinute: perMinute,
  }),
  /** One-time prekeys stored per device at most: a `keys.publish` beyond it is refused and stores nothing. */
  maxOneTimePrekeysPerDevice: v.pipe(v.number(), v.integer(), v.minValue(Limits.maxPrekeysPerPublish), v.maxValue(10_000)),
  /** A device left with fewer one-time prekeys than this after a bundle fetch is told to refill (`keys.low`). */
  prekeyLowWater: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(1000)),
  /** Devices one account may have, device 1 included: a `device.add` beyond it is refused and stores nothing. */
  maxDevicesPerAccount: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Limits.maxDevicesAtOnce)),
  /** Members a group may have, the creator included (ARCH §6.11): the members' SDKs enforce it; `status` announces it. */
  maxGroupSize: v.pipe(v.number(), v.integer(), v.minValue(2), v.maxValue(10_000)),
  /**
   * The largest file one attachment may carry (ARCH §6.13): the SDK refuses a larger one, the server refuses to
   * presign an upload over its ciphertext bound (protocol/attachments.ts), and storage refuses more bytes than
   * were signed.
   */
  maxAttachmentBytes: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Limits.attachmentBytesCeiling)),
  /**
   * Browser origins allowed to upload and download attachments (the bucket's CORS). The URL is what grants
   * access; this only lets a page on these origins use it. The local stack adds its own web chat.
   */
  webOrigins: v.pipe(
    v.array(webOrigin),
    v.maxLength(Limits.maxWebOrigins),
    v.check((o) => new Set(o).size === o.length, 'must not name an origin twice'),
  ),
  sunset: SunsetSchema,
  push: PushSchema,
});

export type EbbConfig = v.InferOutput<typeof EbbConfigSchema>;
export type SunsetConfig = EbbConfig['sunset'];
export type PushConfig = EbbConfig['push'];

/** Deep-partial config as an operator writes it: anything left out takes its default. */
export type EbbConfigInput = {
  [K in keyof EbbConfig]?: EbbConfig[K] extends object ? Partial<EbbConfig[K]> : EbbConfig[K];
};

/**
 * Merges `input` over the defaults and validates the result.
 * @throws ConfigError naming every offending key, e.g. `ebb.sunset.readOnlyAt: must not be before signupsCloseAt`.
 */
export function resolveConfig(input: unknown = {}): EbbConfig {
  const parsed = v.safeParse(EbbConfigSchema, withDefaults(input));
  if (!parsed.success) throw new ConfigError(describeIssues(parsed.issues, 'ebb'));
  return parsed.output;
}
