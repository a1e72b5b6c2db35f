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
