import { fromBase64Url } from '../../../protocol/base64url';
import { COMMITMENT_BYTES, FRANK_KEY_BYTES, type CommittedContent, commitmentInput } from '../../../protocol/franking';
import { equalBytes } from './bytes';
import { hmacSha512 } from './hmac';
import { randomBytes } from './random';

/**
 * The sender's and recipient's half of message franking (ARCH §9.2). The byte layout is in
 * protocol/franking.ts, shared with the server, which checks the same commitment on a report.
 */

/** A fresh franking key: one per message, carried inside the ciphertext so only recipients learn it. */
export function newFrankKey(): Uint8Array {
  return randomBytes(FRANK_KEY_BYTES);
}

/** HMAC-SHA-512/256 of the content under `frankKey`: the first 32 bytes of HMAC-SHA-512. */
export function frankCommitment(frankKey: Uint8Array, content: CommittedContent): Uint8Array {
  if (frankKey.length !== FRANK_KEY_BYTES) throw new TypeError(`frankKey: expected ${FRANK_KEY_BYTES} bytes`);
  const mac = hmacSha512(frankKey, commitmentInput(content));
  const commitment = mac.slice(0, COMMITMENT_BYTES);
  mac.fill(0);
  return commitment;
}

/**
 * Whether `commitment` (base64url, as an envelope carries it) commits to `content` under `frankKey`.
 * Compared in constant time; anything malformed is simply false.
 */
export function verifyCommitment(frankKey: Uint8Array, content: CommittedContent, commitment: string): boolean {
  let claimed: Uint8Array;
  try {
    claimed = fromBase64Url(commitment);
  } catch {
    return false;
  }
  return equalBytes(frankCommitment(frankKey, content), claimed);
}
