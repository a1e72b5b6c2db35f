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
}

/** A phase change or sunset reminder pushed by the service (DESIGN §3). */
export interface ServiceNotice {
  readonly phase: Phase;
  readonly schedule: SunsetSchedule;
  /** Server clock, epoch ms. */
  readonly serverTime: number;
}

/** A peer's identity key changed. Raised by a later increment (safety numbers); declared so apps can subscribe now. */
export interface IdentityChangedEvent {
  readonly userId: string;
}

export interface SendOptions {
  /** Server-side lifetime, also enforced by the recipient's app; capped by the deployment's retention. */
  readonly expiresInSeconds?: number;
  /** Carried inside the ciphertext: the recipient's app deletes the message this long after reading it. */
  readonly burnAfterReadingSeconds?: number;
}

export interface SendResult {
  readonly id: string;
  /** Server time at which the message was queued. */
  readonly sentAt: Date;
}

/** Events of `EbbClient.on`. */
export interface EbbClientEvents {
  message: ReceivedMessage;
  notice: ServiceNotice;
  identityChanged: IdentityChangedEvent;
  /** The client stopped reconnecting (e.g. UNAUTHORIZED, ACCOUNT_SUSPENDED, SERVICE_SHUT_DOWN). */
  error: EbbError;
}
