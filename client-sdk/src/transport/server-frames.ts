import * as z from 'zod/mini';
import {
  type Action,
  Device,
  Envelope,
  MessageId,
  OneTimePrekey,
  PublicKey,
  Signature,
  SignedPrekey,
  Timestamp,
  UserId,
  Username,
} from '../../../protocol/frames';
import { Phases } from '../../../protocol/sunset';

/**
 * Schemas for what the server sends, mirroring the `Results`, `ErrorFrame` and push types of
 * protocol/frames.ts. Everything inbound is parsed here: a frame that does not match is ignored.
 */

const Count = z.number().check(z.int(), z.minimum(0));
const Positive = z.number().check(z.int(), z.minimum(1));
const MaybeTime = z.nullable(Timestamp);

const Schedule = z.object({
  signupsCloseAt: MaybeTime,
  readOnlyAt: MaybeTime,
  shutdownAt: MaybeTime,
  purgeAt: MaybeTime,
  noticeUrl: z.nullable(z.string()),
  message: z.nullable(z.string()),
});

const ServiceStatus = z.object({
  phase: z.enum(Phases),
  schedule: Schedule,
  limits: z.object({ maxCiphertextBytes: Positive, retentionDays: Positive, maxDevicesPerSend: Positive, maxFrameBytes: Positive }),
  serverTime: Timestamp,
});

const PrekeyCount = z.object({ oneTimePrekeys: Count, signedPrekeyId: z.nullable(Count) });

export const ResultSchemas = {
  hello: z.object({ userId: UserId, device: Device, registered: z.boolean(), identityKey: z.nullable(PublicKey), status: ServiceStatus }),
  status: ServiceStatus,
  register: z.object({ userId: UserId, device: Device, created: z.boolean(), rotated: z.boolean() }),
  'keys.publish': PrekeyCount,
  'keys.count': PrekeyCount,
  'keys.bundle': z.object({
    user: UserId,
    signingKey: PublicKey,
    identityKey: PublicKey,
    identitySig: Signature,
    devices: z.array(z.object({ device: Device, signedPrekey: z.nullable(SignedPrekey), oneTimePrekey: z.nullable(OneTimePrekey) })),
  }),
  send: z.object({ id: MessageId, sentAt: Timestamp, expiresAt: Timestamp, duplicate: z.boolean() }),
  // Envelopes are checked one by one, so one bad envelope cannot hide the rest of a page.
  fetch: z.object({ messages: z.array(z.unknown()), cursor: z.nullable(z.string()), more: z.boolean() }),
  ack: z.object({ acked: Count }),
  'username.set': z.object({ username: Username }),
  'username.lookup': z.object({ userId: z.nullable(UserId) }),
  'account.delete': z.object({ deleted: z.literal(true) }),
  report: z.object({ reportId: z.string().check(z.minLength(1), z.maxLength(128)), duplicate: z.boolean() }),
  'deliveryToken.set': z.object({ changed: z.boolean() }),
} as const satisfies Record<Action, z.ZodMiniType>;

/** What a request for `A` resolves with. */
export type Answer<A extends Action> = z.output<(typeof ResultSchemas)[A]>;

/** `type` and, for answers, `rid`: enough to route a frame before parsing the rest. */
export const FrameHead = z.object({ type: z.string(), rid: z.optional(z.nullable(z.string())) });

export const ErrorAnswer = z.object({
  type: z.literal('error'),
  rid: z.nullable(z.string()),
  // Open on purpose: a code added to the protocol later reaches old clients as INTERNAL.
  code: z.string(),
  message: z.string(),
  retryable: z.boolean(),
  retryAfterSeconds: z.optional(z.number().check(z.minimum(0))),
});


export const MessagePush = z.extend(Envelope, { type: z.literal('message') });

export const NoticePush = z.object({
  type: z.literal('notice'),
  phase: z.enum(Phases),
  schedule: Schedule,
  serverTime: Timestamp,
  reason: z.optional(z.enum(['phase-change', 'countdown'])),
  daysUntilShutdown: z.optional(z.number().check(z.int(), z.minimum(0))),
});

/** The server handed out one-time prekeys of `device` and it has `remaining` left: time to publish more. */
export const KeysLowPush = z.object({ type: z.literal('keys.low'), device: Device, remaining: Count });
