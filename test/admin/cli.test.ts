import { dashedIdsAsOperands } from '../../admin/cli';
import { relativeTime } from '../../shared/relative-time';
import { tableNamesFromOutputs } from '../../admin/target';
import { localTableNames } from '../../lambdas/adapters/table-definitions';
import { runInProcess } from '../support/admin-cli';

const run = runInProcess;

describe('ebb-admin', () => {
  test.each<[string, string[], RegExp]>([
    ['no target', ['sunset', 'status'], /^ebb-admin: say which deployment: --dynamodb-endpoint URL \(local stack\) or --stack NAME/],
    ['both targets', ['sunset', 'status', '--stack', 'Ebb', '--dynamodb-endpoint', 'http://127.0.0.1:1'], /cannot be used with option '--stack/],
    [
      'an endpoint that is not a URL',
      ['sunset', 'status', '--dynamodb-endpoint', 'localhost'],
      /^ebb-admin: --dynamodb-endpoint: not a URL: localhost$/,
    ],
    [
      'a missing config file',
      ['sunset', 'status', '--dynamodb-endpoint', 'http://127.0.0.1:1', '--config', 'nope.json'],
      /^ebb-admin: cannot read config nope.json: no such file$/,
    ],
    ['an unknown command', ['sunrise'], /unknown command 'sunrise'/],
  ])('GIVEN %s WHEN run THEN it exits 1 with a one-line reason and no stack trace', async (_label, args, message) => {
    const result = await run(...args);
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  test('GIVEN --help THEN it lists the sunset group and exits 0', async () => {
    const result = await run('--help');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/sunset\s+the scheduled end of the service/);
  });

  test("GIVEN an ebb stack's outputs THEN the table names come from them; GIVEN another stack THEN the missing output is named", () => {
    const names = localTableNames('deployed');
    const outputs = [
      { OutputKey: 'AccountsTableName', OutputValue: names.accounts },
      { OutputKey: 'PrekeysTableName', OutputValue: names.prekeys },
      { OutputKey: 'ConnectionsTableName', OutputValue: names.connections },
      { OutputKey: 'CiphertextQueueTableName', OutputValue: names.queue },
      { OutputKey: 'UsernamesTableName', OutputValue: names.usernames },
      { OutputKey: 'ConnectNoncesTableName', OutputValue: names.nonces },
      { OutputKey: 'RateLimitsTableName', OutputValue: names.rateLimits },
      { OutputKey: 'ReportsTableName', OutputValue: names.reports },
      { OutputKey: 'PushTokensTableName', OutputValue: names.pushTokens },
      { OutputKey: 'WebSocketUrl', OutputValue: 'wss://example/prod' },
    ];
    expect(tableNamesFromOutputs('Ebb', outputs)).toEqual(names);
    expect(() => tableNamesFromOutputs('Other', outputs.slice(1))).toThrow('stack Other has no output AccountsTableName');
  });

  test.each<[number, string]>([
    [3 * 86_400_000, 'in 3 days'],
    [3 * 86_400_000 + 4 * 3_600_000 + 59_000, 'in 3 days 4 hours'],
    [-(2 * 3_600_000 + 5 * 60_000), '2 hours 5 minutes ago'],
    [86_400_000 + 30_000, 'in 1 day'],
    [40_000, 'in 40 seconds'],
    [-400, 'now'],
  ])('GIVEN a date %i ms from now THEN it reads "%s"', (delta, text) => {
    const now = Date.parse('2027-01-01T00:00:00Z');
    expect(relativeTime(now + delta, now)).toBe(text);
  });
});

describe('ids that begin with a dash', () => {
  const id = '-cyQU0aBcDeFgHiJkLmNoPqRsTuVwXyZ';
  it('are read as operands, while option values stay put', () => {
    expect(dashedIdsAsOperands(['node', 'ebb-admin', 'suspend', id, '--reason', 'spam'])).toEqual([
      'node',
      'ebb-admin',
      'suspend',
      '--reason',
      'spam',
      '--',
      id,
    ]);
    expect(dashedIdsAsOperands(['node', 'ebb-admin', 'reports', 'list', '--sender', id, '--json'])).toEqual([
      'node',
      'ebb-admin',
      'reports',
      'list',
      '--sender',
      id,
      '--json',
    ]);
    expect(dashedIdsAsOperands(['node', 'ebb-admin', 'unsuspend', id, '--json'])).toEqual(['node', 'ebb-admin', 'unsuspend', '--json', '--', id]);
    expect(dashedIdsAsOperands(['node', 'ebb-admin', 'stats', '--json'])).toEqual(['node', 'ebb-admin', 'stats', '--json']);
  });

  it('reach the command: an unknown dashed user id is reported as unknown, not as an unknown option', async () => {
    const run = await runInProcess('unsuspend', id, '--dynamodb-endpoint', 'http://127.0.0.1:9');
    expect(run.stderr).not.toMatch(/unknown option/);
  });
});
