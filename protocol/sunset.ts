import type { SunsetConfig } from './config';

/** Service phases, in the order they happen (ARCH §10.2). */
export const Phases = ['open', 'signups-closed', 'read-only', 'shut-down'] as const;
export type Phase = (typeof Phases)[number];

/** The operator's schedule as carried in `hello`, `status` and `notice` frames: epoch ms or null. */
export interface SunsetSchedule {
  readonly signupsCloseAt: number | null;
  readonly readOnlyAt: number | null;
  readonly shutdownAt: number | null;
  readonly purgeAt: number | null;
  readonly noticeUrl: string | null;
  readonly message: string | null;
}

export function scheduleFromConfig(sunset: SunsetConfig): SunsetSchedule {
  const at = (iso: string | null): number | null => (iso === null ? null : Date.parse(iso));
  return {
    signupsCloseAt: at(sunset.signupsCloseAt),
    readOnlyAt: at(sunset.readOnlyAt),
    shutdownAt: at(sunset.shutdownAt),
    purgeAt: at(sunset.purgeAt),
    noticeUrl: sunset.noticeUrl,
    message: sunset.message,
  };
}

/** The phase in force at `nowMs`. A later date wins, so a partly filled schedule still reads correctly. */
export function phaseAt(schedule: SunsetSchedule, nowMs: number): Phase {
  const reached = (at: number | null): boolean => at !== null && nowMs >= at;
  if (reached(schedule.shutdownAt) || reached(schedule.purgeAt)) return 'shut-down';
  if (reached(schedule.readOnlyAt)) return 'read-only';
  if (reached(schedule.signupsCloseAt)) return 'signups-closed';
  return 'open';
}
