import { DynamoReports } from '../../lambdas/adapters/dynamodb';
import { MemoryReports } from '../../lambdas/adapters/memory';
import type { ReportRecord, Reports } from '../../lambdas/core/ports';
import { T0, freshMessageId, freshUserId, useDynalite } from './backends';

/** The Reports contract (lambdas/core/ports.ts), run against the memory and the DynamoDB adapter. */
function reportsContract(make: () => Promise<Reports>): void {
  let reports: Reports;
  beforeEach(async () => {
    reports = await make();
  });

  const report = (over: Partial<ReportRecord> = {}): ReportRecord => ({
    reportId: freshMessageId(),
    reporter: { userId: freshUserId(), device: 1 },
    sender: { userId: freshUserId(), device: 3 },
    messageId: freshMessageId(),
    sentAt: T0,
    reportedAt: T0 + 60_000,
    reason: 'spam',
    kind: 'text',
    content: 'buy now',
    ...over,
  });

  it('stores a new report with every field, and keeps the first under its id', async () => {
    const first = report({ kind: 'bytes', content: 'AAEC' });
    expect(await reports.create(first)).toEqual({ created: true, record: first });
    const again = report({ reportId: first.reportId, reason: 'other', content: 'different' });
    expect(await reports.create(again)).toEqual({ created: false, record: first });
  });

  it('creates exactly one of many concurrent reports with one id, and all of them see that one', async () => {
    const reportId = freshMessageId();
    const results = await Promise.all(Array.from({ length: 6 }, (_, i) => reports.create(report({ reportId, reason: `r${i}` }))));
    const made = results.filter((r) => r.created);
    expect(made).toHaveLength(1);
    for (const r of results) expect(r.record).toEqual(made[0]!.record);
  });
}

describe('MemoryReports', () => reportsContract(async () => new MemoryReports()));

describe('DynamoReports on dynalite', () => {
  const dynamo = useDynalite();
  reportsContract(async () => {
    const { db, names } = await dynamo.fresh();
    return new DynamoReports(db, names.reports);
  });
});
