import { type ErrorCode, isErrorCode, isRetryable } from '../../protocol/errors';

export type { ErrorCode } from '../../protocol/errors';

/**
 * Narrows a `code` where one code has distinct causes an app acts on differently.
 * `unreachable`: nothing accepted the connection at that URL (refused, no such host): check the URL or start the server.
 * Linking (ARCH §8.6): `malformed-link-code` (BAD_REQUEST: not a link code), `expired-link-code` (BAD_REQUEST: older
 * than 10 minutes: start linking again), `used-link-code` (CONFLICT: that device was linked already), `device-limit`
 * (CONFLICT: the account has the most devices the service allows: remove one first), `device-numbers-used`
 * (CONFLICT: the account used every device number there is; numbers are never reused). `device-removed`
 * (UNAUTHORIZED, on 'error': the service said this device was removed from its account; nothing it keeps can
 * connect again). Attachments (ARCH §8.10): `attachment-upload` (INTERNAL, retryable: an upload failed every
 * attempt and no message was sent), `attachment-integrity` (INTERNAL, not retryable: a downloaded object is not
 * the one the message names, e.g. altered in the bucket; none of its bytes are returned).
 */
export type EbbErrorReason =
  | 'unreachable'
  | 'malformed-link-code'
  | 'expired-link-code'
  | 'used-link-code'
  | 'device-limit'
  | 'device-numbers-used'
  | 'device-removed'
  | 'attachment-upload'
  | 'attachment-integrity'
  | GroupErrorReason;

/**
 * Why a group call was refused (ARCH §8.8), nothing sent: `malformed-group-id` (BAD_REQUEST), `not-in-group`
 * (FORBIDDEN: this user is not a member of that group, or it is unknown here), `not-group-admin` (FORBIDDEN:
 * only admins add, remove, rename and promote), `already-group-member` / `not-group-member` /
 * `already-group-admin` (BAD_REQUEST: a member named cannot be added, removed or promoted), `group-full`
 * (CONFLICT: more than `maxGroupSize` members), `group-history-full` (CONFLICT: the group took the most
 * changes one group may have: make a new group), `not-senior-group-admin` (FORBIDDEN: an admin can remove only
 * the admins who became admin after it).
 */
export type GroupErrorReason =
  | 'malformed-group-id'
  | 'not-in-group'
  | 'not-group-admin'
  | 'already-group-member'
  | 'not-group-member'
  | 'already-group-admin'
  | 'group-full'
  | 'group-history-full'
  | 'not-senior-group-admin';

export interface EbbErrorOptions {
  /** @default whether the protocol treats `code` as retryable (RATE_LIMITED, INTERNAL) */
  readonly retryable?: boolean;
  /** Set when the server says how long to wait, e.g. with RATE_LIMITED. */
  readonly retryAfterSeconds?: number;
  /** The underlying failure, e.g. a KeyStore's own error. */
  readonly cause?: unknown;
  /** Set by send(): the id the message went out with, to retry it with `{ id }`. */
  readonly messageId?: string;
  readonly reason?: EbbErrorReason;
}

/**
 * The one error the SDK throws. `code` is the protocol's closed union; `retryable` says whether
 * repeating the same call later can succeed.
 */
export class EbbError extends Error {
  override readonly name = 'EbbError';
  readonly code: ErrorCode;
  readonly retryable: boolean;
  readonly retryAfterSeconds?: number;
  /**
   * Set on errors from send(): the message's id. After a retryable error the message may or may not
   * have been queued; `send(to, content, { id: err.messageId })` retries without risking a duplicate.
   */
  readonly messageId?: string;
  /** Set when the cause matters more than the code, e.g. `unreachable` on an INTERNAL from connect(). */
  readonly reason?: EbbErrorReason;

  constructor(code: ErrorCode, message: string, options: EbbErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? isRetryable(code);
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
    if (options.messageId !== undefined) this.messageId = options.messageId;
    if (options.reason !== undefined) this.reason = options.reason;
  }

  /**
   * Narrows `err` to an EbbError (with `code`, when given). Also recognises EbbErrors from another
   * copy of the SDK in the same app, where `instanceof` fails.
   */
  static is<C extends ErrorCode>(err: unknown, code?: C): err is EbbError & { readonly code: C } {
    const isEbb = err instanceof EbbError || (err instanceof Error && err.name === 'EbbError' && isErrorCode((err as { code?: unknown }).code));
    return isEbb && (code === undefined || (err as EbbError).code === code);
  }
}

/** Misuse of the API: a bad argument or a call in the wrong state. Never retryable. */
export function badRequest(message: string): EbbError {
  return new EbbError('BAD_REQUEST', message, { retryable: false });
}

/**
 * Anything thrown below a public method, as an EbbError: ours pass through; others (a KeyStore's
 * I/O error, say) become a retryable INTERNAL that keeps the original as `cause`.
 */
export function toEbbError(err: unknown): EbbError {
  if (EbbError.is(err)) return err;
  const detail = err instanceof Error ? `: ${err.message}` : '';
  return new EbbError('INTERNAL', `unexpected failure${detail}`, { retryable: true, cause: err });
}

/** `err` as it leaves send(): the same error, naming the message it was about. */
export function withMessageId(err: EbbError, messageId: string): EbbError {
  if (err.messageId === messageId) return err;
  const copy = new EbbError(err.code, err.message, {
    retryable: err.retryable,
    ...(err.retryAfterSeconds !== undefined && { retryAfterSeconds: err.retryAfterSeconds }),
    ...(err.cause !== undefined && { cause: err.cause }),
    ...(err.reason !== undefined && { reason: err.reason }),
    messageId,
  });
  copy.stack = err.stack;
  return copy;
}
