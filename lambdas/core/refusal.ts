import type { ErrorCode } from '../../protocol/errors';

/** A typed refusal the caller is told about; anything else thrown becomes INTERNAL. */
export class Refusal extends Error {
  override readonly name = 'Refusal';
  constructor(
    readonly code: Exclude<ErrorCode, 'INTERNAL'>,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}
