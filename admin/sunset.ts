import type { Command } from 'commander';
import type { EbbConfig } from '../protocol/config';
import { phaseAt, scheduleFromConfig, type Phase } from '../protocol/sunset';
import { loadConfig } from './config';
import { countConnected, countRegistered } from './counts';
import type { Io } from './io';
import { relativeTime } from '../shared/relative-time';
import { addTargetOptions, openTarget, type TargetDescription, type TargetOptions } from './target';

/** The sunset dates in the order they happen (ARCH §10.1). */
const DATE_KEYS = ['signupsCloseAt', 'readOnlyAt', 'shutdownAt', 'purgeAt'] as const;
type DateKey = (typeof DATE_KEYS)[number];

/** `ebb-admin sunset status --json`: dates are ISO-8601 UTC, counts are numbers. */
export interface SunsetStatusReport {
  readonly now: string;
  readonly target: TargetDescription;
  /** The config file read; on AWS the deployed functions' copy may differ if it was not redeployed. */
  readonly configFile: string;
  readonly phase: Phase;
  readonly schedule: Readonly<Record<DateKey, string | null>>;
  /** The next date still ahead, if any. */
  readonly next: { readonly key: DateKey; readonly at: string } | null;
  readonly message: string | null;
  readonly noticeUrl: string | null;
  /** Connection records not yet expired. */
  readonly connected: number;
  /** Accounts. */
  readonly registered: number;
}

interface StatusOptions extends TargetOptions {
  readonly config: string;
  readonly json?: boolean;
}

/** `ebb-admin sunset …`: the service's scheduled end. */
export function registerSunsetCommands(program: Command, io: Io): void {
  const sunset = program.command('sunset').description('the scheduled end of the service: phase, dates, notice');
  addTargetOptions(sunset.command('status').description('phase, every sunset date, the notice, and connected and registered counts'))
    .option('--config <file>', 'cdk.json (its context.ebb) or a JSON file holding the ebb object', 'cdk.json')
    .option('--json', 'machine-readable output')
    .action(async (options: StatusOptions) => {
      const report = await sunsetStatus(options, Date.now());
      io.out(options.json ? JSON.stringify(report, null, 2) : renderStatus(report));
    });
}

/**
 * Reads the config (never from the deployed functions: that needs Lambda permissions an operator's
 * read-only role may lack) and counts connections and accounts at the target.
 * @throws AdminError for a bad config, target or table.
 */
export async function sunsetStatus(options: StatusOptions, nowMs: number): Promise<SunsetStatusReport> {
  const { config, file } = loadConfig(options.config);
  const target = await openTarget(options);
  try {
    const [connected, registered] = await Promise.all([countConnected(target, nowMs), countRegistered(target)]);
    return { now: iso(nowMs), target: target.description, configFile: file, ...scheduleReport(config, nowMs), connected, registered };
  } finally {
    target.close();
  }
}

function scheduleReport(config: EbbConfig, nowMs: number) {
  const schedule = scheduleFromConfig(config.sunset);
  const dates = Object.fromEntries(DATE_KEYS.map((key) => [key, schedule[key] === null ? null : iso(schedule[key])])) as Record<
    DateKey,
    string | null
  >;
  const nextKey = DATE_KEYS.find((key) => schedule[key] !== null && schedule[key] > nowMs);
  return {
    phase: phaseAt(schedule, nowMs),
    schedule: dates,
    next: nextKey ? { key: nextKey, at: dates[nextKey]! } : null,
    message: schedule.message,
    noticeUrl: schedule.noticeUrl,
  };
}

const LABELS: Record<DateKey, string> = {
  signupsCloseAt: 'signups close',
  readOnlyAt: 'read-only',
  shutdownAt: 'shutdown',
  purgeAt: 'purge',
};

export function renderStatus(report: SunsetStatusReport): string {
  const nowMs = Date.parse(report.now);
  const target =
    report.target.kind === 'local'
      ? `local stack, DynamoDB ${report.target.dynamodbEndpoint}`
      : `stack ${report.target.stackName} in ${report.target.region}`;
  const next = report.next ? `${LABELS[report.next.key]} ${relativeTime(Date.parse(report.next.at), nowMs)}` : 'nothing scheduled';
  const lines = [`ebb sunset status (${target})`, '', `  phase        ${report.phase}`, `  next         ${next}`, '  schedule'];
  for (const key of DATE_KEYS) {
    const at = report.schedule[key];
    const when = at === null ? 'not set' : `${at}  ${relativeTime(Date.parse(at), nowMs)}`;
    lines.push(`    ${(LABELS[key] + ` (${key})`).padEnd(32)} ${when}`);
  }
  lines.push(
    `  message      ${report.message === null ? 'none' : JSON.stringify(report.message)}`,
    `  notice URL   ${report.noticeUrl ?? 'none'}`,
    `  connected    ${report.connected}`,
    `  registered   ${report.registered}`,
    `  config       ${report.configFile}`,
  );
  if (report.target.kind === 'stack') {
    lines.push('               read here, not from the deployed functions (that needs Lambda permissions): redeploy if they differ');
  }
  return lines.join('\n');
}

/** `2027-01-31T00:00:00Z`: the config's own form, without zero milliseconds. */
function iso(ms: number): string {
  return new Date(ms).toISOString().replace('.000Z', 'Z');
}
