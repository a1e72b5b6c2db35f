import * as v from 'valibot';
import { maxChars, minChars } from './chars';
import {
  AttachmentId,
  Ciphertext,
  Device,
  DeviceName,
  MessageId,
  OneTimePrekey,
  PublicKey,
  Signature,
  SignedPrekey,
  Timestamp,
  UserId,
  Username,
} from './fields';
import { type Action, Envelope } from './frames';
import { Phases } from './sunset';

/**
 * Server → client frames (ARCH §5.1): results, errors and pushes, as schemas. The server's types
 * (`Results`, `MessagePush`, … in frames.ts) are derived from them and the SDK parses every inbound
 * frame with them, so both sides read one definition. Its own module: a route that only answers
 * builds none of these schemas.
 */

const Count = v.pipe(v.number(), v.integer(), v.minValue(0));
const Positive = v.pipe(v.number(), v.integer(), v.minValue(1));
const MaybeTime = v.nullable(Timestamp);

/** The operator's schedule (protocol/sunset.ts SunsetSchedule): epoch ms or null. */
export const Schedule = v.object({
  signupsCloseAt: MaybeTime,
  readOnlyAt: MaybeTime,
  shutdownAt: MaybeTime,
  purgeAt: MaybeTime,
  noticeUrl: v.nullable(v.string()),
  message: v.nullable(v.string()),
});

export const ServiceLimits = v.object({
  maxCiphertextBytes: Positive,
  retentionDays: Positive,
  maxDevicesPerSend: Positive,
  /** Device copies one `fanout` frame may ask for. */
  maxFanoutDevicesPerFrame: Positive,
  /** Members a group may have, the creator included: the SDKs enforce it, the server only announces it. */
  maxGroupSize: Positive,
  maxFrameBytes: Positive,
  /** The largest file one attachment may carry (ARCH §6.12); its ciphertext may exceed it by `maxAttachmentObjectBytes`. */
  maxAttachmentBytes: Positive,
});

/** What a device needs to subscribe to Web Push here; absent when the deployment has Web Push off (ARCH §6.13). */
export const PushStatus = v.object({
  /** base64url of the 65-byte uncompressed P-256 VAPID public key: `applicationServerKey` for `PushManager.subscribe`. */
  vapidPublicKey: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{87}$/, 'must be 65 bytes of base64url')),
});

export const ServiceStatus = v.object({
  phase: v.picklist(Phases),
  schedule: Schedule,
  limits: ServiceLimits,
  serverTime: Timestamp,
  push: v.optional(PushStatus),
});

const PrekeyCount = v.object({ oneTimePrekeys: Count, signedPrekeyId: v.nullable(Count) });

export const DeviceBundle = v.object({
  device: Device,
  /** The key the device signs with: the account signing key for device 1, its own certified key for a linked one. */
  signingKey: PublicKey,
  /** Null for device 1; else the account signing key's signature over `DEVICE_CONTEXT\n ‖ signingKey`. Senders check it. */
  cert: v.nullable(Signature),
  signedPrekey: v.nullable(SignedPrekey),
  /** Handed out once; null when the device has none left (a weaker session, see the SDK docs). */
  oneTimePrekey: v.nullable(OneTimePrekey),
});

/** One of the caller's devices, as `devices.list` answers. */
export const DeviceInfo = v.object({
  device: Device,
  /** Sealed by the SDK; null for device 1 and for a device linked without a name. */
  name: v.nullable(DeviceName),
  /** When it was linked (device 1: when the account was created), epoch ms. */
  linkedAt: Timestamp,
  /** It has published a signed prekey, so messages fan out to it. */
  ready: v.boolean(),
});

/** What device 1 left for a device being linked: the account it joins, its number, and the sealed provision. */
export const LinkProvision = v.object({ user: UserId, device: Device, provision: Ciphertext });

/** Devices of one user, as the `fanout` answer lists them. */
export const UserDevices = v.object({ user: UserId, devices: v.array(Device) });

/** A presigned URL (ARCH §6.12): storage accepts it until `expiresAt` (epoch ms), then refuses it. */
const PresignedUrl = v.pipe(v.string(), v.url());

/** What each action answers with, besides `type` and `rid`. */
export const ResultSchemas = {
  /** `identityKey` is the X25519 key the server holds for this user, null before registration. */
  hello: v.object({ userId: UserId, device: Device, registered: v.boolean(), identityKey: v.nullable(PublicKey), status: ServiceStatus }),
  status: ServiceStatus,
  /** `rotated`: the account existed with another identity key, now replaced by this one. */
  register: v.object({ userId: UserId, device: Device, created: v.boolean(), rotated: v.boolean() }),
  'keys.publish': PrekeyCount,
  'keys.count': PrekeyCount,
  'keys.bundle': v.object({
    user: UserId,
    signingKey: PublicKey,
    identityKey: PublicKey,
    identitySig: Signature,
    devices: v.array(DeviceBundle),
  }),
  /**
   * `missing`: devices of the recipient this frame named no copy for (the sender fetches their bundles and sends
   * them the same id). `stale`: devices the frame named that the recipient no longer has; nothing was written for them.
   */
  send: v.object({
    id: MessageId,
    sentAt: Timestamp,
    expiresAt: Timestamp,
    duplicate: v.boolean(),
    missing: v.array(Device),
    stale: v.array(Device),
    /** Only when the frame carried `acks`: false when they were not applied (the client sends them again in an `ack`). */
    acksApplied: v.optional(v.boolean()),
  }),
  fetch: v.object({ messages: v.array(Envelope), cursor: v.nullable(v.string()), more: v.boolean() }),
  ack: v.object({ acked: Count }),
  /** The name as the caller spelled it; lookups match it in any case. */
  'username.set': v.object({ username: Username }),
  /** Null when no user holds the name. */
  'username.lookup': v.object({ userId: v.nullable(UserId) }),
  /** Also when there was nothing left to delete: a retry after a lost answer succeeds. */
  'account.delete': v.object({ deleted: v.literal(true) }),
  /** `duplicate`: this reporter had already reported this message; the first report stands. */
  report: v.object({ reportId: v.pipe(v.string(), minChars(1), maxChars(128)), duplicate: v.boolean() }),
  /** `changed`: the account held another token (or none) until now; setting the same one again is no error. */
  'deliveryToken.set': v.object({ changed: v.boolean() }),
  /** The number the server gave the new device. */
  'device.add': v.object({ device: Device }),
  /** Null until device 1 approved the link, and again 10 minutes after. */
  'link.fetch': v.object({ link: v.nullable(LinkProvision) }),
  'devices.list': v.object({ devices: v.array(DeviceInfo) }),
  /** `removed`: false when the account had no such device (a retry after a lost answer). */
  'device.remove': v.object({ removed: v.boolean() }),
  /**
   * Per recipient, as `send` answers for one (ARCH §6.11): `missing` its current devices the frame did not
   * name, `stale` named devices it no longer has, `full` named devices whose queue had no room for this
   * sender's share (nothing written for those; retry them later), `unknown` users with no account.
   */
  fanout: v.object({
    id: MessageId,
    sentAt: Timestamp,
    expiresAt: Timestamp,
    duplicate: v.boolean(),
    missing: v.array(UserDevices),
    stale: v.array(UserDevices),
    full: v.array(UserDevices),
    unknown: v.array(UserId),
    /** As `send` answers it. */
    acksApplied: v.optional(v.boolean()),
  }),
  /** `replaced`: the device had another subscription until now (registering the same one again is no error). */
  'push.register': v.object({ replaced: v.boolean() }),
  /** `removed`: false when the device had none (a retry after a lost answer). */
  'push.unregister': v.object({ removed: v.boolean() }),
  /**
   * PUT the ciphertext to `url`, starting before `expiresAt` (epoch ms), with a `Content-Length` of exactly the
   * declared size (the URL signs it: storage refuses any other) and every header in `headers` (none when
   * absent); then name `id` in the message.
   */
  'attachment.upload': v.object({
    id: AttachmentId,
    url: PresignedUrl,
    expiresAt: Timestamp,
    headers: v.optional(v.record(v.string(), v.string())),
  }),
  /** GET `url` before `expiresAt` (epoch ms); storage answers 404 for an id that is unknown or expired. */
  'attachment.download': v.object({ url: PresignedUrl, expiresAt: Timestamp }),
} as const satisfies Record<Action, v.GenericSchema>;

/** `type` and, for answers, `rid`: enough to route a frame before parsing the rest. */
export const FrameHead = v.object({ type: v.string(), rid: v.optional(v.nullable(v.string())) });

/** An error as a client reads it (the server sends only protocol/errors.ts codes: see `ErrorFrame`). */
export const ErrorAnswer = v.object({
  type: v.literal('error'),
  rid: v.nullable(v.string()),
  // Open on purpose: a code added to the protocol later reaches old clients as INTERNAL.
  code: v.string(),
  message: v.string(),
  retryable: v.boolean(),
  retryAfterSeconds: v.optional(v.pipe(v.number(), v.finite(), v.minValue(0))),
  /** Open like `code`: protocol/errors.ts ErrorReasons, a later one unknown to this client. */
  reason: v.optional(v.string()),
});

export const MessagePush = v.object({ ...Envelope.entries, type: v.literal('message') });

/** Why a notice was pushed: the phase just changed, or the daily countdown to shutdown (ARCH §10.3). */
export const NoticeReasons = ['phase-change', 'countdown'] as const;

export const NoticePush = v.object({
  type: v.literal('notice'),
  phase: v.picklist(Phases),
  schedule: Schedule,
  serverTime: Timestamp,
  reason: v.optional(v.picklist(NoticeReasons)),
  /** Whole days left until `schedule.shutdownAt`, rounded up; absent when no shutdown is ahead. */
  daysUntilShutdown: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0))),
});

/**
 * The device's one-time prekeys ran low after a bundle handed one out: `remaining` were left (counted up to
 * the deployment's `prekeyLowWater`). The device's SDK publishes more while it is connected.
 */
export const KeysLowPush = v.object({ type: v.literal('keys.low'), device: Device, remaining: Count });

/** Device 1 approved this connection's link (ARCH §4.6): pushed to the temporary identity the new device connects as. */
export const LinkPush = v.object({ ...LinkProvision.entries, type: v.literal('link') });

/**
 * Pushed to a device's open connections just before `device.remove` closes them: browsers cannot read why
 * the next upgrade is refused, so this is how a removed device learns it (ARCH §4.6).
 */
export const DeviceRemovedPush = v.object({ type: v.literal('device.removed'), device: Device });
