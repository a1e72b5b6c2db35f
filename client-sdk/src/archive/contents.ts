import * as v from 'valibot';
import { maxChars, minChars } from '../../../protocol/chars';
import { Device, UserId } from '../../../protocol/frames';
import { parseIdentity } from '../identity/identity';
import type { KeyStore } from '../store/key-store';
import { jumpedPrekeyId } from '../session/rollback';
import { newSessionEpoch } from '../session/sessions';
import { StoreKeys } from '../store/layout';

/**
 * What an archive holds: every entry of the client's KeyStore — identity, peer cache, sessions
 * with their skipped keys, prekey private keys, seen message ids, received messages kept for
 * report() and whatever the app stored —
 * except those that describe one deployment rather than the account.
 */

export const ARCHIVE_FORMAT = 'ebb-archive';
export const ARCHIVE_VERSION = 1;

/**
 * Left out: the registration flag belongs to the deployment that set it (the new one must see `pk`
 * and register), and the import marker only ever exists while an import runs.
 */
const EXCLUDED: ReadonlySet<string> = new Set([StoreKeys.registered, StoreKeys.importing]);

/** Longer than any key the SDK writes; bounds what a crafted archive can make a store create. */
const MAX_KEY_LENGTH = 1024;
/** Sets in flight at once while importing: FileStore fsyncs each one. */
const WRITE_CONCURRENCY = 16;

const StoreKey = v.pipe(
  v.string(),
  minChars(1),
  maxChars(MAX_KEY_LENGTH),
  v.check((key) => !EXCLUDED.has(key)),
);

const Contents = v.object({
  format: v.literal(ARCHIVE_FORMAT),
  version: v.literal(ARCHIVE_VERSION),
  userId: UserId,
  device: Device,
  exportedAt: v.pipe(v.number(), v.finite()),
  entries: v.array(v.strictTuple([StoreKey, v.string()])),
});
export type ArchiveContents = v.InferOutput<typeof Contents>;

/** Every archived entry of `store`, sorted by key. Entries deleted while this runs are skipped. */
export async function collectEntries(store: KeyStore): Promise<[string, string][]> {
  const entries: [string, string][] = [];
  for (const key of (await store.list('')).sort()) {
    if (EXCLUDED.has(key)) continue;
    const value = await store.get(key);
    if (value !== undefined) entries.push([key, value]);
  }
  return entries;
}

/**
 * The contents of decrypted archive bytes, or null unless they are well-formed JSON of this
 * version with unique keys and an identity that is `userId`'s.
 */
export function parseContents(bytes: Uint8Array): ArchiveContents | null {
  let parsed: ArchiveContents;
  try {
    const result = v.safeParse(Contents, JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes)));
    if (!result.success) return null;
    parsed = result.output;
  } catch {
    return null;
  }
  const keys = new Set(parsed.entries.map(([key]) => key));
  if (keys.size !== parsed.entries.length) return null;
  const identity = parsed.entries.find(([key]) => key === StoreKeys.identity);
  if (!identity || parseIdentity(identity[1])?.userId !== parsed.userId) return null;
  return parsed;
}

/**
 * What an import writes: the archived entries with a new session epoch, so no archived sending chain is
 * ever resumed (Sessions.reset), prekey ids moved past any the archived device published since, and every
 * own group sender key due for rotation, so no archived iteration is used again (ARCH §8.8).
 */
export function entriesToRestore(entries: readonly (readonly [string, string])[]): [string, string][] {
  const restored = new Map(entries);
  // The archived device may have sent group messages since: its own sender keys are rotated before the next one.
  for (const [key, value] of restored) if (key.startsWith(StoreKeys.ownSenderKeyPrefix)) restored.set(key, markedForRotation(value));
  restored.set(StoreKeys.sessionEpoch, newSessionEpoch());
  restored.set(StoreKeys.nextPrekeyId, jumpedPrekeyId(restored.get(StoreKeys.nextPrekeyId), null));
  return [...restored];
}

/** An own sender-key record (groups/distribution.ts) with its rotation flag set; anything unreadable as it was. */
function markedForRotation(value: string): string {
  try {
    const record = JSON.parse(value) as Record<string, unknown>;
    return typeof record === 'object' && record !== null ? JSON.stringify({ ...record, rotate: true }) : value;
  } catch {
    return value;
  }
}

/**
 * Writes `entries` into `store`, all or none: a marker goes in first and out last, and a failed
 * write deletes everything written. Should the rollback fail too, the marker stays, so that the
 * client refuses the half-filled store instead of running on it. Rejects with the store's error.
 */
export async function writeEntries(store: KeyStore, entries: readonly (readonly [string, string])[]): Promise<void> {
  const attempted: string[] = [];
  await store.set(StoreKeys.importing, '1');
  try {
    for (let i = 0; i < entries.length; i += WRITE_CONCURRENCY) {
      const batch = entries.slice(i, i + WRITE_CONCURRENCY);
      attempted.push(...batch.map(([key]) => key));
      // Settled, not all: no set of the batch may land after the rollback deleted its key.
      const outcomes = await Promise.allSettled(batch.map(([key, value]) => store.set(key, value)));
      const failed = outcomes.find((outcome) => outcome.status === 'rejected');
      if (failed) throw failed.reason;
    }
    await store.delete(StoreKeys.importing);
  } catch (err) {
    const rollback = await Promise.allSettled(attempted.map((key) => store.delete(key)));
    if (rollback.every((outcome) => outcome.status === 'fulfilled')) await store.delete(StoreKeys.importing).catch(() => undefined);
    throw err;
  }
}
