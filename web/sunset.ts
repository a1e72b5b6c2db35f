import type { Phase, SunsetSchedule } from '../client-sdk/src';

/**
 * What the sunset banner says, or null when the service has no end scheduled. `hasAccount` is false for a
 * first visit the service cannot take: there is nothing to export, and signups being closed is the whole story.
 */
export function sunsetText(phase: Phase, schedule: SunsetSchedule, hasAccount = true): string | null {
  const scheduled = [schedule.signupsCloseAt, schedule.readOnlyAt, schedule.shutdownAt, schedule.purgeAt].some((at) => at !== null);
  if (phase === 'open' && !scheduled) return null;
  const shutdown = schedule.shutdownAt === null ? '' : ` It shuts down on ${day(schedule.shutdownAt)}.`;
  const deleted = schedule.purgeAt === null ? '' : ` Everything stored on the server is deleted on ${day(schedule.purgeAt)}.`;
  let text: string;
  switch (phase) {
    case 'open': {
      const steps = [
        schedule.signupsCloseAt !== null && `signups close on ${day(schedule.signupsCloseAt)}`,
        schedule.readOnlyAt !== null && `it becomes read-only on ${day(schedule.readOnlyAt)}`,
      ].filter(Boolean);
      text = `This service is closing${steps.length ? `: ${steps.join(', ')}.` : '.'}${shutdown}`;
      break;
    }
    case 'signups-closed':
      text = hasAccount ? `Signups are closed.${shutdown}` : `Signups are closed: this service takes no new accounts.${shutdown}`;
      break;
    case 'read-only':
      text = `This service is read-only: messages still arrive, but you cannot send.${shutdown}`;
      break;
    case 'shut-down':
      text = 'This service has shut down.';
      break;
  }
  const operator = schedule.message ? ` ${schedule.message}` : '';
  return `${text}${deleted}${operator}${hasAccount ? ' Export your data to keep it.' : ''}`;
}

function day(at: number): string {
  return new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
