import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { Command } from 'commander';
import { DynamoAccounts, DynamoConnections, documentClient } from '../lambdas/adapters/dynamodb';
import { silentLogger } from '../lambdas/adapters/logger';
import { GatewayNotifier } from '../lambdas/adapters/notifier';
import { AdminError } from './errors';
import type { Io } from './io';
import { addTargetOptions, LOCAL_SIGNING, openTarget, type Target, type TargetDescription, type TargetOptions } from './target';

/** `ebb-admin suspend --json`. */
export interface SuspendReport {
  readonly userId: string;
  readonly suspended: true;
  readonly reason: string;
  readonly at: string;
  readonly target: TargetDescription;
  /** Connections closed and their records deleted; null when no management API was known to close them. */
  readonly connectionsClosed: number | null;
}

/** `ebb-admin unsuspend --json`. */
export interface UnsuspendReport {
  readonly userId: string;
  readonly suspended: false;
  readonly target: TargetDescription;
}

interface SuspendOptions extends TargetOptions {
  readonly reason: string;
  readonly callbackUrl?: string;
  readonly json?: boolean;
}

interface UnsuspendOptions extends TargetOptions {
  readonly json?: boolean;
}

/** `ebb-admin suspend` and `unsuspend`: an operator stops an account from acting, and lets it act again. */
export function registerSuspensionCommands(program: Command, io: Io): void {
  addTargetOptions(
    program
      .command('suspend <userId>')
      .description('refuse every action of an account but status (ACCOUNT_SUSPENDED) and close its live connections'),
  )
    .requiredOption('--reason <text>', 'why, for operators; the user is never told')
    .option(
      '--callback-url <url>',
      'management API of the stage, to close connections (local: http://127.0.0.1:PORT/local; --stack: its CallbackUrl output)',
    )
    .option('--json', 'machine-readable output')
    .action(async (userId: string, options: SuspendOptions) => {
      const report = await suspend(userId, options, Date.now());
      io.out(options.json ? JSON.stringify(report, null, 2) : renderSuspend(report));
      if (!options.json && report.connectionsClosed === null)
        io.err('ebb-admin: live connections left open (each action is refused): pass --callback-url to close them');
    });
  addTargetOptions(program.command('unsuspend <userId>').description('lift a suspension'))
    .option('--json', 'machine-readable output')
    .action(async (userId: string, options: UnsuspendOptions) => {
      const report = await unsuspend(userId, options);
      io.out(options.json ? JSON.stringify(report, null, 2) : `account ${report.userId} is no longer suspended`);
    });
}

/**
 * Marks the account suspended (a conditional update: it must exist), then closes each of its connections
 * through the management API and deletes their records. A reconnect is accepted (ARCH §4.4: policy is
 * never decided at connect) and each action then answers ACCOUNT_SUSPENDED.
 * @throws AdminError when there is no such account, or the callback URL is not a URL.
 */
export async function suspend(userId: string, options: SuspendOptions, nowMs: number): Promise<SuspendReport> {
  const reason = options.reason.trim();
  if (reason === '') throw new AdminError('--reason: must not be empty');
  const target = await openTarget(options);
  try {
    const callbackUrl = options.callbackUrl === undefined ? target.callbackUrl : managementEndpoint(options.callbackUrl);
    const db = documentClient(target.dynamodb);
    if (!(await new DynamoAccounts(db, target.tables.accounts).suspend(userId, reason, nowMs))) throw new AdminError(`no account ${userId}`);
    const connectionsClosed = callbackUrl === undefined ? null : await closeConnections(target, db, userId, callbackUrl);
    return { userId, suspended: true, reason, at: new Date(nowMs).toISOString(), target: target.description, connectionsClosed };
  } finally {
    target.close();
  }
}

/** @throws AdminError when there is no such account. */
export async function unsuspend(userId: string, options: UnsuspendOptions): Promise<UnsuspendReport> {
  const target = await openTarget(options);
  try {
    const accounts = new DynamoAccounts(documentClient(target.dynamodb), target.tables.accounts);
    if (!(await accounts.unsuspend(userId))) throw new AdminError(`no account ${userId}`);
    return { userId, suspended: false, target: target.description };
  } finally {
    target.close();
  }
}

/** One Query on the user's partition, expired records included; a connection already gone only loses its record. */
async function closeConnections(target: Target, db: ReturnType<typeof documentClient>, userId: string, callbackUrl: string): Promise<number> {
  const signing = target.description.kind === 'local' ? LOCAL_SIGNING : { region: target.description.region };
  const management = new ApiGatewayManagementApiClient({ endpoint: callbackUrl, ...signing, maxAttempts: 2 });
  try {
    const notifier = new GatewayNotifier(management, silentLogger);
    const connections = new DynamoConnections(db, target.tables.connections);
    const records = await connections.ofUser(userId, 0);
    await Promise.all(
      records.map(async ({ connectionId }) => {
        await notifier.disconnect(connectionId);
        await connections.remove(userId, connectionId);
      }),
    );
    return records.length;
  } finally {
    management.destroy();
  }
}

/** The stage URL the management client wants; what the local stack prints, `…/local/@connections`, is accepted too. */
function managementEndpoint(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new AdminError(`--callback-url: not a URL: ${url}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new AdminError(`--callback-url: must be http(s)://…, got ${url}`);
  return url.replace(/\/?(@connections)?\/?$/, '');
}

function renderSuspend(report: SuspendReport): string {
  const closed = report.connectionsClosed === null ? 'no connections closed' : `${report.connectionsClosed} connection(s) closed`;
  return `account ${report.userId} suspended at ${report.at} (${JSON.stringify(report.reason)}); ${closed}`;
}
