import nacl from 'tweetnacl';
import { startLocalStack, type LocalStack } from '../../local';
import { toBase64Url } from '../../protocol';
import type { SuspendReport, UnsuspendReport } from '../../admin/suspension';
import { anyCommitment } from '../support/franking';
import { connectUrl, makeIdentity, messageId, registerFrame, type TestIdentity } from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { RawSocket } from '../support/raw-socket';
import { runCli } from '../support/admin-cli';

describe('ebb-admin suspend and unsuspend against a local stack', () => {
  let stack: LocalStack;
  const sockets: RawSocket[] = [];
  const alice = makeIdentity();
  const bob = makeIdentity();

  async function open(id: TestIdentity): Promise<RawSocket> {
    const socket = await RawSocket.open(connectUrl(stack.url, id));
    sockets.push(socket);
    return socket;
  }

  const sendFrame = (to: string) => ({
    action: 'send',
    id: messageId(),
    to,
    messages: [{ device: 1, ciphertext: toBase64Url(nacl.randomBytes(32)), commitment: anyCommitment() }],
  });
  const target = () => ['--dynamodb-endpoint', stack.dynamodbEndpoint];

  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
    for (const id of [alice, bob]) expect(await (await open(id)).request(registerFrame(id))).toMatchObject({ type: 'result', created: true });
  });

  afterAll(async () => {
    await Promise.all(sockets.map((socket) => socket.close()));
    await stack?.stop();
  });

  test('GIVEN Bob connected WHEN suspended THEN his socket closes, a reconnect is refused every action but status, and unsuspend restores sending', async () => {
    const bobSocket = sockets[1]!;
    const closed = bobSocket.waitClosed(15_000);

    const run = await runCli([
      'suspend',
      bob.uid,
      '--reason',
      'spam reported by 3 users',
      ...target(),
      '--callback-url',
      `${stack.callbackUrl}/@connections`,
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout) as SuspendReport).toMatchObject({
      userId: bob.uid,
      suspended: true,
      reason: 'spam reported by 3 users',
      target: { kind: 'local', dynamodbEndpoint: stack.dynamodbEndpoint },
      connectionsClosed: 1,
    });
    await closed;

    const again = await open(bob);
    const refused = await again.request(sendFrame(alice.uid));
    expect(refused).toMatchObject({ type: 'error', code: 'ACCOUNT_SUSPENDED', retryable: false });
    expect(JSON.stringify(refused)).not.toContain('spam');
    expect(await again.request({ action: 'hello' })).toMatchObject({ type: 'error', code: 'ACCOUNT_SUSPENDED' });
    expect(await again.request({ action: 'status' })).toMatchObject({ type: 'result', phase: 'open' });
    // Alice is untouched.
    expect(await sockets[0]!.request(sendFrame(bob.uid))).toMatchObject({ type: 'result' });

    const lifted = await runCli(['unsuspend', bob.uid, ...target(), '--json']);
    expect(lifted.stderr).toBe('');
    expect(lifted.status).toBe(0);
    expect(JSON.parse(lifted.stdout) as UnsuspendReport).toMatchObject({ userId: bob.uid, suspended: false });
    expect(await again.request(sendFrame(alice.uid))).toMatchObject({ type: 'result' });
  });

  test('GIVEN no --callback-url WHEN suspending THEN the account is suspended and the open connections are said to be left open', async () => {
    const socket = await open(alice);
    const run = await runCli(['suspend', alice.uid, '--reason', 'test', ...target()]);
    expect(run.status).toBe(0);
    expect(run.stdout.trim()).toMatch(new RegExp(`^account ${alice.uid} suspended at .*; no connections closed$`));
    expect(run.stderr.trim()).toBe('ebb-admin: live connections left open (each action is refused): pass --callback-url to close them');
    expect(await socket.request({ action: 'fetch' })).toMatchObject({ type: 'error', code: 'ACCOUNT_SUSPENDED' });
    expect((await runCli(['unsuspend', alice.uid, ...target()])).status).toBe(0);
    expect(await socket.request({ action: 'fetch' })).toMatchObject({ type: 'result' });
  });

  test.each([
    ['suspend', ['--reason', 'x']],
    ['unsuspend', []],
  ])('GIVEN an unknown user WHEN %s THEN it exits 1 with one line', async (command, extra) => {
    const unknown = makeIdentity().uid;
    const run = await runCli([command, unknown, ...extra, ...target()]);
    expect(run.status).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(`ebb-admin: no account ${unknown}\n`);
  });
});
