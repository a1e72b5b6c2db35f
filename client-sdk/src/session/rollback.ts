import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { Answer } from '../transport/server-frames';
import type { Sessions } from './sessions';

/**
 * A store copied back from an older state (an archive, a file backup, a VM snapshot) holds sending
 * chains the device may have used since: resuming them would repeat ratchet headers and message keys.
 * The server notices what the store cannot: prekey ids only move forward, and the server keeps the
 * signed prekey this device published last. One this store never made means the store is behind.
 *
 * What this cannot see: a copy that only sent messages after the snapshot, without publishing a
 * prekey, leaves no trace on the server that the device can read back (only a per-device send counter
 * kept by the server would). Archive imports need no detection: every import is treated as a rollback.
 */

const KEY_ID_SPACE = 2 ** 31;

/**
 * How far prekey ids move on past what a newer copy of this device may have published: more one-time
 * prekeys than a device publishes between signed prekey rotations, so new ids collide with none of
 * that copy's (the server would hand out keys this store cannot open). 2^31 ids last 2048 such jumps.
 */
export const PREKEY_ID_JUMP = 2 ** 20;

/** Whether the server holds a signed prekey of this device newer than any id this store handed out. */
export async function isRolledBack(store: KeyStore, count: Answer<'keys.count'>): Promise<boolean> {
  const serverKeyId = count.signedPrekeyId;
  if (serverKeyId === null || (await store.get(StoreKeys.signedPrekey(serverKeyId))) !== undefined) return false;
  return serverKeyId >= nextPrekeyId(await store.get(StoreKeys.nextPrekeyId));
}

/** What a rolled-back store does before it sends or publishes again: new sessions, prekey ids past the server's. */
export async function recoverFromRollback(store: KeyStore, sessions: Sessions, count: Answer<'keys.count'>): Promise<void> {
  await sessions.reset();
  await store.set(StoreKeys.nextPrekeyId, jumpedPrekeyId(await store.get(StoreKeys.nextPrekeyId), count.signedPrekeyId));
}

/** The stored next prekey id moved PREKEY_ID_JUMP past it and past `serverKeyId`. */
export function jumpedPrekeyId(saved: string | undefined, serverKeyId: number | null): string {
  const from = Math.max(nextPrekeyId(saved), serverKeyId === null ? 0 : serverKeyId + 1);
  return String((from + PREKEY_ID_JUMP) % KEY_ID_SPACE);
}

/** As session/prekeys.ts reads it: a missing or unreadable counter starts at 0. */
function nextPrekeyId(saved: string | undefined): number {
  const next = Number(saved);
  return Number.isInteger(next) && next >= 0 && next < KEY_ID_SPACE ? next : 0;
}
