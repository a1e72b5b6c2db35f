import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startLocalStack, type LocalStack } from '../../local';
import { DEFAULT_CONFIG, type SunsetConfig } from '../../protocol/config';
import type { SunsetStatusReport } from '../../admin/sunset';
import { connectUrl, makeIdentity, registerFrame } from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { closeServer, fakeCloudFormation, runCli, serverUrl } from '../support/admin-cli';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Whole seconds, as an operator writes them: `2027-01-31T00:00:00Z`. */
const isoAt = (ms: number) => new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');

describe('ebb-admin sunset status against a local stack', () => {
  const started = Date.now();
  const sunset: SunsetConfig = {
    signupsCloseAt: isoAt(started + 1 * DAY),
    readOnlyAt: isoAt(started + 3 * DAY),
    shutdownAt: isoAt(started + 10 * DAY),
    purgeAt: isoAt(started + 40 * DAY),
    message: 'ebb.example closes for good; export your account from the app.',
    noticeUrl: 'https://ebb.example/sunset',
  };
  let dir: string;
  let stack: LocalStack;
  const sockets: RawSocket[] = [];

  /** A config file as cdk.json holds it, `context.ebb`. */
  function writeConfig(name: string, dates: Partial<SunsetConfig>): string {
    const file = path.join(dir, name);
    writeFileSync(file, JSON.stringify({ app: 'npx tsx infra/app.ts', context: { ebb: { ...DEFAULT_CONFIG, sunset: { ...sunset, ...dates } } } }));
    return file;
  }

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ebb-admin-'));
    stack = await startLocalStack({ port: 0, config: { sunset } });
    // Alice registers; Bob only connects, so the two counts differ.
    const alice = makeIdentity();
    sockets.push(await RawSocket.open(connectUrl(stack.url, alice)));
    expect(await sockets[0]!.request(registerFrame(alice))).toMatchObject({ type: 'result', created: true });
    sockets.push(await RawSocket.open(connectUrl(stack.url, makeIdentity())));
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN a future schedule WHEN run with --json THEN it prints the open phase, every date, the notice and the counts', async () => {
    const config = writeConfig('cdk.json', {});
    const run = await runCli(['sunset', 'status', '--dynamodb-endpoint', stack.dynamodbEndpoint, '--config', config, '--json']);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const report = JSON.parse(run.stdout) as SunsetStatusReport;
    expect(report).toMatchObject({
      target: { kind: 'local', dynamodbEndpoint: stack.dynamodbEndpoint },
      configFile: config,
      phase: 'open',
      schedule: { signupsCloseAt: sunset.signupsCloseAt, readOnlyAt: sunset.readOnlyAt, shutdownAt: sunset.shutdownAt, purgeAt: sunset.purgeAt },
      next: { key: 'signupsCloseAt', at: sunset.signupsCloseAt },
      message: sunset.message,
      noticeUrl: sunset.noticeUrl,
      connected: 2,
      registered: 1,
    });
    expect(Math.abs(Date.parse(report.now) - Date.now())).toBeLessThan(60_000);
  });

  test('GIVEN signups closed an hour ago WHEN run for people THEN it shows the phase and each date relative to now', async () => {
    const config = writeConfig('closed.json', { signupsCloseAt: isoAt(Date.now() - HOUR - 30_000) });
    const run = await runCli(['sunset', 'status', '--dynamodb-endpoint', stack.dynamodbEndpoint, '--config', config]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(run.stdout).toMatch(/phase\s+signups-closed\n\s+next\s+read-only in 2 days 23 hours\n/);
    expect(run.stdout).toMatch(/signups close \(signupsCloseAt\)\s+\S+Z\s+1 hour ago/);
    expect(run.stdout).toMatch(/read-only \(readOnlyAt\)\s+\S+Z\s+in 2 days 23 hours/);
    expect(run.stdout).toMatch(/purge \(purgeAt\)\s+\S+Z\s+in 39 days 23 hours/);
    expect(run.stdout).toContain(`notice URL   ${sunset.noticeUrl}`);
    expect(run.stdout).toMatch(/connected\s+2\n/);
    expect(run.stdout).toMatch(/registered\s+1\n/);
  });

  test('GIVEN --stack THEN table names come from the stack outputs and the counts from its tables, with the usual AWS chain', async () => {
    const cloudformation = await fakeCloudFormation(stack.tables);
    try {
      const env = {
        // The SDK's service-specific endpoint variables stand in for AWS: CloudFormation faked, DynamoDB the local stack's.
        AWS_ENDPOINT_URL_CLOUDFORMATION: serverUrl(cloudformation),
        AWS_ENDPOINT_URL_DYNAMODB: stack.dynamodbEndpoint,
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
        AWS_REGION: 'eu-west-1',
      };
      const config = writeConfig('cdk.json', {});
      const found = await runCli(['sunset', 'status', '--stack', 'Ebb', '--config', config, '--json'], env);
      expect(found.stderr).toBe('');
      expect(JSON.parse(found.stdout)).toMatchObject({
        target: { kind: 'stack', stackName: 'Ebb', region: 'eu-west-1' },
        phase: 'open',
        connected: 2,
        registered: 1,
      });
      const missing = await runCli(['sunset', 'status', '--stack', 'Nope', '--config', config], env);
      expect([missing.status, missing.stderr]).toEqual([1, 'ebb-admin: stack Nope does not exist in eu-west-1\n']);
    } finally {
      await closeServer(cloudformation);
    }
  });

  test('GIVEN a config with dates out of order WHEN run THEN it exits 1 with one line naming the key', async () => {
    const config = writeConfig('bad.json', { readOnlyAt: isoAt(started - DAY) });
    const run = await runCli(['sunset', 'status', '--dynamodb-endpoint', stack.dynamodbEndpoint, '--config', config, '--json']);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('ebb.sunset.readOnlyAt: must not be before signupsCloseAt');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
  });
});
