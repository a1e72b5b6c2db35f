import { createHash } from 'node:crypto';
import type { MessageRef } from '../core/ports';

/** Queue sort keys: `m#<sentAt, 13 digits>#<id>` orders messages by server time; `d#…` markers sort apart. */
const SENT_AT_DIGITS = 13;
const MESSAGE_KEY = /^m#(\d{13})#([A-Za-z0-9_-]{16,64})$/;

export const MESSAGE_PREFIX = 'm#';

export function messageSortKey(ref: MessageRef): string {
  return `${MESSAGE_PREFIX}${String(ref.sentAt).padStart(SENT_AT_DIGITS, '0')}#${ref.id}`;
}

export function parseMessageSortKey(key: string): MessageRef | undefined {
  const match = MESSAGE_KEY.exec(key);
  return match ? { sentAt: Number(match[1]), id: match[2]! } : undefined;
}

const MARKER_CONTEXT = 'ebb-send-marker-v1';

/**
 * The retry marker of `(from, id)`: `d#` and SHA-512/256 over a context, the sender and the message id
 * (ARCH §6.3). The id is the client's 128-bit random value and leaves the server with the ack, so once a
 * message is acked its marker cannot be tied to a sender: trying every user id still needs the id.
 */
export function markerSortKey(from: string, id: string): string {
  const digest = createHash('sha512-256').update(`${MARKER_CONTEXT}\n${from}\n${id}`, 'utf8').digest('base64url');
  return `d#${digest}`;
}

/** The queue-depth counter of a recipient device, in its own partition (ARCH §7.4 `maxQueueDepth`). */
export const DEPTH_SORT_KEY = 'n#depth';
