import * as z from 'zod/mini';
import { BASE64URL_PATTERN, base64UrlByteLength } from './base64url';
import { USER_ID_LENGTH } from './connect';
import type { ErrorCode } from './errors';
import { COMMITMENT_BYTES, FRANK_KEY_BYTES, FRANK_TAG_BYTES } from './franking';
import { Limits } from './limits';
import type { Phase, SunsetSchedule } from './sunset';

// ---- building blocks -------------------------------------------------------

const base64url = z.string().check(z.regex(BASE64URL_PATTERN, 'must be base64url without padding'));

/** base64url of exactly `n` bytes. */
function bytes(n: number) {
  const chars = Math.ceil((n * 4) / 3);
  return base64url.check(z.length(chars), z.refine((s) => base64UrlByteLength(s) === n, `must encode ${n} bytes`));
}

export const Rid = z.string().check(z.minLength(1), z.maxLength(64));
export const UserId = base64url.check(z.length(USER_ID_LENGTH));
export const Device = z.number().check(z.int(), z.minimum(1), z.maximum(Limits.maxDevice));
/** Client-chosen message id: 16–64 base64url characters (the SDK uses 16 random bytes). */
export const MessageId = base64url.check(z.minLength(16), z.maxLength(64));
export const PublicKey = bytes(32);
export const Signature = bytes(64);
export const KeyId = z.number().check(z.int(), z.minimum(0), z.maximum(2 ** 31 - 1));
/** Bounded by the protocol ceiling here; the deployment's `maxCiphertextBytes` is checked by the core. */
export const Ciphertext = base64url.check(
  z.minLength(1),
  z.maxLength(Math.ceil((Limits.ciphertextBytesCeiling * 4) / 3)),
  z.refine((s) => base64UrlByteLength(s) > 0, 'is not valid base64url'),
);
export const Timestamp = z.number().check(z.int(), z.minimum(0), z.maximum(8.64e15));

/** Names the server's franking key a tag was made with (DESIGN §7); old ones stay valid for reports. */
export const FrankKeyId = z.string().check(z.regex(/^[A-Za-z0-9_-]{1,32}$/, 'must be 1 to 32 characters of A-Z, a-z, 0-9, _ and -'));
export const Commitment = bytes(COMMITMENT_BYTES);
/** The franking fields of a delivered message: the sender's commitment and the server's tag over it. */
export const Frank = z.object({ commitment: Commitment, tag: bytes(FRANK_TAG_BYTES), kid: FrankKeyId });
export type Frank = z.infer<typeof Frank>;

/** A discoverable name (DESIGN §5): unique regardless of case, so "Alice_1" and "alice_1" are one name. */
export const Username = z.string().check(z.regex(/^[A-Za-z0-9_]{3,32}$/, 'must be 3 to 32 characters of A-Z, a-z, 0-9 and _'));

export const SignedPrekey = z.object({ keyId: KeyId, publicKey: PublicKey, signature: Signature });
export const OneTimePrekey = z.object({ keyId: KeyId, publicKey: PublicKey });
export type SignedPrekey = z.infer<typeof SignedPrekey>;
export type OneTimePrekey = z.infer<typeof OneTimePrekey>;

// ---- client → server ---------------------------------------------------------

export const HelloFrame = z.object({ action: z.literal('hello'), rid: Rid });
export const StatusFrame = z.object({ action: z.literal('status'), rid: Rid });
export const RegisterFrame = z.object({
  action: z.literal('register'),
  rid: Rid,
  /** X25519 identity public key. */
  identityKey: PublicKey,
  /**
   * Ed25519 signature by the connection's signing key over `IDENTITY_CONTEXT\n ‖ identityKey`. Registering
   * an existing account with another identity key signed this way rotates it (peers see an identity change).
   */
  identitySig: Signature,
});
export const KeysPublishFrame = z
  .object({
    action: z.literal('keys.publish'),
    rid: Rid,
    signedPrekey: z.optional(SignedPrekey),
    oneTimePrekeys: z.optional(z.array(OneTimePrekey).check(z.maxLength(Limits.maxPrekeysPerPublish))),
  })
  .check(
    z.refine((f) => f.signedPrekey !== undefined || (f.oneTimePrekeys?.length ?? 0) > 0, {
      message: 'needs signedPrekey or oneTimePrekeys',
    }),
  );
export const KeysCountFrame = z.object({ action: z.literal('keys.count'), rid: Rid });
export const KeysBundleFrame = z.object({
  action: z.literal('keys.bundle'),
  rid: Rid,
  user: UserId,
  /** Only this device; all of the user's devices when absent. */
  device: z.optional(Device),
});
export const SendFrame = z.object({
  action: z.literal('send'),
  rid: Rid,
  id: MessageId,
  to: UserId,
  messages: z
    /** `commitment`: HMAC-SHA-512/256 of the content under the franking key inside the ciphertext. */
    .array(z.object({ device: Device, ciphertext: Ciphertext, commitment: Commitment }))
    .check(
      z.minLength(1),
      z.maxLength(Limits.maxDevicesPerSend),
      z.refine((m) => new Set(m.map((x) => x.device)).size === m.length, 'must not name a device twice'),
    ),
  /** Server-side lifetime; capped by the deployment's `retentionDays`. */
  expiresInSeconds: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(365 * 86400))),
});
export const FetchFrame = z.object({
  action: z.literal('fetch'),
  rid: Rid,
  limit: z.optional(z.number().check(z.int(), z.minimum(1), z.maximum(Limits.maxFetchPage))),
  /** `cursor` of the previous page. */
  after: z.optional(z.string().check(z.maxLength(128))),
});
export const AckFrame = z.object({
  action: z.literal('ack'),
  rid: Rid,
  /** `id` and `sentAt` of each envelope, as delivered. */
  messages: z.array(z.object({ id: MessageId, sentAt: Timestamp })).check(z.minLength(1), z.maxLength(Limits.maxAckBatch)),
});
export const UsernameSetFrame = z.object({ action: z.literal('username.set'), rid: Rid, username: Username });
export const UsernameLookupFrame = z.object({ action: z.literal('username.lookup'), rid: Rid, username: Username });
export const AccountDeleteFrame = z.object({ action: z.literal('account.delete'), rid: Rid });
export const ReportFrame = z.object({
  action: z.literal('report'),
  rid: Rid,
  /** The envelope fields of the reported message, as the caller received it. */
  message: z.object({ id: MessageId, from: z.object({ user: UserId, device: Device }), sentAt: Timestamp, frank: Frank }),
  /** The franking key from inside the ciphertext: with `content` it must reproduce `frank.commitment`. */
  frankKey: bytes(FRANK_KEY_BYTES),
  /** The decrypted content; text as its UTF-8 bytes. */
  content: z.object({
    kind: z.enum(['text', 'bytes']),
    body: base64url.check(
      z.maxLength(Math.ceil((Limits.ciphertextBytesCeiling * 4) / 3)),
      z.refine((s) => base64UrlByteLength(s) >= 0, 'is not valid base64url'),
    ),
  }),
  reason: z.string().check(z.minLength(1), z.maxLength(Limits.maxReportReasonChars)),
});

export const ClientFrames = {
  hello: HelloFrame,
  status: StatusFrame,
  register: RegisterFrame,
  'keys.publish': KeysPublishFrame,
  'keys.count': KeysCountFrame,
  'keys.bundle': KeysBundleFrame,
  send: SendFrame,
  fetch: FetchFrame,
  ack: AckFrame,
  'username.set': UsernameSetFrame,
  'username.lookup': UsernameLookupFrame,
  'account.delete': AccountDeleteFrame,
  report: ReportFrame,
} as const;

export type Action = keyof typeof ClientFrames;
export const Actions = Object.keys(ClientFrames) as Action[];
export type ClientFrame<A extends Action = Action> = z.infer<(typeof ClientFrames)[A]>;
export type HelloFrame = ClientFrame<'hello'>;
export type StatusFrame = ClientFrame<'status'>;
export type RegisterFrame = ClientFrame<'register'>;
export type KeysPublishFrame = ClientFrame<'keys.publish'>;
export type KeysCountFrame = ClientFrame<'keys.count'>;
export type KeysBundleFrame = ClientFrame<'keys.bundle'>;
export type SendFrame = ClientFrame<'send'>;
export type FetchFrame = ClientFrame<'fetch'>;
export type AckFrame = ClientFrame<'ack'>;
export type UsernameSetFrame = ClientFrame<'username.set'>;
export type UsernameLookupFrame = ClientFrame<'username.lookup'>;
export type AccountDeleteFrame = ClientFrame<'account.delete'>;
export type ReportFrame = ClientFrame<'report'>;

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ClientFrames, value);
}

// ---- server → client ---------------------------------------------------------

export const Envelope = z.object({
  id: MessageId,
  from: z.object({ user: UserId, device: Device }),
  /** Server time the message was queued, epoch ms. */
  sentAt: Timestamp,
  /** When the server drops it, epoch ms. */
  expiresAt: Timestamp,
  ciphertext: Ciphertext,
  frank: Frank,
});
export type Envelope = z.infer<typeof Envelope>;

export interface ServiceLimits {
  readonly maxCiphertextBytes: number;
  readonly retentionDays: number;
  readonly maxDevicesPerSend: number;
  readonly maxFrameBytes: number;
}

export interface ServiceStatus {
  readonly phase: Phase;
  readonly schedule: SunsetSchedule;
  readonly limits: ServiceLimits;
  readonly serverTime: number;
}

export interface DeviceBundle {
  readonly device: number;
  readonly signedPrekey: SignedPrekey | null;
  /** Handed out once; null when the device has none left (a weaker session, see the SDK docs). */
  readonly oneTimePrekey: OneTimePrekey | null;
}

/** What each action answers with, besides `type` and `rid`. */
export interface Results {
  /** `identityKey` is the X25519 key the server holds for this user, null before registration. */
  hello: { userId: string; device: number; registered: boolean; identityKey: string | null; status: ServiceStatus };
  status: ServiceStatus;
  /** `rotated`: the account existed with another identity key, now replaced by this one. */
  register: { userId: string; device: number; created: boolean; rotated: boolean };
  'keys.publish': { oneTimePrekeys: number; signedPrekeyId: number | null };
  'keys.count': { oneTimePrekeys: number; signedPrekeyId: number | null };
  'keys.bundle': {
    user: string;
    signingKey: string;
    identityKey: string;
    identitySig: string;
    devices: DeviceBundle[];
  };
  send: { id: string; sentAt: number; expiresAt: number; duplicate: boolean };
  fetch: { messages: Envelope[]; cursor: string | null; more: boolean };
  ack: { acked: number };
  /** The name as the caller spelled it; lookups match it in any case. */
  'username.set': { username: string };
  /** Null when no user holds the name. */
  'username.lookup': { userId: string | null };
  /** Also when there was nothing left to delete: a retry after a lost answer succeeds. */
  'account.delete': { deleted: true };
  /** `duplicate`: this reporter had already reported this message; the first report stands. */
  report: { reportId: string; duplicate: boolean };
}

export type ResultFrame<A extends Action = Action> = { type: 'result'; rid: string } & Results[A];

export interface ErrorFrame {
  type: 'error';
  rid: string | null;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  retryAfterSeconds?: number;
}

export type MessagePush = { type: 'message' } & Envelope;

/** Why a notice was pushed: the phase just changed, or the daily countdown to shutdown (DESIGN §3). */
export type NoticeReason = 'phase-change' | 'countdown';

export interface NoticePush {
  type: 'notice';
  phase: Phase;
  schedule: SunsetSchedule;
  serverTime: number;
  reason?: NoticeReason;
  /** Whole days left until `schedule.shutdownAt`, rounded up; absent when no shutdown is ahead. */
  daysUntilShutdown?: number;
}

export type ServerFrame = ResultFrame | ErrorFrame | MessagePush | NoticePush;
