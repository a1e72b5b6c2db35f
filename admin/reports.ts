import { InvalidArgumentError, type Command } from 'commander';
import { DynamoAccounts, DynamoReports, documentClient } from '../lambdas/adapters/dynamodb';
import type { DeviceAddress, ReportRecord } from '../lambdas/core/ports';
import { fromBase64Url, type ContentKind } from '../protocol';
import { AdminError } from './errors';
import type { Io } from './io';
import { printable, printableJson, printableLines, truncate } from '../shared/printable';
import { relativeTime } from '../shared/relative-time';
import { saveAttachments, type SavedAttachment } from './attachments';
import { addTargetOptions, openTarget, type Target, type TargetOptions } from './target';

/** Reports read per Scan page. */
const SCAN_PAGE = 500;
const REASON_CHARS = 40;

/** A report as `reports list` gives it: everything but the content, whose kind and size it keeps. */
export interface ReportSummary {
  readonly reportId: string;
  readonly reportedAt: string;
  readonly sender: DeviceAddress;
  readonly reporter: DeviceAddress;
  readonly messageId: string;
  readonly sentAt: string;
  readonly reason: string;
  readonly kind: ContentKind;
  /** Bytes of the content: UTF-8 for text. */
  readonly size: number;
}

/** `ebb-admin reports list --json`. */
export interface ReportList {
  /** Reports that pass the filters, before `--limit`. */
  readonly total: number;
  /** The newest `--limit` of them, newest first. */
  readonly reports: ReportSummary[];
  /** Reports per sender user id over all `total`, most reported first. */
  readonly senders: { readonly userId: string; readonly reports: number }[];
}

/** Where the sender's account stands now. */
export type SenderAccount =
  { readonly status: 'active' } | { readonly status: 'suspended'; readonly at: string; readonly reason: string } | { readonly status: 'deleted' };

/** `ebb-admin reports show --json`: the whole report with its content. */
export interface ReportDetail extends ReportSummary {
  /** The text as sent, or the bytes as base64url. */
  readonly content: string;
  readonly senderAccount: SenderAccount;
  /** The reported message's attachments, without their keys and digests; absent when it had none. */
  readonly attachments?: readonly { readonly id: string; readonly name: string; readonly type: string; readonly size: number }[];
  /** With `--save-attachments`: what became of each. */
  readonly saved?: readonly SavedAttachment[];
}

interface ListOptions extends TargetOptions {
  readonly sender?: string;
  readonly reporter?: string;
  readonly limit?: number;
  readonly json?: boolean;
}

interface ShowOptions extends TargetOptions {
  readonly json?: boolean;
  /** Directory to fetch, verify and write the reported message's attachments into. */
  readonly saveAttachments?: string;
}

/** `ebb-admin reports …`: verified abuse reports, listed without their content and shown one at a time with it. */
export function registerReportCommands(program: Command, io: Io): void {
  const reports = program.command('reports').description('verified abuse reports: list them, show one with its content');
  addTargetOptions(
    reports
      .command('list')
      .description('every report, newest first, without content; ends with the reports per sender')
      .addHelpText('after', '\nThe reported content is never listed: read it one report at a time with `reports show <reportId>`.'),
  )
    .option('--sender <userId>', 'only reports about this user')
    .option('--reporter <userId>', 'only reports made by this user')
    .option('--limit <n>', 'show only the n newest (the summary still counts every match)', positiveInteger)
    .option('--json', 'machine-readable output (no content)')
    .action(async (options: ListOptions) => {
      const list = await listReports(options);
      io.out(options.json ? printableJson(list) : renderList(list, Date.now()));
    });
  addTargetOptions(
    reports
      .command('show <reportId>')
      .description('one report in full: the reported content, who reported whom and why, and whether the sender is suspended')
      .addHelpText('after', '\nControl characters in the reason and content are shown escaped (\\x1b, \\u202e), never sent to the terminal.'),
  )
    .option('--json', 'machine-readable output, content included')
    .option(
      '--save-attachments <dir>',
      "fetch the message's attachments, open them with the reported keys, check them against the committed digests and write them into <dir> (with --s3-endpoint for a local stack)",
    )
    .action(async (reportId: string, options: ShowOptions) => {
      const report = await showReport(reportId, options);
      io.out(options.json ? printableJson(report) : renderDetail(report, Date.now()));
      const failed = (report.saved ?? []).filter((a) => a.status !== 'saved');
      if (failed.length > 0) {
        throw new AdminError(`${plural(failed.length, 'attachment')} not saved: ${failed.map((a) => `${quoted(a.name)} ${a.status}`).join(', ')}`);
      }
    });
}

/**
 * Scans the whole reports table (reports are few and kept until purge), filters, and sorts newest first.
 * @throws AdminError for a bad target.
 */
export async function listReports(options: ListOptions): Promise<ReportList> {
  const target = await openTarget(options);
  let records: ReportRecord[];
  try {
    records = await allReports(target);
  } finally {
    target.close();
  }
  const matching = records
    .filter(
      (r) =>
        (options.sender === undefined || r.sender.userId === options.sender) &&
        (options.reporter === undefined || r.reporter.userId === options.reporter),
    )
    .sort((a, b) => b.reportedAt - a.reportedAt || a.reportId.localeCompare(b.reportId));
  const perSender = new Map<string, number>();
  for (const r of matching) perSender.set(r.sender.userId, (perSender.get(r.sender.userId) ?? 0) + 1);
  return {
    total: matching.length,
    reports: matching.slice(0, options.limit ?? matching.length).map(summary),
    senders: [...perSender]
      .map(([userId, reports]) => ({ userId, reports }))
      .sort((a, b) => b.reports - a.reports || a.userId.localeCompare(b.userId)),
  };
}

/**
 * One report with its content, and the sender's account as it is now.
 * @throws AdminError when there is no report `reportId`, or for a bad target.
 */
export async function showReport(reportId: string, options: ShowOptions): Promise<ReportDetail> {
  const target = await openTarget(options);
  try {
    if (options.saveAttachments !== undefined && !target.attachments) {
      throw new AdminError('--save-attachments needs the attachments bucket: give --s3-endpoint URL with a local stack');
    }
    const db = documentClient(target.dynamodb);
    const record = await new DynamoReports(db, target.tables.reports).get(reportId);
    if (!record) throw new AdminError(`no report ${printable(reportId)}`);
    const account = await new DynamoAccounts(db, target.tables.accounts).get(record.sender.userId);
    const senderAccount: SenderAccount = !account
      ? { status: 'deleted' }
      : account.suspended
        ? { status: 'suspended', at: new Date(account.suspended.at).toISOString(), reason: account.suspended.reason }
        : { status: 'active' };
    const refs = record.attachments ?? [];
    const saved = options.saveAttachments !== undefined ? await saveAttachments(target.attachments!, refs, options.saveAttachments) : undefined;
    return {
      ...summary(record),
      content: record.content,
      senderAccount,
      ...(refs.length > 0 && { attachments: refs.map((a) => ({ id: a.id, name: a.name, type: a.type, size: a.size })) }),
      ...(saved && { saved }),
    };
  } finally {
    target.close();
  }
}

async function allReports(target: Target): Promise<ReportRecord[]> {
  const reports = new DynamoReports(documentClient(target.dynamodb), target.tables.reports);
  const all: ReportRecord[] = [];
  let cursor: string | null = null;
  do {
    const page: Awaited<ReturnType<DynamoReports['list']>> = await reports.list(cursor, SCAN_PAGE);
    all.push(...page.reports);
    cursor = page.cursor;
  } while (cursor !== null);
  return all;
}

function summary(r: ReportRecord): ReportSummary {
  return {
    reportId: r.reportId,
    reportedAt: new Date(r.reportedAt).toISOString(),
    sender: r.sender,
    reporter: r.reporter,
    messageId: r.messageId,
    sentAt: new Date(r.sentAt).toISOString(),
    reason: r.reason,
    kind: r.kind,
    size: r.kind === 'text' ? Buffer.byteLength(r.content, 'utf8') : fromBase64Url(r.content).length,
  };
}

export function renderList(list: ReportList, nowMs: number): string {
  if (list.total === 0) return 'no reports';
  const lines = list.reports.map((r) =>
    [
      printable(r.reportId),
      `${r.reportedAt} (${relativeTime(Date.parse(r.reportedAt), nowMs)})`,
      `sender ${device(r.sender)}`,
      `reporter ${device(r.reporter)}`,
      `${r.kind} ${r.size} B`,
      quoted(truncate(r.reason, REASON_CHARS)),
    ].join('  '),
  );
  if (list.reports.length < list.total) lines.push(`(the ${list.reports.length} newest of ${list.total} shown)`);
  const [top] = list.senders;
  const most = top && top.reports > 1 ? `most reported: ${printable(top.userId)} (${top.reports})` : 'no sender reported more than once';
  lines.push(`${plural(list.total, 'report')} about ${plural(list.senders.length, 'sender')}; ${most}`);
  return lines.join('\n');
}

export function renderDetail(r: ReportDetail, nowMs: number): string {
  const at = (iso: string) => `${iso} (${relativeTime(Date.parse(iso), nowMs)})`;
  const account = r.senderAccount;
  const standing =
    account.status === 'suspended'
      ? `SUSPENDED since ${at(account.at)}: ${quoted(account.reason)}`
      : account.status === 'deleted'
        ? 'account deleted'
        : 'active (not suspended)';
  const lines = [
    `report ${printable(r.reportId)}`,
    `  reported     ${at(r.reportedAt)}`,
    `  reporter     ${device(r.reporter)}`,
    `  sender       ${device(r.sender)}`,
    `  sender now   ${standing}`,
    `  message      ${printable(r.messageId)}, sent ${at(r.sentAt)}`,
    `  reason       ${quoted(r.reason)}`,
  ];
  if (r.kind === 'text') {
    // Each line behind a bar, so no line of the content can pass for a line of ours.
    lines.push(
      `  content      text, ${r.size} B, each line after "| "; control characters escaped`,
      ...printableLines(r.content).map((line) => `  | ${line}`),
    );
  } else {
    lines.push(`  content      bytes, ${r.size} B, as base64url (decode it to a file to inspect it)`, `  ${printable(r.content)}`);
  }
  for (const [i, a] of (r.attachments ?? []).entries()) {
    const outcome = r.saved?.[i];
    const fate = !outcome
      ? '(--save-attachments DIR fetches and checks it)'
      : outcome.status === 'saved'
        ? `verified, saved as ${printable(outcome.file ?? '')}`
        : outcome.status === 'missing'
          ? 'NOT SAVED: no longer stored (expired or purged)'
          : 'NOT SAVED: the stored object does not match what the sender committed to';
    lines.push(`  attachment   ${i + 1}. ${quoted(a.name)}, ${printable(a.type)}, ${a.size} B: ${fate}`);
  }
  return lines.join('\n');
}

function device(address: DeviceAddress): string {
  return `${printable(address.userId)} device ${address.device}`;
}

/** User-supplied text in quotes, escaped; a quote inside is left as is (the escapes, not the quotes, are what keep the terminal safe). */
function quoted(text: string): string {
  return `"${printable(text)}"`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function positiveInteger(value: string): number {
  if (!/^[1-9][0-9]{0,8}$/.test(value)) throw new InvalidArgumentError('must be a positive whole number');
  return Number(value);
}
