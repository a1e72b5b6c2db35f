/** The ebb client SDK: everything an app imports. Anything not exported here is internal. */
export { EbbClient } from './client';
export type { EbbClientOptions } from './options';
export { EbbError, type EbbErrorOptions, type EbbErrorReason, type ErrorCode } from './errors';
export type { KeyStore } from './store/key-store';
export { MemoryStore } from './store/memory-store';
export { FileStore } from './store/file-store';
export { IndexedDbStore } from './store/indexeddb-store';
export type { WebSocketConstructor, WebSocketLike } from './transport/websocket';
export type { BackoffOptions } from './transport/backoff';
export type { PushSubscriptionInput } from './session/push';
export type {
  DeviceInfo,
  DownloadOptions,
  EbbClientEvents,
  GroupEvent,
  GroupEventKind,
  GroupInfo,
  IdentityChangedEvent,
  LinkStart,
  OutgoingAttachment,
  Receipt,
  ReceivedAttachment,
  Phase,
  ReceivedMessage,
  ReportedMessage,
  ReportResult,
  SendOptions,
  SendResult,
  SentMessage,
  ServiceLimits,
  ServiceNotice,
  ServiceStatus,
  SunsetSchedule,
} from './types';
