import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { startLocalStack, type LocalStack } from '../../local';
import { toBase64Url } from '../../protocol';
import { DEFAULT_CONFIG } from '../../protocol/config';
import type { Stats } from '../../admin/stats';
import { makeIdentity, messageId } from '../support/identity';
import { placeholderFrank } from '../support/franking';
import { runCli, runInProcess } from '../support/admin-cli';

const HOUR = 3_600_000;

describe('ebb-admin stats against a local stack', () => {
  const now = Date.now();
  const inSeconds = (ms: number) => Math.floor(ms / 1000);
  let stack: LocalStack;
  let dir: string;
  let config: string;
  const target = () => ['--dynamodb-endpoint', stack.dynamodbEndpoint, '--config', config];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'ebb-admin-stats-'));
    config = path.join(dir, 'cdk.json');
    const signupsCloseAt = new Date(now - HOUR).toISOString();
    writeFileSync(config, JSON.stringify({ context: { ebb: { ...DEFAULT_CONFIG, sunset: { ...DEFAULT_CONFIG.sunset, signupsCloseAt } } } }));
    // No sweep during the test: the expired items below must still be there to be left out of the counts.
    stack = await startLocalStack({ port: 0, sweepIntervalMs: 3_600_000 });
    const { accounts, usernames, connections, queue, reports } = stack.ports;

    // 4 accounts, 2 of them suspended; 2 usernames.
    const users = [makeIdentity().uid, makeIdentity().uid, makeIdentity().uid, makeIdentity().uid];
    for (const userId of users)
      await accounts.create({ userId, signingKey: 'sk', identityKey: 'ik', identitySig: 'is', devices: [1], createdAt: now });
    await accounts.suspend(users[0]!, 'spam', now);
    await accounts.suspend(users[1]!, 'abuse', now);
    await accounts.suspend(users[2]!, 'mistake', now);
    await accounts.unsuspend(users[2]!);
    expect(await usernames.claim('alice', users[0]!)).toBe(true);
    expect(await usernames.claim('bob', users[1]!)).toBe(true);

    // 2 live connections, 1 expired.
    for (const [i, expiresAt] of [inSeconds(now + HOUR), inSeconds(now + HOUR), inSeconds(now - 60_000)].entries()) {
      await connections.put({ connectionId: `c${i}`, userId: users[i]!, device: 1, connectedAt: now - HOUR, expiresAt });
    }

    // 3 queued messages and 1 expired; 4 send markers and 1 expired.
    const recipient = { userId: users[3]!, device: 1 };
    const from = { userId: users[0]!, device: 1 };
    for (const [i, expiresAt] of [now + HOUR, now + HOUR, now + HOUR, now - 60_000].entries()) {
      const ciphertext = toBase64Url(new Uint8Array(32));
      await queue.put({
        recipient,
        id: messageId(),
        from,
        sentAt: now - 1000 + i,
        expiresAt: inSeconds(expiresAt),
        ciphertext,
        frank: placeholderFrank(),
      });
    }
    for (const expiresAt of [now + HOUR, now + HOUR, now + HOUR, now + HOUR, now - 60_000]) {
      expect(await queue.claim(recipient, from.userId, messageId(), { sentAt: now, expiresAt: inSeconds(expiresAt) })).toBeNull();
    }

    // 2 reports.
    for (const reporter of [users[1]!, users[2]!]) {
      await reports.create({
        reportId: messageId(),
        reporter: { userId: reporter, device: 1 },
        sender: from,
        messageId: messageId(),
        sentAt: now - HOUR,
        reportedAt: now,
        reason: 'spam',
        kind: 'text',
        content: 'buy now',
      });
    }
  });

  afterAll(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('GIVEN known items, some expired WHEN run with --json THEN one flat object with every unexpired count and the phase', async () => {
    const run = await runInProcess('stats', ...target(), '--json');
    expect([run.status, run.stderr]).toEqual([0, '']);
    const stats = JSON.parse(run.stdout) as Stats;
    expect(stats).toEqual({
      now: expect.stringMatching(/Z$/),
      phase: 'signups-closed',
      accounts: 4,
      suspended: 2,
      usernames: 2,
      connected: 2,
      queuedMessages: 3,
      sendMarkers: 4,
      reports: 2,
    });
    expect(Object.values(stats).every((value) => typeof value !== 'object')).toBe(true);
  });

  test('GIVEN the same WHEN run for people THEN one count per line', async () => {
    const run = await runCli(['stats', ...target()]);
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(run.stdout).toMatch(
      /^ebb stats at \S+Z\n {2}phase {12}signups-closed\n {2}accounts {9}4 \(2 suspended\)\n {2}usernames {8}2\n {2}connected {8}2\n {2}queued messages {2}3\n {2}send markers {5}4\n {2}reports {10}2\n$/,
    );
  });

  test('GIVEN --s3-endpoint too WHEN run THEN it also counts the attachment objects and their bytes', async () => {
    const sizes = [1000, 2500, 1];
    for (const [i, size] of sizes.entries()) {
      const { url, headers } = await stack.ports.attachments.presignUpload(`${i + 1}/${toBase64Url(new Uint8Array(16).fill(i))}`, size, 600);
      expect((await fetch(url, { method: 'PUT', headers, body: new Uint8Array(size) })).status).toBe(200);
    }
    const run = await runInProcess('stats', ...target(), '--s3-endpoint', stack.s3Endpoint, '--json');
    expect([run.status, run.stderr]).toEqual([0, '']);
    expect(JSON.parse(run.stdout)).toMatchObject({ accounts: 4, attachmentObjects: 3, attachmentBytes: 3501 });
    const people = await runCli(['stats', ...target(), '--s3-endpoint', stack.s3Endpoint]);
    expect(people.stdout).toContain('  attachments      3 (3501 bytes)\n');
  });

  test('GIVEN --s3-endpoint without --dynamodb-endpoint THEN it exits 1 naming both', async () => {
    const run = await runInProcess('stats', '--s3-endpoint', 'http://127.0.0.1:1', '--config', config);
    expect(run.status).toBe(1);
    expect(run.stderr).toContain('--s3-endpoint goes with --dynamodb-endpoint');
  });

  test('GIVEN no target THEN it exits 1 saying which to give', async () => {
    const run = await runInProcess('stats', '--config', config);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^ebb-admin: say which deployment/);
  });
});
