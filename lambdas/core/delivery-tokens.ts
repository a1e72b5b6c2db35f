import { createHash, timingSafeEqual } from 'node:crypto';
import type { DeliveryTokenSetFrame, Results } from '../../protocol/frames';
import { requireAccount } from './accounts';
import { requirePhaseAllows } from './phase';
import type { AccountRecord, Caller, Ports, QueueLimits, QueueShare } from './ports';
import { Refusal } from './refusal';

/**
 * Delivery tokens (ARCH §6.6): each account's SDK makes a random token and puts it inside every message it
 * sends, so exactly the people it wrote to learn it; they present it in `send`. The server keeps only its
 * hash on the account and checks a presented token against the recipient's record it reads anyway, so it
 * stores no contact list: it learns that a sender is a contact only at the moment that sender sends.
 */

/** SHA-256 of the token bytes: a leaked accounts table gives no one a token to present. */
function tokenHash(token: string): Buffer {
  return createHash('sha256').update(Buffer.from(token, 'base64url')).digest();
}

/**
 * The share of `recipient`'s queue a message from `senderId` presenting `token` counts in: a contact's when
 * it is a message to oneself, or the token hashes to the recipient's stored hash (compared in constant time).
 */
export function queueShareOf(recipient: AccountRecord, senderId: string, token: string | undefined): QueueShare {
  if (senderId === recipient.userId) return 'contact';
  if (token === undefined || recipient.deliveryTokenHash === undefined) return 'stranger';
  const stored = Buffer.from(recipient.deliveryTokenHash, 'base64url');
  const presented = tokenHash(token);
  return stored.length === presented.length && timingSafeEqual(stored, presented) ? 'contact' : 'stranger';
}

/** `maxQueueDepth`, and the strangers' part of it: at least one message, so anyone can be written to first. */
export function queueLimits(config: Ports['config']): QueueLimits {
  return { depth: config.maxQueueDepth, strangerDepth: Math.max(1, Math.floor((config.maxQueueDepth * config.strangerQueuePercent) / 100)) };
}

/**
 * Replaces the caller's delivery token: from now on only the new one makes a sender a contact, so a contact
 * who holds only the old one counts as a stranger until it receives a message carrying the new one.
 * Allowed whenever `send` is.
 */
export async function setDeliveryToken(ports: Ports, caller: Caller, frame: DeliveryTokenSetFrame): Promise<Results['deliveryToken.set']> {
  requirePhaseAllows(ports, 'send');
  const account = await requireAccount(ports, caller);
  const hash = tokenHash(frame.token).toString('base64url');
  const changed = account.deliveryTokenHash !== hash;
  if (changed && !(await ports.accounts.setDeliveryTokenHash(caller.userId, hash))) {
    throw new Refusal('FORBIDDEN', 'this identity is not registered: register first');
  }
  ports.logger.info('delivery token set', { userId: caller.userId, rotated: changed && account.deliveryTokenHash !== undefined });
  return { changed };
}
