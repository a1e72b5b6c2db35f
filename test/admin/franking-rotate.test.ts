import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { parseKeyring, serializeKeyring } from '../../lambdas/adapters/franking-keys';
import { localTableNames } from '../../lambdas/adapters/table-definitions';
import { DEFAULT_CONFIG } from '../../protocol/config';
import type { RotateReport } from '../../admin/franking';
import { closeServer, fakeCloudFormation, fakeSecretsManager, runCli, runInProcess, serverUrl, type SecretsCall } from '../support/admin-cli';

const DAY = 86_400_000;
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:EbbFrankingKeyring-AbCdEf';
const OTHER_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:NotAKeyring-AbCdEf';
const secret = (c: string) => c.repeat(43);

describe('ebb-admin franking rotate against a (faked) deployed stack', () => {
  const now = Date.now();
  // k3 current; k2 retired 10 days ago (still accepted); k1 retired 40 days ago (past the 30-day retention).
  const keyring = () =>
    serializeKeyring({
      current: 'k3',
      keys: new Map([
        ['k1', secret('a')],
        ['k2', secret('b')],
        ['k3', secret('c')],
      ]),
      retired: new Map([
        ['k1', now - 40 * DAY],
        ['k2', now - 10 * DAY],
      ]),
    });
  const secrets = new Map<string, string>();
  let calls: SecretsCall[];
  let secretsManager: Server;
  let cloudformation: Server;
  let dir: string;
  let config: string;
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ebb-admin-franking-'));
    config = path.join(dir, 'cdk.json');
    writeFileSync(config, JSON.stringify({ context: { ebb: { ...DEFAULT_CONFIG, retentionDays: 30 } } }));
    ({ server: secretsManager, calls } = await fakeSecretsManager(secrets));
    cloudformation = await fakeCloudFormation(localTableNames('deployed'), { FrankingSecretArn: SECRET_ARN });
    env = {
      // The SDK's service-specific endpoint variables stand in for AWS, as for `sunset status --stack`.
      AWS_ENDPOINT_URL_CLOUDFORMATION: serverUrl(cloudformation),
      AWS_ENDPOINT_URL_SECRETS_MANAGER: serverUrl(secretsManager),
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      AWS_REGION: 'eu-west-1',
    };
  });

  beforeEach(() => {
    secrets.set(SECRET_ARN, keyring());
    calls.length = 0;
  });

  afterAll(async () => {
    await Promise.all([closeServer(secretsManager), closeServer(cloudformation)]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN --json THEN a new key is current, the old one retired now and still accepted, the expired one dropped, and no key printed', async () => {
    const run = await runCli(['franking', 'rotate', '--stack', 'Ebb', '--config', config, '--json'], env);
    expect([run.status, run.stderr]).toEqual([0, '']);
    const report = JSON.parse(run.stdout) as RotateReport;
    const at = Date.parse(report.at);
    expect(Math.abs(at - Date.now())).toBeLessThan(60_000);
    expect(report).toEqual({
      stackName: 'Ebb',
      region: 'eu-west-1',
      secretArn: SECRET_ARN,
      configFile: config,
      retentionDays: 30,
      at: report.at,
      previous: 'k3',
      current: 'k4',
      accepted: [
        { kid: 'k4', current: true, retiredAt: null, acceptedUntil: null },
        { kid: 'k3', current: false, retiredAt: report.at, acceptedUntil: new Date(at + 30 * DAY).toISOString() },
        { kid: 'k2', current: false, retiredAt: new Date(now - 10 * DAY).toISOString(), acceptedUntil: new Date(now + 20 * DAY).toISOString() },
      ],
      dropped: ['k1'],
    });

    // One read, one write of the same secret; the write is a new version with its own idempotency token.
    expect(calls.map((call) => [call.operation, call.input.SecretId])).toEqual([
      ['GetSecretValue', SECRET_ARN],
      ['PutSecretValue', SECRET_ARN],
    ]);
    expect(calls[1]!.input.ClientRequestToken).toMatch(/^[0-9a-f-]{36}$/);
    const stored = parseKeyring(secrets.get(SECRET_ARN)!);
    expect(stored.current).toBe('k4');
    expect([...stored.keys.keys()].sort()).toEqual(['k2', 'k3', 'k4']);
    expect(stored.keys.get('k3')).toBe(secret('c'));
    expect(stored.retired.get('k3')).toBe(at);
    expect(stored.keys.get('k4')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    for (const key of stored.keys.values()) expect(run.stdout).not.toContain(key);
    expect(run.stdout).not.toContain(secret('a'));
  });

  test('GIVEN people reading THEN the kids and their dates, never a key', async () => {
    const run = await runCli(['franking', 'rotate', '--stack', 'Ebb', '--config', config], env);
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(
      new RegExp(
        [
          '^franking keyring of stack Ebb \\(eu-west-1\\) rotated: k3 -> k4',
          ' {2}current {6}k4',
          ' {2}accepted for reports',
          ' {4}k4 {2}current',
          ' {4}k3 {2}retired \\S+Z, accepted until \\S+Z \\(in 30 days\\)',
          ' {4}k2 {2}retired \\S+Z, accepted until \\S+Z \\(in 19 days 23 hours\\)',
          ' {2}dropped {6}k1 \\(retired more than 30 days ago\\)',
          ` {2}retention {4}30 days, from ${config.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`,
          ' {2}warm functions tag new messages with k4 within 5 minutes\\n$',
        ].join('\\n'),
      ),
    );
    for (const key of parseKeyring(secrets.get(SECRET_ARN)!).keys.values()) expect(run.stdout).not.toContain(key);
  });

  test('GIVEN a secret that is not a keyring THEN it exits 1 naming the fault, not the value, and writes nothing', async () => {
    secrets.set(SECRET_ARN, JSON.stringify({ current: 'k9', k1: secret('z') }));
    const run = await runCli(['franking', 'rotate', '--stack', 'Ebb', '--config', config], env);
    expect([run.status, run.stdout]).toEqual([1, '']);
    expect(run.stderr).toBe(`ebb-admin: secret ${SECRET_ARN}: franking keyring: current must name one of its k<n> keys; left unchanged\n`);
    expect(calls.map((call) => call.operation)).toEqual(['GetSecretValue']);
  });

  test('GIVEN a stack without the secret output, or whose secret is gone THEN it exits 1 with one line', async () => {
    const bare = await fakeCloudFormation(localTableNames('deployed'));
    const elsewhere = await fakeCloudFormation(localTableNames('deployed'), { FrankingSecretArn: OTHER_ARN });
    try {
      const missing = await runCli(['franking', 'rotate', '--stack', 'Ebb', '--config', config], {
        ...env,
        AWS_ENDPOINT_URL_CLOUDFORMATION: serverUrl(bare),
      });
      expect([missing.status, missing.stderr]).toEqual([
        1,
        'ebb-admin: stack Ebb has no output FrankingSecretArn: is it an ebb stack, deployed by this version?\n',
      ]);
      const gone = await runCli(['franking', 'rotate', '--stack', 'Ebb', '--config', config], {
        ...env,
        AWS_ENDPOINT_URL_CLOUDFORMATION: serverUrl(elsewhere),
      });
      expect(gone.status).toBe(1);
      expect(gone.stderr).toMatch(/^ebb-admin: ResourceNotFoundException: Secrets Manager can't find the specified secret\.\n$/);
      const noStack = await runCli(['franking', 'rotate', '--stack', 'Nope', '--config', config], env);
      expect([noStack.status, noStack.stderr]).toEqual([1, 'ebb-admin: stack Nope does not exist in eu-west-1\n']);
    } finally {
      await Promise.all([closeServer(bare), closeServer(elsewhere)]);
    }
    expect(calls.filter((call) => call.operation === 'PutSecretValue')).toEqual([]);
  });

  test.each([
    [
      'a local stack',
      ['--dynamodb-endpoint', 'http://127.0.0.1:1'],
      /^ebb-admin: franking rotate works on a deployed stack \(--stack NAME\) only: a local stack keeps its keyring in memory in the `npm start` process/,
    ],
    ['no target', [], /^ebb-admin: say which deployment: --stack NAME \(franking rotate has no local form\)$/],
  ])('GIVEN %s THEN it refuses with one line', async (_label, args, message) => {
    const run = await runInProcess('franking', 'rotate', ...args, '--config', config);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(message);
    expect(calls).toEqual([]);
  });
});
