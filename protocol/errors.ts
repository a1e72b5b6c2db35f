/** The closed set of error codes a frame can be answered with (ARCH §5.2). */
export const ErrorCodes = [
  'BAD_REQUEST',
  'UNAUTHORIZED',
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'SIGNUPS_CLOSED',
  'SERVICE_READ_ONLY',
  'SERVICE_SHUT_DOWN',
  'ACCOUNT_SUSPENDED',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/** Codes for which repeating the same frame later can succeed. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['RATE_LIMITED', 'INTERNAL']);

export function isRetryable(code: ErrorCode): boolean {
  return RETRYABLE.has(code);
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ErrorCodes as readonly string[]).includes(value);
}

/**
 * Why a refusal happened, where one code has causes a client acts on differently (ARCH §5.2). Sent only
 * with those refusals; clients parse it openly and ignore a reason they do not know.
 * `link-code-used` (CONFLICT): the key in that link code is linked already; `device-limit` (CONFLICT): the
 * account has `maxDevicesPerAccount` devices; `device-numbers-used` (CONFLICT): the account used every device
 * number, which are never reused.
 */
export const ErrorReasons = ['link-code-used', 'device-limit', 'device-numbers-used'] as const;

export type ErrorReason = (typeof ErrorReasons)[number];
