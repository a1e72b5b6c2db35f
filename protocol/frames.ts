import * as v from 'valibot';
import type { ErrorCode, ErrorReason } from './errors';
import { AccountDeleteFrame } from './client-frames/account-delete';
import { AckFrame } from './client-frames/ack';
import { AttachmentDownloadFrame } from './client-frames/attachment-download';
import { AttachmentUploadFrame } from './client-frames/attachment-upload';
import { DeliveryTokenSetFrame } from './client-frames/delivery-token-set';
import { DeviceAddFrame } from './client-frames/device-add';
import { DeviceRemoveFrame } from './client-frames/device-remove';
import { DevicesListFrame } from './client-frames/devices-list';
import { FanoutFrame } from './client-frames/fanout';
import { FetchFrame } from './client-frames/fetch';
import { HelloFrame } from './client-frames/hello';
import { KeysBundleFrame } from './client-frames/keys-bundle';
import { KeysCountFrame } from './client-frames/keys-count';
import { KeysPublishFrame } from './client-frames/keys-publish';
import { LinkFetchFrame } from './client-frames/link-fetch';
import { PushRegisterFrame } from './client-frames/push-register';
import { PushUnregisterFrame } from './client-frames/push-unregister';
import { RegisterFrame } from './client-frames/register';
import { ReportFrame } from './client-frames/report';
import { SendFrame } from './client-frames/send';
import { StatusFrame } from './client-frames/status';
import { UsernameLookupFrame } from './client-frames/username-lookup';
import { UsernameSetFrame } from './client-frames/username-set';
import { Ciphertext, Device, Frank, MessageId, Timestamp, UserId } from './fields';
import type * as ServerFrameSchemas from './server-frames';

// Each schema has its own module (fields.ts, client-frames/), so a route bundles only the one it parses.
export { Actions } from './actions';
export {
  AttachmentId,
  Ciphertext,
  Commitment,
  DeliveryToken,
  Device,
  DeviceName,
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
  AttachmentDownloadFrame,
  AttachmentUploadFrame,
  DeliveryTokenSetFrame,
  DeviceAddFrame,
  DeviceRemoveFrame,
  DevicesListFrame,
  FanoutFrame,
  FetchFrame,
  HelloFrame,
  KeysBundleFrame,
  KeysCountFrame,
  KeysPublishFrame,
  LinkFetchFrame,
  PushRegisterFrame,
  PushUnregisterFrame,
  RegisterFrame,
  ReportFrame,
  SendFrame,
  StatusFrame,
  UsernameLookupFrame,
  UsernameSetFrame,
};
export { NativePushToken, PushSubscription, WebPushSubscription } from './push';

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
  'device.add': DeviceAddFrame,
  'link.fetch': LinkFetchFrame,
  'devices.list': DevicesListFrame,
  'device.remove': DeviceRemoveFrame,
  fanout: FanoutFrame,
  'push.register': PushRegisterFrame,
  'push.unregister': PushUnregisterFrame,
  'attachment.upload': AttachmentUploadFrame,
  'attachment.download': AttachmentDownloadFrame,
} as const;

export type Action = keyof typeof ClientFrames;
export type ClientFrame<A extends Action = Action> = v.InferOutput<(typeof ClientFrames)[A]>;
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
export type DeviceAddFrame = ClientFrame<'device.add'>;
export type LinkFetchFrame = ClientFrame<'link.fetch'>;
export type DevicesListFrame = ClientFrame<'devices.list'>;
export type DeviceRemoveFrame = ClientFrame<'device.remove'>;
export type FanoutFrame = ClientFrame<'fanout'>;
export type PushRegisterFrame = ClientFrame<'push.register'>;
export type PushUnregisterFrame = ClientFrame<'push.unregister'>;
export type AttachmentUploadFrame = ClientFrame<'attachment.upload'>;
export type AttachmentDownloadFrame = ClientFrame<'attachment.download'>;

export function isAction(value: unknown): value is Action {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(ClientFrames, value);
}

// ---- server → client ---------------------------------------------------------

export const Envelope = v.object({
  id: MessageId,
  from: v.object({ user: UserId, device: Device }),
  /** Server time the message was queued, epoch ms. */
  sentAt: Timestamp,
  /** When the server drops it, epoch ms. */
  expiresAt: Timestamp,
  ciphertext: Ciphertext,
  frank: Frank,
});
export type Envelope = v.InferOutput<typeof Envelope>;

// The shapes below are derived from the schemas in server-frames.ts, which the SDK parses with.
export type ServiceLimits = v.InferOutput<typeof ServerFrameSchemas.ServiceLimits>;
export type ServiceStatus = v.InferOutput<typeof ServerFrameSchemas.ServiceStatus>;
export type DeviceBundle = v.InferOutput<typeof ServerFrameSchemas.DeviceBundle>;
export type DeviceInfo = v.InferOutput<typeof ServerFrameSchemas.DeviceInfo>;
export type LinkProvision = v.InferOutput<typeof ServerFrameSchemas.LinkProvision>;

/** What each action answers with, besides `type` and `rid`. */
export type Results = { [A in Action]: v.InferOutput<(typeof ServerFrameSchemas.ResultSchemas)[A]> };

export type ResultFrame<A extends Action = Action> = { type: 'result'; rid: string } & Results[A];

/** What the server sends: codes from the closed union only (clients parse `code` openly, see `ErrorAnswer`). */
export interface ErrorFrame {
  type: 'error';
  rid: string | null;
  code: ErrorCode;
  message: string;
  retryable: boolean;
  retryAfterSeconds?: number;
  reason?: ErrorReason;
}

export type MessagePush = v.InferOutput<typeof ServerFrameSchemas.MessagePush>;
export type NoticeReason = (typeof ServerFrameSchemas.NoticeReasons)[number];
export type NoticePush = v.InferOutput<typeof ServerFrameSchemas.NoticePush>;
export type KeysLowPush = v.InferOutput<typeof ServerFrameSchemas.KeysLowPush>;
export type LinkPush = v.InferOutput<typeof ServerFrameSchemas.LinkPush>;
export type DeviceRemovedPush = v.InferOutput<typeof ServerFrameSchemas.DeviceRemovedPush>;

export type ServerFrame = ResultFrame | ErrorFrame | MessagePush | NoticePush | KeysLowPush | LinkPush | DeviceRemovedPush;
