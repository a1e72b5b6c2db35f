import type { ErrorCode, ErrorReason } from '../../protocol/errors';

export interface RefusalOptions {
  /** Set when the caller should wait before trying again, e.g. with RATE_LIMITED. */
  readonly retryAfterSeconds?: number;
  /** Set where one code has causes a client acts on differently (protocol/errors.ts ErrorReasons). */
  readonly reason?: ErrorReason;
}

/** A typed refusal the caller is told about; anything else thrown becomes INTERNAL. */
export class Refusal extends Error {
  override readonly name = 'Refusal';
  readonly retryAfterSeconds?: number;
  readonly reason?: ErrorReason;

  constructor(
    readonly code: Exclude<ErrorCode, 'INTERNAL'>,
    message: string,
    options: RefusalOptions = {},
  ) {
    super(message);
    if (options.retryAfterSeconds !== undefined) this.retryAfterSeconds = options.retryAfterSeconds;
    if (options.reason !== undefined) this.reason = options.reason;
  }
}
