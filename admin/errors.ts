import { ConfigError } from '../protocol/config';

/** A failure the operator can act on; its message is printed as is, on one line. */
export class AdminError extends Error {
  override readonly name = 'AdminError';
}

/** Socket errors the AWS SDK passes through when an endpoint cannot be reached. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH']);

/**
 * One line for any error: ours and config errors verbatim, AWS SDK errors by name and message.
 * Never a stack trace: operators read this, and it may end up in a ticket.
 */
export function describeError(error: unknown): string {
  if (error instanceof AdminError || error instanceof ConfigError) return oneLine(error.message);
  if (!(error instanceof Error)) return oneLine(`unexpected failure: ${String(error)}`);
  const code = (error as NodeJS.ErrnoException).code;
  if (code && UNREACHABLE.has(code)) return oneLine(`cannot reach the endpoint (${code}): ${error.message}`);
  if (error.name === 'CredentialsProviderError') return oneLine(`no AWS credentials found: ${error.message}`);
  if (/region is missing/i.test(error.message)) return 'no AWS region: set AWS_REGION or AWS_PROFILE, or pass --region';
  return oneLine(error.name && error.name !== 'Error' ? `${error.name}: ${error.message}` : error.message);
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim() || 'unknown error';
}
