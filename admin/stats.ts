import type { Command } from 'commander';
import { phaseAt, scheduleFromConfig, type Phase } from '../protocol/sunset';
import { loadConfig } from './config';
import { countConnected, countItems, countObjects, countQueued, countRegistered, countSuspended } from './counts';
import type { Io } from './io';
import { addTargetOptions, openTarget, type TargetOptions } from './target';

/** `ebb-admin stats --json`: one flat object. */
export interface Stats {
  readonly now: string;
  readonly phase: Phase;
  readonly accounts: number;
  readonly suspended: number;
  readonly usernames: number;
  /** Connection records not yet expired. */
  readonly connected: number;
  /** Messages waiting in queues, unexpired. */
  readonly queuedMessages: number;
  /** Send-dedup markers, unexpired: one per message queued for a device in the retention period, delivered or not. */
  readonly sendMarkers: number;
  readonly reports: number;
  /** Objects in the attachments bucket and their bytes; absent when the target does not name the bucket. */
  readonly attachmentObjects?: number;
  readonly attachmentBytes?: number;
}

interface StatsOptions extends TargetOptions {
  readonly config: string;
  readonly json?: boolean;
}

/** `ebb-admin stats`: how much the deployment holds now. */
export function registerStatsCommand(program: Command, io: Io): void {
  addTargetOptions(
    program
      .command('stats')
      .description(
        'counts: accounts (suspended), usernames, live connections, queued messages and send markers, reports, attachment objects and bytes; and the phase',
      )
      .addHelpText(
        'after',
        '\nEach count is a paged Scan (Select: COUNT) of one table, and attachments a listing of the bucket: fine now and then, not in a loop.\nLocally, attachments are counted when --s3-endpoint is given.',
      ),
  )
    .option('--config <file>', 'cdk.json (its context.ebb) or a JSON file holding the ebb object, for the phase', 'cdk.json')
    .option('--json', 'machine-readable output: one flat object')
    .action(async (options: StatsOptions) => {
      const stats = await collectStats(options, Date.now());
      io.out(options.json ? JSON.stringify(stats, null, 2) : renderStats(stats));
    });
}

/**
 * The phase from the config (as `sunset status` reads it) and every count at the target, expired items left out.
 * @throws AdminError for a bad config, target or table.
 */
export async function collectStats(options: StatsOptions, nowMs: number): Promise<Stats> {
  const { config } = loadConfig(options.config);
  const target = await openTarget(options);
  try {
    const [accounts, suspended, usernames, connected, queue, reports, objects] = await Promise.all([
      countRegistered(target),
      countSuspended(target),
      countItems(target, 'usernames'),
      countConnected(target, nowMs),
      countQueued(target, nowMs),
      countItems(target, 'reports'),
      target.attachments ? countObjects(target.attachments) : undefined,
    ]);
    return {
      now: new Date(nowMs).toISOString(),
      phase: phaseAt(scheduleFromConfig(config.sunset), nowMs),
      accounts,
      suspended,
      usernames,
      connected,
      queuedMessages: queue.messages,
      sendMarkers: queue.markers,
      reports,
      ...(objects && { attachmentObjects: objects.objects, attachmentBytes: objects.bytes }),
    };
  } finally {
    target.close();
  }
}

export function renderStats(stats: Stats): string {
  return [
    `ebb stats at ${stats.now}`,
    `  phase            ${stats.phase}`,
    `  accounts         ${stats.accounts} (${stats.suspended} suspended)`,
    `  usernames        ${stats.usernames}`,
    `  connected        ${stats.connected}`,
    `  queued messages  ${stats.queuedMessages}`,
    `  send markers     ${stats.sendMarkers}`,
    `  reports          ${stats.reports}`,
    ...(stats.attachmentObjects === undefined ? [] : [`  attachments      ${stats.attachmentObjects} (${stats.attachmentBytes} bytes)`]),
  ].join('\n');
}
