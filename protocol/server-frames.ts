import * as z from 'zod/mini';
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

const Count = z.number().check(z.int(), z.minimum(0));
const Positive = z.number().check(z.int(), z.minimum(1));
const MaybeTime = z.nullable(Timestamp);

/** The operator's schedule (protocol/sunset.ts SunsetSchedule): epoch ms or null. */
export const Schedule = z.object({
  signupsCloseAt: MaybeTime,
  readOnlyAt: MaybeTime,
  shutdownAt: MaybeTime,
  purgeAt: MaybeTime,
  noticeUrl: z.nullable(z.string()),
  message: z.nullable(z.string()),
});

export const ServiceLimits = z.object({
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
export const PushStatus = z.object({
  /** base64url of the 65-byte uncompressed P-256 VAPID public key: `applicationServerKey` for `PushManager.subscribe`. */
  vapidPublicKey: z.string().check(z.regex(/^[A-Za-z0-9_-]{87}$/, 'must be 65 bytes of base64url')),
});

export const ServiceStatus = z.object({
  phase: z.enum(Phases),
  schedule: Schedule,
  limits: ServiceLimits,
  serverTime: Timestamp,
  push: z.optional(PushStatus),
});

const PrekeyCount = z.object({ oneTimePrekeys: Count, signedPrekeyId: z.nullable(Count) });

export const DeviceBundle = z.object({
  device: Device,
  /** The key the device signs with: the account signing key for device 1, its own certified key for a linked one. */
  signingKey: PublicKey,
  /** Null for device 1; else the account signing key's signature over `DEVICE_CONTEXT\n ‖ signingKey`. Senders check it. */
  cert: z.nullable(Signature),
  signedPrekey: z.nullable(SignedPrekey),
  /** Handed out once; null when the device has none left (a weaker session, see the SDK docs). */
  oneTimePrekey: z.nullable(OneTimePrekey),
});

/** One of the caller's devices, as `devices.list` answers. */
export const DeviceInfo = z.object({
  device: Device,
  /** Sealed by the SDK; null for device 1 and for a device linked without a name. */
  name: z.nullable(DeviceName),
  /** When it was linked (device 1: when the account was created), epoch ms. */
  linkedAt: Timestamp,
  /** It has published a signed prekey, so messages fan out to it. */
  ready: z.boolean(),
});

/** What device 1 left for a device being linked: the account it joins, its number, and the sealed provision. */
export const LinkProvision = z.object({ user: UserId, device: Device, provision: Ciphertext });

/** Devices of one user, as the `fanout` answer lists them. */
export const UserDevices = z.object({ user: UserId, devices: z.array(Device) });

/** A presigned URL (ARCH §6.12): storage accepts it until `expiresAt` (epoch ms), then refuses it. */
const PresignedUrl = z.url();

/** What each action answers with, besides `type` and `rid`. */
export const ResultSchemas = {
  /** `identityKey` is the X25519 key the server holds for this user, null before registration. */
  hello: z.object({ userId: UserId, device: Device, registered: z.boolean(), identityKey: z.nullable(PublicKey), status: ServiceStatus }),
  status: ServiceStatus,
  /** `rotated`: the account existed with another identity key, now replaced by this one. */
  register: z.object({ userId: UserId, device: Device, created: z.boolean(), rotated: z.boolean() }),
  'keys.publish': PrekeyCount,
  'keys.count': PrekeyCount,
  'keys.bundle': z.object({
    user: UserId,
    signingKey: PublicKey,
    identityKey: PublicKey,
    identitySig: Signature,
    devices: z.array(DeviceBundle),
  }),
  /**
   * `missing`: devices of the recipient this frame named no copy for (the sender fetches their bundles and sends
   * them the same id). `stale`: devices the frame named that the recipient no longer has; nothing was written for them.
   */
  send: z.object({
    id: MessageId,
    sentAt: Timestamp,
    expiresAt: Timestamp,
    duplicate: z.boolean(),
    missing: z.array(Device),
    stale: z.array(Device),
    /** Only when the frame carried `acks`: false when they were not applied (the client sends them again in an `ack`). */
    acksApplied: z.optional(z.boolean()),
  }),
  fetch: z.object({ messages: z.array(Envelope), cursor: z.nullable(z.string()), more: z.boolean() }),
  ack: z.object({ acked: Count }),
  /** The name as the caller spelled it; lookups match it in any case. */
  'username.set': z.object({ username: Username }),
  /** Null when no user holds the name. */
  'username.lookup': z.object({ userId: z.nullable(UserId) }),
  /** Also when there was nothing left to delete: a retry after a lost answer succeeds. */
  'account.delete': z.object({ deleted: z.literal(true) }),
  /** `duplicate`: this reporter had already reported this message; the first report stands. */
  report: z.object({ reportId: z.string().check(z.minLength(1), z.maxLength(128)), duplicate: z.boolean() }),
  /** `changed`: the account held another token (or none) until now; setting the same one again is no error. */
  'deliveryToken.set': z.object({ changed: z.boolean() }),
  /** The number the server gave the new device. */
  'device.add': z.object({ device: Device }),
  /** Null until device 1 approved the link, and again 10 minutes after. */
  'link.fetch': z.object({ link: z.nullable(LinkProvision) }),
  'devices.list': z.object({ devices: z.array(DeviceInfo) }),
  /** `removed`: false when the account had no such device (a retry after a lost answer). */
  'device.remove': z.object({ removed: z.boolean() }),
  /**
   * Per recipient, as `send` answers for one (ARCH §6.11): `missing` its current devices the frame did not
   * name, `stale` named devices it no longer has, `full` named devices whose queue had no room for this
   * sender's share (nothing written for those; retry them later), `unknown` users with no account.
   */
  fanout: z.object({
    id: MessageId,
    sentAt: Timestamp,
    expiresAt: Timestamp,
    duplicate: z.boolean(),
    missing: z.array(UserDevices),
    stale: z.array(UserDevices),
    full: z.array(UserDevices),
    unknown: z.array(UserId),
    /** As `send` answers it. */
    acksApplied: z.optional(z.boolean()),
  }),
  /** `replaced`: the device had another subscription until now (registering the same one again is no error). */
  'push.register': z.object({ replaced: z.boolean() }),
  /** `removed`: false when the device had none (a retry after a lost answer). */
  'push.unregister': z.object({ removed: z.boolean() }),
  /**
   * PUT the ciphertext to `url`, starting before `expiresAt` (epoch ms), with a `Content-Length` of exactly the
   * declared size (the URL signs it: storage refuses any other) and every header in `headers` (none when
   * absent); then name `id` in the message.
   */
  'attachment.upload': z.object({
    id: AttachmentId,
    url: PresignedUrl,
    expiresAt: Timestamp,
    headers: z.optional(z.record(z.string(), z.string())),
  }),
  /** GET `url` before `expiresAt` (epoch ms); storage answers 404 for an id that is unknown or expired. */
  'attachment.download': z.object({ url: PresignedUrl, expiresAt: Timestamp }),
} as const satisfies Record<Action, z.ZodMiniType>;

/** `type` and, for answers, `rid`: enough to route a frame before parsing the rest. */
export const FrameHead = z.object({ type: z.string(), rid: z.optional(z.nullable(z.string())) });

/** An error as a client reads it (the server sends only protocol/errors.ts codes: see `ErrorFrame`). */
export const ErrorAnswer = z.object({
  type: z.literal('error'),
  rid: z.nullable(z.string()),
  // Open on purpose: a code added to the protocol later reaches old clients as INTERNAL.
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  retryAfterSeconds: z.optional(z.number().check(z.minimum(0))),
  /** Open like `code`: protocol/errors.ts ErrorReasons, a later one unknown to this client. */
  reason: z.optional(z.string()),
});

export const MessagePush = z.extend(Envelope, { type: z.literal('message') });

/** Why a notice was pushed: the phase just changed, or the daily countdown to shutdown (ARCH §10.3). */
export const NoticeReasons = ['phase-change', 'countdown'] as const;

export const NoticePush = z.object({
  type: z.literal('notice'),
  phase: z.enum(Phases),
  schedule: Schedule,
  serverTime: Timestamp,
  reason: z.optional(z.enum(NoticeReasons)),
  /** Whole days left until `schedule.shutdownAt`, rounded up; absent when no shutdown is ahead. */
  daysUntilShutdown: z.optional(z.number().check(z.int(), z.minimum(0))),
});

/**
 * The device's one-time prekeys ran low after a bundle handed one out: `remaining` were left (counted up to
 * the deployment's `prekeyLowWater`). The device's SDK publishes more while it is connected.
 */
export const KeysLowPush = z.object({ type: z.literal('keys.low'), device: Device, remaining: Count });

/** Device 1 approved this connection's link (ARCH §4.6): pushed to the temporary identity the new device connects as. */
export const LinkPush = z.extend(LinkProvision, { type: z.literal('link') });

/**
 * Pushed to a device's open connections just before `device.remove` closes them: browsers cannot read why
 * the next upgrade is refused, so this is how a removed device learns it (ARCH §4.6).
 */
export const DeviceRemovedPush = z.object({ type: z.literal('device.removed'), device: Device });
