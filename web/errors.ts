import { EbbError, type ErrorCode } from '../client-sdk/src';
import { groupReason } from './groups';

/** What the page says for each code when the action has nothing more precise to say. */
const SENTENCES: Readonly<Record<ErrorCode, string>> = {
  BAD_REQUEST: 'The service could not accept that. Check what you typed and try again.',
  UNAUTHORIZED: "The service did not accept this browser's sign-in. Check that this computer's clock is right, then reload the page.",
  FORBIDDEN: 'That is not allowed.',
  NOT_FOUND: 'There is no such account on this service.',
  CONFLICT: 'Someone else got there first. Try again.',
  PAYLOAD_TOO_LARGE: 'That is too large to send. Send something shorter.',
  RATE_LIMITED: 'Too many requests at once. Wait a moment and try again.',
  SIGNUPS_CLOSED: 'This service no longer accepts new accounts.',
  SERVICE_READ_ONLY: 'This service is read-only now: messages still arrive, but nothing can be sent.',
  SERVICE_SHUT_DOWN: 'This service has shut down.',
  ACCOUNT_SUSPENDED: 'The operator of this service has suspended your account.',
  INTERNAL: 'Something went wrong between this page and the service. Try again in a moment.',
};

const UNREACHABLE = 'The service cannot be reached. Check your connection; the page keeps trying.';

/** Sentences for one action, where a code means something more precise than SENTENCES says. */
export type Wording = Partial<Record<ErrorCode, string>>;

export const UsernameWording: Wording = {
  BAD_REQUEST: 'A username is 3 to 32 characters of A–Z, a–z, 0–9 and _.',
  CONFLICT: 'That username is taken. Try another.',
  FORBIDDEN: 'That username is reserved. Try another.',
};

export const SendWording: Wording = {
  FORBIDDEN: 'Their safety number has changed. Compare it with them, then accept the new identity to send again.',
  NOT_FOUND: 'They have no account on this service any more.',
};

export const ExportWording: Wording = {
  BAD_REQUEST: 'The passphrase must be at least 15 characters long.',
};

/** Approving a new device's link code (ARCH §8.6). */
export const ApproveWording: Wording = {
  FORBIDDEN: 'Only your first device, which holds the account key, can approve a new device. Approve it there.',
};

/** Registering this browser for notifications (ARCH §6.13). */
export const PushWording: Wording = {
  BAD_REQUEST: 'The service does not accept the push address this browser gave. Notifications stay off.',
  SERVICE_READ_ONLY: 'This service is read-only now: no new messages will come, so there is nothing to notify.',
};

/** Reasons that say more than the code, for linking. */
const LINK_REASONS: Readonly<Record<string, string>> = {
  'malformed-link-code': 'That is not a link code. Copy the whole code the new device shows, starting with ebb-link:.',
  'expired-link-code': 'That link code has expired: codes are good for 10 minutes. Start linking again on the new device.',
  'used-link-code': 'That link code was used already. Start linking again on the new device for a new code.',
  'device-limit': 'Your account has as many devices as this service allows. Remove one first.',
  'device-numbers-used': 'This account has linked as many devices over its life as the service allows. No more can be linked.',
};

/** An error whose message is meant for the person using the page, as it is. */
export class PlainError extends Error {
  override readonly name = 'PlainError';
}

/** One sentence saying what went wrong, in plain words: never a bare code, never a stack trace. */
export function explain(error: unknown, wording: Wording = {}): string {
  if (error instanceof PlainError) return error.message;
  if (!EbbError.is(error)) return SENTENCES.INTERNAL;
  if (error.code === 'INTERNAL' && error.reason === 'unreachable') return UNREACHABLE;
  if (error.reason !== undefined && Object.hasOwn(LINK_REASONS, error.reason)) return LINK_REASONS[error.reason]!;
  const group = groupReason(error.reason);
  if (group !== undefined) return group;
  return wording[error.code] ?? SENTENCES[error.code];
}

/** The sentence for a stored error code (a failed send keeps its code in the chat's history). */
export function explainCode(code: string, wording: Wording = {}): string {
  const known = Object.hasOwn(SENTENCES, code) ? (code as ErrorCode) : 'INTERNAL';
  return wording[known] ?? SENTENCES[known];
}
