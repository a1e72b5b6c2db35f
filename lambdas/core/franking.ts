import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { toBase64Url, fromBase64Url } from '../../protocol/base64url';
import { COMMITMENT_BYTES, commitmentInput, lengthPrefixed, tagInput, type CommittedContent, type TaggedDelivery } from '../../protocol/franking';
import type { FrankingKey } from './ports';

/**
 * The server's half of message franking (ARCH §9.2), on node:crypto. The byte layouts are in
 * protocol/franking.ts, shared with the SDK, which makes the commitments.
 */

/** The server's tag over a delivery: HMAC-SHA-256 under the franking key, base64url. */
export function frankTag(key: FrankingKey, delivery: TaggedDelivery): string {
  return toBase64Url(createHmac('sha256', key.key).update(tagInput(delivery)).digest());
}

/** Whether `tag` is the one `key` makes for `delivery`; compared in constant time. */
export function verifyFrankTag(key: FrankingKey, delivery: TaggedDelivery, tag: string): boolean {
  const expected = createHmac('sha256', key.key).update(tagInput(delivery)).digest();
  return equalBytes(expected, fromBase64Url(tag));
}

/** HMAC-SHA-512/256 (the first 32 bytes of HMAC-SHA-512) of the content under the sender's franking key. */
export function frankCommitment(frankKey: Uint8Array, content: CommittedContent): Uint8Array {
  return createHmac('sha512', frankKey).update(commitmentInput(content)).digest().subarray(0, COMMITMENT_BYTES);
}

/** Whether `commitment` (base64url) commits to `content` under `frankKey`; compared in constant time. */
export function verifyCommitment(frankKey: Uint8Array, content: CommittedContent, commitment: string): boolean {
  return equalBytes(frankCommitment(frankKey, content), fromBase64Url(commitment));
}

/** Report ids: one per reporter device, sender and message id, so a second report of a message finds the first. */
export function reportIdOf(reporter: { userId: string; device: number }, sender: string, messageId: string): string {
  const digest = createHash('sha256')
    .update(lengthPrefixed(['ebb/report/v1', reporter.userId, String(reporter.device), sender, messageId]))
    .digest();
  return toBase64Url(digest.subarray(0, 16));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
