import type { NoticePush, NoticeReason } from '../../protocol/frames';
import { phaseAt, scheduleFromConfig, type Phase, type SunsetSchedule } from '../../protocol/sunset';
import type { ConnectionRecord, ItemKey, LifecyclePorts, StoreName } from './ports';
import { forEachBounded } from './bounded';

/**
 * The sunset lifecycle (ARCH §10), run by EventBridge Scheduler on AWS and by timers locally: notices
 * at each phase change and daily in the last 30 days, disconnecting everyone at shutdown, and the purge.
 * No job keeps state between runs: each walks the tables as they are, so a crash or a timeout midway is
 * finished by the next run.
 */

export const LifecycleTasks = ['phase-change', 'countdown', 'shutdown', 'purge'] as const;
export type LifecycleTask = (typeof LifecycleTasks)[number];

/** The fixed JSON input of each schedule. */
export interface LifecycleEvent {
  readonly task: LifecycleTask;
}

/** Why a job did nothing: it was run outside the dates that call for it. */
export type LifecycleSkip = 'outside-countdown' | 'before-shutdown' | 'before-purge';

export interface LifecycleOutcome {
  readonly task: LifecycleTask;
  /** The phase at the start of the run. */
  readonly phase: Phase;
  /** False when the run stopped for lack of time; the next run (a later countdown) continues it. */
  readonly done: boolean;
  readonly skipped?: LifecycleSkip;
  /** Notices delivered. */
  readonly notified: number;
  /** Connections API Gateway no longer knew, whose records were deleted. */
  readonly gone: number;
  readonly disconnected: number;
  /** Items deleted by the purge. */
  readonly purged: number;
  /** Attachment objects deleted by the purge (ARCH §6.12). */
  readonly purgedObjects: number;
}

export interface LifecycleOptions {
  /** Milliseconds the run may still take (Lambda's `getRemainingTimeInMillis`); unbounded when absent. */
  readonly remainingMs?: () => number;
  /** Items read per Scan page. @default 100 */
  readonly pageSize?: number;
  /** Pushes and disconnects in flight at once. @default 16 */
  readonly concurrency?: number;
}

export const COUNTDOWN_DAYS = 30;
const DAY_MS = 86_400_000;
/** Stop starting new batches when less than this is left: one page of deletes fits well within it. */
const TIME_RESERVE_MS = 10_000;
/** Content first: a purge cut short leaves connection records, nonces and buckets, not messages. Every store is listed. */
const PURGE_ORDER = [
  'queue',
  // Push subscriptions name the push services' handles on devices: they go with the content.
  'pushTokens',
  'prekeys',
  'usernames',
  'accounts',
  'reports',
  'nonces',
  'rateLimits',
  'connections',
] as const satisfies readonly StoreName[];
// A store added to StoreName but not to PURGE_ORDER fails to compile here.
const PURGES_EVERY_STORE: Exclude<StoreName, (typeof PURGE_ORDER)[number]> extends never ? true : never = true;
void PURGES_EVERY_STORE;

type Counts = { -readonly [K in 'notified' | 'gone' | 'disconnected' | 'purged' | 'purgedObjects']: number };

/**
 * Runs one lifecycle task at the ports' clock. `phase-change` and `countdown` notify every connection;
 * `shutdown` notifies, then disconnects everyone; `purge` deletes every stored item once `purgeAt` has passed.
 * @throws whatever storage or the management API throws: the run may simply be repeated.
 */
export async function runLifecycle(ports: LifecyclePorts, task: LifecycleTask, options: LifecycleOptions = {}): Promise<LifecycleOutcome> {
  const started = Date.now();
  const now = ports.clock.now();
  const schedule = scheduleFromConfig(ports.config.sunset);
  const phase = phaseAt(schedule, now);
  const counts: Counts = { notified: 0, gone: 0, disconnected: 0, purged: 0, purgedObjects: 0 };
  let done = true;
  let skipped: LifecycleSkip | undefined;

  if (task === 'phase-change') {
    Object.assign(counts, await broadcast(ports, notice(schedule, phase, now, 'phase-change'), null, options));
  } else if (task === 'shutdown') {
    if (phase !== 'shut-down') skipped = 'before-shutdown';
    else Object.assign(counts, await broadcast(ports, notice(schedule, phase, now, 'phase-change'), schedule.shutdownAt!, options));
  } else if (task === 'purge' || (task === 'countdown' && schedule.purgeAt !== null && now >= schedule.purgeAt)) {
    // After purgeAt the daily countdown purges again, so a purge cut short finishes on a later day.
    if (schedule.purgeAt === null || now < schedule.purgeAt) {
      skipped = 'before-purge';
    } else {
      const purge = await purgeAll(ports, options);
      counts.purged = purge.purged;
      done = purge.done;
      if (done) {
        const objects = await purgeAttachments(ports, options);
        counts.purgedObjects = objects.purged;
        done = objects.done;
      }
    }
  } else if (inCountdown(schedule, now)) {
    Object.assign(counts, await broadcast(ports, notice(schedule, phase, now, 'countdown'), null, options));
  } else {
    skipped = 'outside-countdown';
  }

  const outcome: LifecycleOutcome = { task, phase, done, ...(skipped && { skipped }), ...counts };
  const fields = { ...outcome, ms: Date.now() - started };
  // A purge or shutdown schedule firing early means the schedule and the config disagree.
  if (skipped === 'before-purge' || skipped === 'before-shutdown') ports.logger.warn('lifecycle task refused: its date has not come', fields);
  else ports.logger.info('lifecycle', fields);
  return outcome;
}

/** From 30 days before shutdown until shutdown. */
export function inCountdown(schedule: SunsetSchedule, nowMs: number): boolean {
  return schedule.shutdownAt !== null && nowMs < schedule.shutdownAt && nowMs >= schedule.shutdownAt - COUNTDOWN_DAYS * DAY_MS;
}

export function notice(schedule: SunsetSchedule, phase: Phase, nowMs: number, reason: NoticeReason): NoticePush {
  const frame: NoticePush = { type: 'notice', phase, schedule, serverTime: nowMs, reason };
  if (schedule.shutdownAt !== null && nowMs < schedule.shutdownAt) frame.daysUntilShutdown = Math.ceil((schedule.shutdownAt - nowMs) / DAY_MS);
  return frame;
}

/**
 * Pushes `frame` to every recorded connection, page by page, a bounded number at a time. Records past their
 * TTL are included: a push to one comes back gone and deletes it, as TTL would days later.
 * With `disconnectBefore`, also closes each connection opened before that time; one opened since has been
 * told SERVICE_SHUT_DOWN already and stays open, so its app can still ask `status`.
 */
async function broadcast(ports: LifecyclePorts, frame: NoticePush, disconnectBefore: number | null, options: LifecycleOptions): Promise<Counts> {
  const data = JSON.stringify(frame);
  const counts: Counts = { notified: 0, gone: 0, disconnected: 0, purged: 0, purgedObjects: 0 };
  let cursor: string | null = null;
  do {
    const page = await ports.sweeper.connections(cursor, options.pageSize ?? 100);
    const closed: ItemKey[] = [];
    await forEachBounded(page.items, options.concurrency ?? 16, async ({ record, key }) => {
      const disconnect = disconnectBefore !== null && record.connectedAt < disconnectBefore;
      if (disconnectBefore !== null && !disconnect) return;
      const outcome = await ports.notifier.push(record.connectionId, data);
      if (outcome === 'sent') counts.notified++;
      if (outcome === 'gone') {
        counts.gone++;
        await removeGone(ports, record);
      } else if (disconnect) {
        try {
          await ports.notifier.disconnect(record.connectionId);
          counts.disconnected++;
          closed.push(key);
        } catch (error) {
          ports.logger.warn('disconnect failed', { connectionId: record.connectionId, error: (error as Error)?.name ?? 'unknown' });
        }
      }
    });
    // $disconnect deletes these too, but it is best effort.
    if (closed.length > 0) await ports.sweeper.remove('connections', closed);
    cursor = page.cursor;
  } while (cursor !== null);
  return counts;
}

async function removeGone(ports: LifecyclePorts, record: ConnectionRecord): Promise<void> {
  await ports.connections.remove(record.userId, record.connectionId);
  ports.logger.info('stale connection removed', { userId: record.userId, connectionId: record.connectionId });
}

/** Objects listed and deleted per round: one ListObjectsV2 page, one DeleteObjects request. */
const OBJECT_PAGE = 1000;

/**
 * Deletes every attachment object, after the tables (the messages naming them are gone by then), listing from
 * the start until the bucket reads empty, so a run cut short is continued by the next one.
 */
async function purgeAttachments(ports: LifecyclePorts, options: LifecycleOptions): Promise<{ purged: number; done: boolean }> {
  let purged = 0;
  for (;;) {
    if (options.remainingMs !== undefined && options.remainingMs() < TIME_RESERVE_MS) {
      ports.logger.info('purge paused: out of time', { store: 'attachments', deleted: purged });
      return { purged, done: false };
    }
    const page = await ports.attachmentObjects.list(null, OBJECT_PAGE);
    if (page.items.length === 0) break;
    await ports.attachmentObjects.remove(page.items.map((o) => o.key));
    purged += page.items.length;
  }
  ports.logger.info('purged', { store: 'attachments', deleted: purged });
  return { purged, done: true };
}

/**
 * Scan-and-delete from the start of each table until it reads empty: no cursor to keep, so a run that
 * failed or ran out of time is continued by the next one from whatever is left.
 */
async function purgeAll(ports: LifecyclePorts, options: LifecycleOptions): Promise<{ purged: number; done: boolean }> {
  const outOfTime = () => options.remainingMs !== undefined && options.remainingMs() < TIME_RESERVE_MS;
  let purged = 0;
  for (const store of PURGE_ORDER) {
    let deleted = 0;
    for (;;) {
      if (outOfTime()) {
        ports.logger.info('purge paused: out of time', { store, deleted });
        return { purged: purged + deleted, done: false };
      }
      const page = await ports.sweeper.keys(store, null, options.pageSize ?? 100);
      if (page.items.length === 0) break;
      await ports.sweeper.remove(store, page.items);
      deleted += page.items.length;
    }
    purged += deleted;
    ports.logger.info('purged', { store, deleted });
  }
  return { purged, done: true };
}
