import { startLocalStack, type LocalStack } from '../../local';
import { toBase64Url } from '../../protocol';
import { reportIdOf } from '../../lambdas/core/franking';
import type { ReportRecord } from '../../lambdas/core/ports';
import type { ReportDetail, ReportList } from '../../admin/reports';
import { makeIdentity, messageId } from '../support/identity';
import { runCli, runInProcess } from '../support/admin-cli';

const HOUR = 3_600_000;

/** What a hostile sender or reporter might put in a report: OSC retitle + BEL, clear screen, CR overwrite, 8-bit CSI, RTL override. */
const HOSTILE_REASON = 'spam\u001b]0;pwned\u0007\u001b[2J\rall fine\u009b31m\u202eevil';
const HOSTILE_TEXT = 'hello\u001b[31m red\nsecond line\r  report dismissed\u202egnp.exe\u0000';
const UNSAFE = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

describe('ebb-admin reports against a local stack', () => {
  let stack: LocalStack;
  const now = Date.now();
  const alice = makeIdentity().uid;
  const bob = makeIdentity().uid;
  const carol = makeIdentity().uid;
  const dave = makeIdentity().uid;
  const target = () => ['--dynamodb-endpoint', stack.dynamodbEndpoint];

  function report(reporter: string, sender: string, hoursAgo: number, fields: Partial<ReportRecord> = {}): ReportRecord {
    const id = messageId();
    return {
      reportId: reportIdOf({ userId: reporter, device: 1 }, sender, id),
      reporter: { userId: reporter, device: 1 },
      sender: { userId: sender, device: 2 },
      messageId: id,
      sentAt: now - hoursAgo * HOUR - 60_000,
      reportedAt: now - hoursAgo * HOUR,
      reason: 'unsolicited advertising',
      kind: 'text',
      content: 'buy now',
      ...fields,
    };
  }

  // Newest first: bobByCarol (1 h), hostile (2 h), bytes (3 h).
  const reports: Record<'bobByCarol' | 'hostile' | 'bytes', ReportRecord> = {} as never;

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0 });
    reports.bobByCarol = report(carol, bob, 1, { reason: 'x'.repeat(100), content: 'héllo' });
    reports.hostile = report(alice, bob, 2, { reason: HOSTILE_REASON, content: HOSTILE_TEXT });
    reports.bytes = report(carol, dave, 3, { kind: 'bytes', content: toBase64Url(new Uint8Array([0, 1, 2, 250, 255])) });
    for (const record of Object.values(reports)) expect((await stack.ports.reports.create(record)).created).toBe(true);
    // Bob has an account, suspended; Dave has none (deleted since).
    const account = { signingKey: 'sk', identityKey: 'ik', identitySig: 'is', devices: [1, 2], createdAt: now - 100 * HOUR };
    for (const userId of [alice, bob, carol]) await stack.ports.accounts.create({ userId, ...account });
    await stack.ports.accounts.suspend(bob, 'reported twice', now - 30 * 60_000);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  test('GIVEN three reports WHEN listed THEN one line each, newest first, without content, and the per-sender summary last', async () => {
    const run = await runInProcess('reports', 'list', ...target());
    expect([run.status, run.stderr]).toEqual([0, '']);
    const lines = run.stdout.split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(
      new RegExp(
        `^${reports.bobByCarol.reportId}  ${new Date(reports.bobByCarol.reportedAt).toISOString()} \\(1 hour ago\\)  sender ${bob} device 2  reporter ${carol} device 1  text 6 B  "x{39}…"$`,
      ),
    );
    expect(lines[1]).toMatch(
      new RegExp(
        `^${reports.hostile.reportId}  \\S+ \\(2 hours ago\\)  sender ${bob} device 2  reporter ${alice} device 1  text ${Buffer.byteLength(HOSTILE_TEXT)} B  "spam\\\\x1b`,
      ),
    );
    expect(lines[2]).toMatch(
      new RegExp(
        `^${reports.bytes.reportId}  \\S+ \\(3 hours ago\\)  sender ${dave} device 2  reporter ${carol} device 1  bytes 5 B  "unsolicited advertising"$`,
      ),
    );
    expect(lines[3]).toBe(`3 reports about 2 senders; most reported: ${bob} (2)`);
    for (const content of ['buy now', 'héllo', 'hello', reports.bytes.content]) expect(run.stdout).not.toContain(content);
  });

  test.each<[string, () => string, (keyof typeof reports)[], () => string]>([
    ['--sender', () => bob, ['bobByCarol', 'hostile'], () => `2 reports about 1 sender; most reported: ${bob} (2)`],
    ['--reporter', () => carol, ['bobByCarol', 'bytes'], () => '2 reports about 2 senders; no sender reported more than once'],
  ])('GIVEN %s WHEN listed THEN only the matching reports are shown and summed', async (flag, who, expected, summary) => {
    const run = await runInProcess('reports', 'list', flag, who(), ...target());
    expect(run.status).toBe(0);
    const lines = run.stdout.split('\n');
    expect(lines.slice(0, -1).map((line) => line.split('  ')[0])).toEqual(expected.map((key) => reports[key].reportId));
    expect(lines.at(-1)).toBe(summary());
  });

  test('GIVEN --limit 1 THEN only the newest is shown and the summary still counts every report', async () => {
    const run = await runInProcess('reports', 'list', '--limit', '1', ...target());
    expect(run.stdout.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${reports.bobByCarol.reportId} `)),
      '(the 1 newest of 3 shown)',
      `3 reports about 2 senders; most reported: ${bob} (2)`,
    ]);
  });

  test.each(['0', '-2', 'ten'])('GIVEN --limit %s THEN it is a usage error', async (limit) => {
    const run = await runInProcess('reports', 'list', '--limit', limit, ...target());
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ebb-admin: option '--limit <n>' argument '.*' is invalid\. must be a positive whole number$/);
  });

  test('GIVEN no report matches THEN it says "no reports" and exits 0', async () => {
    const run = await runInProcess('reports', 'list', '--sender', makeIdentity().uid, ...target());
    expect([run.status, run.stdout, run.stderr]).toEqual([0, 'no reports', '']);
    const json = await runInProcess('reports', 'list', '--sender', makeIdentity().uid, ...target(), '--json');
    expect(JSON.parse(json.stdout)).toEqual({ total: 0, reports: [], senders: [] });
  });

  test('GIVEN --json THEN every field but the content, times as ISO, sizes in bytes, and the per-sender counts', async () => {
    const run = await runInProcess('reports', 'list', ...target(), '--json');
    expect(run.status).toBe(0);
    const list = JSON.parse(run.stdout) as ReportList;
    expect(list.total).toBe(3);
    expect(list.senders).toEqual([
      { userId: bob, reports: 2 },
      { userId: dave, reports: 1 },
    ]);
    const { content: _content, ...rest } = reports.bytes;
    expect(list.reports[2]).toEqual({
      ...rest,
      sentAt: new Date(rest.sentAt).toISOString(),
      reportedAt: new Date(rest.reportedAt).toISOString(),
      size: 5,
    });
    expect(list.reports[1]!.reason).toBe(HOSTILE_REASON);
    for (const item of list.reports) expect(Object.keys(item)).not.toContain('content');
  });

  test('GIVEN a text report WHEN shown THEN everything, the content line by line, and the sender suspended', async () => {
    const r = reports.bobByCarol;
    const run = await runInProcess('reports', 'show', r.reportId, ...target());
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(run.stdout.split('\n')).toEqual([
      `report ${r.reportId}`,
      `  reported     ${new Date(r.reportedAt).toISOString()} (1 hour ago)`,
      `  reporter     ${carol} device 1`,
      `  sender       ${bob} device 2`,
      expect.stringMatching(/^ {2}sender now {3}SUSPENDED since \S+Z \(30 minutes( \d+ seconds?)? ago\): "reported twice"$/),
      `  message      ${r.messageId}, sent ${new Date(r.sentAt).toISOString()} (1 hour 1 minute ago)`,
      `  reason       "${'x'.repeat(100)}"`,
      '  content      text, 6 B, each line after "| "; control characters escaped',
      '  | héllo',
    ]);
  });

  test('GIVEN a bytes report whose sender has no account WHEN shown THEN base64url with a note, and the account said deleted', async () => {
    const run = await runInProcess('reports', 'show', reports.bytes.reportId, ...target());
    expect(run.status).toBe(0);
    expect(run.stdout).toContain('  sender now   account deleted\n');
    expect(run.stdout).toMatch(/ {2}content {6}bytes, 5 B, as base64url \(decode it to a file to inspect it\)\n {2}AAEC-v8$/);

    const json = JSON.parse((await runInProcess('reports', 'show', reports.bytes.reportId, ...target(), '--json')).stdout) as ReportDetail;
    expect(json).toMatchObject({
      reportId: reports.bytes.reportId,
      kind: 'bytes',
      size: 5,
      content: 'AAEC-v8',
      senderAccount: { status: 'deleted' },
    });
  });

  // Runs after the list tests, which count three reports.
  test("GIVEN --json WHEN an active sender's report is shown THEN the content and the account status are in it", async () => {
    const r = report(bob, alice, 0.5, { reason: 'threat', content: 'line 1\nline 2' });
    await stack.ports.reports.create(r);
    const json = JSON.parse((await runInProcess('reports', 'show', r.reportId, ...target(), '--json')).stdout) as ReportDetail;
    expect(json).toEqual({
      reportId: r.reportId,
      reporter: r.reporter,
      sender: r.sender,
      messageId: r.messageId,
      sentAt: new Date(r.sentAt).toISOString(),
      reportedAt: new Date(r.reportedAt).toISOString(),
      reason: 'threat',
      kind: 'text',
      size: 13,
      content: 'line 1\nline 2',
      senderAccount: { status: 'active' },
    });
    const text = await runInProcess('reports', 'show', r.reportId, ...target());
    expect(text.stdout).toMatch(/sender now {3}active \(not suspended\)\n[^]*\n {2}\| line 1\n {2}\| line 2$/);
  });

  test('GIVEN an unknown report id WHEN shown THEN it exits 1 with one line', async () => {
    const run = await runInProcess('reports', 'show', 'AAAAAAAAAAAAAAAAAAAAAA', ...target());
    expect([run.status, run.stdout, run.stderr]).toEqual([1, '', 'ebb-admin: no report AAAAAAAAAAAAAAAAAAAAAA']);
  });

  test('GIVEN control characters, 8-bit CSI and bidi overrides in reason and content THEN no output sends one to the terminal', async () => {
    const id = reports.hostile.reportId;
    const outputs = await Promise.all([
      runCli(['reports', 'list', ...target()]),
      runCli(['reports', 'list', ...target(), '--json']),
      runCli(['reports', 'show', id, ...target()]),
      runCli(['reports', 'show', id, ...target(), '--json']),
    ]);
    for (const run of outputs) {
      expect(run.status).toBe(0);
      expect(run.stdout).not.toMatch(UNSAFE);
    }
    const [list, listJson, show, showJson] = outputs.map((run) => run.stdout);
    const shownReason = '"spam\\x1b]0;pwned\\x07\\x1b[2J\\rall fine\\x9b31m\\u202eevil"';
    expect(list).toContain(`  ${shownReason}\n`);
    expect(show).toContain(`  reason       ${shownReason}\n`);
    // The content keeps its line breaks, each line behind the bar; everything else is shown escaped.
    expect(show).toMatch(/\n {2}\| hello\\x1b\[31m red\n {2}\| second line\\r {2}report dismissed\\u202egnp\.exe\\x00\n$/);
    // JSON stays JSON, and reads back to the very text reported.
    expect((JSON.parse(listJson!) as ReportList).reports.find((r) => r.reportId === id)!.reason).toBe(HOSTILE_REASON);
    expect((JSON.parse(showJson!) as ReportDetail).content).toBe(HOSTILE_TEXT);
  });
});
