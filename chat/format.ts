import { printable } from '../shared/printable';
import { relativeTime } from '../shared/relative-time';
import { EbbError, type Phase, type ServiceNotice, type ServiceStatus } from '../client-sdk/src';

/** Characters of a user id shown where the whole id would crowd the line. */
const SHORT_ID_CHARS = 8;

/** `[HH:MM:SS]` in local time. */
export function clock(atMs: number): string {
  const at = new Date(atMs);
  return `[${[at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')}]`;
}

/** How a peer is shown: `@name` when the user looked the name up, else the start of its user id. */
export function peerLabel(userId: string, name: string | undefined): string {
  return name === undefined ? userId.slice(0, SHORT_ID_CHARS) : `@${printable(name)}`;
}

/** `30 s`, `5 min`, `2 h 30 min`, `3 days`: for settings the user typed in seconds. */
export function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  if (seconds < 259_200) return `${Math.floor(seconds / 3600)} h${seconds % 3600 >= 60 ? ` ${Math.floor((seconds % 3600) / 60)} min` : ''}`;
  return `${Math.round(seconds / 86_400)} days`;
}

const PHASE_TEXT: Readonly<Record<Phase, string>> = {
  open: 'the service is open',
  'signups-closed': 'new accounts can no longer sign up',
  'read-only': 'sending is closed; you can still read and /export your account',
  'shut-down': 'the service has shut down; /export your account to keep it',
};

/**
 * One banner line for a service notice or a status that is not plain `open`: the phase, the next date
 * of the schedule and the operator's message and link (escaped: they are printed to a terminal).
 */
export function sunsetBanner(
  status: Pick<ServiceNotice, 'phase' | 'schedule'> & Partial<Pick<ServiceNotice, 'daysUntilShutdown'>>,
  nowMs: number,
): string {
  const { phase, schedule } = status;
  const parts = [PHASE_TEXT[phase]];
  const ahead = (at: number | null): at is number => at !== null && at > nowMs;
  if (phase !== 'shut-down' && ahead(schedule.shutdownAt)) {
    parts.push(`shutdown ${new Date(schedule.shutdownAt).toISOString()} (${relativeTime(schedule.shutdownAt, nowMs)})`);
  } else if (phase === 'open' && ahead(schedule.readOnlyAt)) {
    parts.push(`read-only from ${new Date(schedule.readOnlyAt).toISOString()} (${relativeTime(schedule.readOnlyAt, nowMs)})`);
  }
  if (phase === 'shut-down' && ahead(schedule.purgeAt)) parts.push(`every stored message is deleted ${relativeTime(schedule.purgeAt, nowMs)}`);
  if (schedule.message !== null) parts.push(printable(schedule.message));
  if (schedule.noticeUrl !== null) parts.push(printable(schedule.noticeUrl));
  return `*** SERVICE NOTICE: ${parts.join(' — ')} ***`;
}

/** Whether a status at start deserves the banner: anything but `open` with no sunset ahead. */
export function needsBanner(status: ServiceStatus, nowMs: number): boolean {
  const { schedule } = status;
  return status.phase !== 'open' || [schedule.signupsCloseAt, schedule.readOnlyAt, schedule.shutdownAt].some((at) => at !== null && at > nowMs);
}

/** `CODE: message` for an EbbError, else the error's own code and message: one line, escaped, no stack. */
export function failure(err: unknown): string {
  if (EbbError.is(err)) return `${err.code}: ${printable(err.message)}`;
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return printable(`${typeof code === 'string' ? `${code}: ` : ''}${err instanceof Error ? err.message : String(err)}`);
}
