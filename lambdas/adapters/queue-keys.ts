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

export function markerSortKey(from: string, id: string): string {
  return `d#${from}#${id}`;
}

/** The queue-depth counter of a recipient device, in its own partition (DESIGN §6 `maxQueueDepth`). */
export const DEPTH_SORT_KEY = 'n#depth';
