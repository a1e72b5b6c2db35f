import type { ServiceLimits, ServiceStatus } from '../../protocol/frames';
import type { Phase, SunsetSchedule } from '../../protocol/sunset';
import type { EbbError } from './errors';
import type { GroupEvent } from './groups/state';

export type { Phase, ServiceLimits, ServiceStatus, SunsetSchedule };
/** Groups (ARCH §8.8, §8.9): defined beside the group state they describe. */
export type { GroupEvent, GroupEventKind, GroupInfo } from './groups/state';

/** A decrypted message, handed to the app exactly once. */
export interface ReceivedMessage {
  /** The sender's message id (unique per sender). */
  readonly id: string;
  /** Sender's user id. */
  readonly from: string;
  readonly fromDevice: number;
  /** Present when the sender sent a string; `body` then holds its UTF-8 bytes. */
  readonly text?: string;
  readonly body: Uint8Array;
  /** Server time at which the message was queued. */
  readonly sentAt: Date;
  /** Set when the sender asked for an ephemeral message: delete it locally by then. */
  readonly expiresAt?: Date;
  /** Set when the sender asked the recipient's app to delete the message this long after it is read. */
  readonly burnAfterReadingSeconds?: number;
  /**
   * Set when the sender used an identity key this app has not accepted (an 'identityChanged' event
   * was emitted first). The message is authentic for the sender's user id — its signing key signed
   * the new identity key — but the app may want to flag it until the user compares safety numbers.
   */
  readonly identityChanged?: true;
  /** Set on a group message: the group's id (see `EbbClient.groups()`). `from` is the member that sent it. */
  readonly group?: string;
  /** The files the message carries (ARCH §8.10), in the order sent; absent when it has none. */
  readonly attachments?: readonly ReceivedAttachment[];
}

/** A file to send with a message: `send(to, text, { attachments: [{ name, type, data }] })`. */
export interface OutgoingAttachment {
  /** Shown to the recipient: 1 to 255 characters, no control characters. */
  readonly name: string;
  /** A media type such as `image/jpeg` (RFC 6838 `type/subtype`, at most 255 characters). */
  readonly type: string;
  /** The bytes. A Blob (a browser File) is read a chunk at a time, never whole. */
  readonly data: Uint8Array | Blob;
}

/** Options of `ReceivedAttachment.download` and `downloadTo`. */
export interface DownloadOptions {
  /** Called as bytes are decrypted: `receivedBytes` of `totalBytes` (the file's size). */
  readonly onProgress?: (receivedBytes: number, totalBytes: number) => void;
}

/**
 * A file a message carries (ARCH §8.10). Its key and digest came inside the message's ciphertext, under its
 * franking commitment; the bytes are in the service's bucket until the message expires (at most the
 * deployment's retention after they were uploaded).
 */
export interface ReceivedAttachment {
  /** The object's id in the bucket. */
  readonly id: string;
  /** The name and media type the sender gave: untrusted, like any content. */
  readonly name: string;
  readonly type: string;
  /** The file's size in bytes. */
  readonly size: number;
  /**
   * Downloads the file straight from the bucket with a presigned GET, decrypting and checking it chunk by chunk.
   * Resolves with the whole file; use `downloadTo` to keep memory bounded.
   * @throws EbbError NOT_FOUND (not retryable) when the file is unknown or has expired.
   * @throws EbbError INTERNAL (not retryable, reason `attachment-integrity`) when the stored object is not the
   *   one the message names (e.g. altered in the bucket); no byte of it is returned.
   * @throws EbbError INTERNAL (retryable) when the bucket or the service cannot be reached; RATE_LIMITED,
   *   SERVICE_SHUT_DOWN… from the presign route.
   */
  download(options?: DownloadOptions): Promise<Uint8Array>;
  /**
   * As `download`, but hands each decrypted chunk (64 KiB) to `write`, in order, as it arrives: memory stays a
   * few chunks whatever the size. Every chunk is authenticated before `write` sees it; when this rejects,
   * discard what `write` received. Throws as `download` does.
   */
  downloadTo(write: (chunk: Uint8Array) => void | Promise<void>, options?: DownloadOptions): Promise<void>;
}

/** A phase change or sunset reminder pushed by the service (ARCH §10.3). */
export interface ServiceNotice {
  readonly phase: Phase;
  readonly schedule: SunsetSchedule;
  /** Server clock, epoch ms. */
  readonly serverTime: number;
  /** Why it was sent: the phase changed, or the daily reminder of the last 30 days before shutdown. */
  readonly reason?: 'phase-change' | 'countdown';
  /** Whole days left until `schedule.shutdownAt`, rounded up; absent when no shutdown is ahead. */
  readonly daysUntilShutdown?: number;
}

/**
 * A peer's identity key changed (it reinstalled, or someone holding its signing key replaced it),
 * seen in its key bundle or in a message from it. Sends to the peer fail with FORBIDDEN until the
 * app calls `acceptIdentity(userId)`, ideally after the users compared `safetyNumber(userId)`.
 * Messages from the new key are still delivered, marked `identityChanged`.
 */
export interface IdentityChangedEvent {
  readonly userId: string;
}

export interface SendOptions {
  /** Server-side lifetime, also enforced by the recipient's app; capped by the deployment's retention. */
  readonly expiresInSeconds?: number;
  /** Carried inside the ciphertext: the recipient's app deletes the message this long after reading it. */
  readonly burnAfterReadingSeconds?: number;
  /**
   * The id of an earlier send() of the same content that rejected with a retryable error (its
   * `err.messageId`). The server queues one id once per recipient device and recipients drop a
   * repeated id, so retrying this way delivers the message at most once, even if the first attempt
   * was queued after all. @default a fresh random id
   */
  readonly id?: string;
  /**
   * Files to send with the message, at most 10, each at most the deployment's `maxAttachmentBytes` once
   * encrypted (ARCH §8.8). They are encrypted and uploaded before the message goes out; when an upload fails,
   * no message is sent.
   */
  readonly attachments?: readonly OutgoingAttachment[];
  /** Called as the attachments upload: `sentBytes` of `totalBytes` (the files' sizes added up). */
  readonly onProgress?: (sentBytes: number, totalBytes: number) => void;
}

export interface SendResult {
  readonly id: string;
  /** Server time at which the message was queued. */
  readonly sentAt: Date;
}

/** Which received message `EbbClient.report` reports: a `ReceivedMessage` is one. */
export interface ReportedMessage {
  /** The sender's message id. */
  readonly id: string;
  /** The sender's user id: with `id`, it names one message, as a sender cannot reuse another sender's ids. */
  readonly from: string;
}

/** What `EbbClient.report` resolves with. */
export interface ReportResult {
  /** The service's id for the report, the same for every report of one message (sender and id) by this device. */
  readonly reportId: string;
  /** This device had already reported the message: the first report stands, this reason is not kept. */
  readonly duplicate: boolean;
}

/**
 * A message another device of this account sent (ARCH §8.6), so every device shows the conversation. It
 * arrives as the recipient's copy does, once, in the order the server delivers copies (sent copies carry no
 * sequence number); a device linked later gets what is sent after it linked.
 */
export interface SentMessage {
  /** The message id, the same as the recipient's `ReceivedMessage.id` and as in receipts. */
  readonly id: string;
  /** The recipient's user id; for a group message, the group's id. */
  readonly to: string;
  /** Set on a group message: the group's id. */
  readonly group?: string;
  /** Present when the message was a string; `body` then holds its UTF-8 bytes. */
  readonly text?: string;
  readonly body: Uint8Array;
  /** Server time at which the copy was queued. */
  readonly sentAt: Date;
  /** The device of this account that sent it. */
  readonly fromDevice: number;
  /** Set for an ephemeral message: delete it locally by then, as the recipient does. */
  readonly expiresAt?: Date;
  readonly burnAfterReadingSeconds?: number;
  /** The files the message carries, downloadable from this device too. */
  readonly attachments?: readonly ReceivedAttachment[];
}

/**
 * A delivery or read receipt (ARCH §8.6), end-to-end encrypted like a message and never shown as one.
 * From a recipient (`from` another user): its device `fromDevice` handed message `messageId`, which this
 * account sent, to its app (`delivered`), or its user read it (`read`). A recipient with
 * `receipts: false` sends none.
 * From this account (`from === client.userId`): read state synced from another device of this account,
 * whose user read `messageId` from `sender` (markRead there); mark it read here too. Synced whatever the
 * `receipts` option, since it tells no one else anything.
 */
export interface Receipt {
  readonly messageId: string;
  readonly from: string;
  readonly fromDevice: number;
  readonly kind: 'delivered' | 'read';
  /** Server time at which the receipt was queued. */
  readonly at: Date;
  /** Only on read state from this account's other devices: who sent the message that was read. */
  readonly sender?: string;
}

/** One device of this account, as `EbbClient.devices()` lists it. */
export interface DeviceInfo {
  readonly device: number;
  /** As given to approveLink, readable only by this account's devices; null for device 1 and unnamed ones. */
  readonly name: string | null;
  /** When it was linked; for device 1, when the account was created. */
  readonly linkedAt: Date;
  /** This client is that device. */
  readonly current: boolean;
  /** It has published its keys, so messages reach it. False for a device that linked but never connected. */
  readonly ready: boolean;
}

/** What `EbbClient.startLink` resolves with. */
export interface LinkStart {
  /** Show it to the device that approves (as text or a QR code); it is good for 10 minutes. */
  readonly code: string;
  /**
   * Resolves once the approving device linked this one: the client is then that account's device (its
   * `userId` and `device` changed) and `connect()` connects as it. Rejects with EbbError BAD_REQUEST
   * (reason `expired-link-code`) when no approval came in time, or with the error that stopped waiting.
   */
  readonly linked: Promise<void>;
}

/** Events of `EbbClient.on`. */
export interface EbbClientEvents {
  message: ReceivedMessage;
  /** A message another device of this account sent. */
  sent: SentMessage;
  /** A recipient's delivery or read receipt, or read state from another device of this account. */
  receipt: Receipt;
  notice: ServiceNotice;
  identityChanged: IdentityChangedEvent;
  /** A group this device is in was created or changed (by this device too). */
  group: GroupEvent;
  /**
   * The client stopped reconnecting (e.g. UNAUTHORIZED, ACCOUNT_SUSPENDED, SERVICE_SHUT_DOWN); UNAUTHORIZED
   * with reason `device-removed` when the service said this device was removed from the account.
   */
  error: EbbError;
}
