import * as z from 'zod/mini';
import type { ErrorCode } from './errors';
import { AccountDeleteFrame } from './client-frames/account-delete';
import { AckFrame } from './client-frames/ack';
import { DeliveryTokenSetFrame } from './client-frames/delivery-token-set';
import { FetchFrame } from './client-frames/fetch';
import { HelloFrame } from './client-frames/hello';
import { KeysBundleFrame } from './client-frames/keys-bundle';
import { KeysCountFrame } from './client-frames/keys-count';
import { KeysPublishFrame } from './client-frames/keys-publish';
import { RegisterFrame } from './client-frames/register';
import { ReportFrame } from './client-frames/report';
import { SendFrame } from './client-frames/send';
import { StatusFrame } from './client-frames/status';
import { UsernameLookupFrame } from './client-frames/username-lookup';
import { UsernameSetFrame } from './client-frames/username-set';
import { Ciphertext, Device, Frank, MessageId, Timestamp, UserId, type OneTimePrekey, type SignedPrekey } from './fields';
import type { Phase, SunsetSchedule } from './sunset';

// Each schema has its own module (fields.ts, client-frames/), so a route bundles only the one it parses.
export { Actions } from './actions';
export {
  Ciphertext,
  Commitment,
  DeliveryToken,
  Device,
  Frank,
  FrankKeyId,
  KeyId,
  MessageId,
  OneTimePrekey,
  PublicKey,
  Rid,
  Signature,
  SignedPrekey,
  Timestamp,
  UserId,
  Username,
} from './fields';
export {
  AccountDeleteFrame,
  AckFrame,
  DeliveryTokenSetFrame,
  FetchFrame,
  HelloFrame,
  KeysBundleFrame,
  KeysCountFrame,
  KeysPublishFrame,
  RegisterFrame,
  ReportFrame,
  SendFrame,
  StatusFrame,
  UsernameLookupFrame,
  UsernameSetFrame,
};

// ---- client → server ---------------------------------------------------------

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
  'deliveryToken.set': DeliveryTokenSetFrame,
} as const;

export type Action = keyof typeof ClientFrames;
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
export type DeliveryTokenSetFrame = ClientFrame<'deliveryToken.set'>;

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
  /** `changed`: the account held another token (or none) until now; setting the same one again is no error. */
  'deliveryToken.set': { changed: boolean };
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

/** Why a notice was pushed: the phase just changed, or the daily countdown to shutdown (ARCH §10.3). */
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

/**
 * The device's one-time prekeys ran low after a bundle handed one out: `remaining` were left (counted up to
 * the deployment's `prekeyLowWater`). The device's SDK publishes more while it is connected.
 */
export interface KeysLowPush {
  type: 'keys.low';
  device: number;
  remaining: number;
}

export type ServerFrame = ResultFrame | ErrorFrame | MessagePush | NoticePush | KeysLowPush;
