import type { AttachmentRefWire } from '../../../protocol/attachment-ref';
import { type DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { ReportRecord, Reports } from '../../core/ports';
import { putIfAbsent } from './shared';

/** Verified reports by id. `create` is the route's; `get` and `list` (a Scan) are for operators only. */
export class DynamoReports implements Reports {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  async create(record: ReportRecord): Promise<{ created: boolean; record: ReportRecord }> {
    if (await putIfAbsent(this.db, this.table, toReportItem(record), 'reportId')) return { created: true, record };
    const stored = await this.get(record.reportId);
    if (!stored) throw new Error('reports: the report that refused the put is gone');
    return { created: false, record: stored };
  }

  async get(reportId: string): Promise<ReportRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { reportId }, ConsistentRead: true }));
    return out.Item ? fromReportItem(out.Item) : undefined;
  }

  /** One Scan page after `cursor` (a report id), at most `limit`; the order is the table's, not time. */
  async list(cursor: string | null, limit: number): Promise<{ reports: ReportRecord[]; cursor: string | null }> {
    const out = await this.db.send(
      new ScanCommand({
        TableName: this.table,
        Limit: limit,
        ConsistentRead: true,
        ExclusiveStartKey: cursor === null ? undefined : { reportId: cursor },
      }),
    );
    return { reports: (out.Items ?? []).map(fromReportItem), cursor: (out.LastEvaluatedKey?.reportId as string | undefined) ?? null };
  }
}

function toReportItem(r: ReportRecord): Record<string, unknown> {
  return {
    reportId: r.reportId,
    reporter: r.reporter.userId,
    reporterDevice: r.reporter.device,
    sender: r.sender.userId,
    senderDevice: r.sender.device,
    messageId: r.messageId,
    sentAt: r.sentAt,
    reportedAt: r.reportedAt,
    reason: r.reason,
    kind: r.kind,
    content: r.content,
    // As JSON: a report is read whole by operators, never queried by an attachment field.
    ...(r.attachments && { attachments: JSON.stringify(r.attachments) }),
  };
}

function fromReportItem(item: Record<string, unknown>): ReportRecord {
  return {
    reportId: item.reportId as string,
    reporter: { userId: item.reporter as string, device: Number(item.reporterDevice) },
    sender: { userId: item.sender as string, device: Number(item.senderDevice) },
    messageId: item.messageId as string,
    sentAt: Number(item.sentAt),
    reportedAt: Number(item.reportedAt),
    reason: item.reason as string,
    kind: item.kind === 'text' ? 'text' : 'bytes',
    content: item.content as string,
    ...(typeof item.attachments === 'string' && { attachments: JSON.parse(item.attachments) as AttachmentRefWire[] }),
  };
}
