import type { ServiceLimits, ServiceStatus } from '../../protocol/frames';
import type { Phase, SunsetSchedule } from '../../protocol/sunset';
import type { EbbError } from './errors';

export type { Phase, ServiceLimits, ServiceStatus, SunsetSchedule };

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

/** Events of `EbbClient.on`. */
export interface EbbClientEvents {
  message: ReceivedMessage;
  notice: ServiceNotice;
  identityChanged: IdentityChangedEvent;
  /** The client stopped reconnecting (e.g. UNAUTHORIZED, ACCOUNT_SUSPENDED, SERVICE_SHUT_DOWN). */
  error: EbbError;
}
