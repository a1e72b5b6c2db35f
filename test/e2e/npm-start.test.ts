import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { connectUrl, makeIdentity } from '../support/identity';
import { RawSocket } from '../support/raw-socket';

const root = resolve(__dirname, '../..');
const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');

function start(args: string[]) {
  const child = spawn(process.execPath, [tsx, 'local/cli.ts', ...args], {
    cwd: root,
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, exited, out: () => stdout, err: () => stderr };
}

it('npm start prints the WebSocket URL, serves it, and stops cleanly on SIGINT', async () => {
  const run = start(['--port', '0']);
  try {
    const deadline = Date.now() + 20_000;
    while (!/ws:\/\/127\.0\.0\.1:\d+/.test(run.out()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const url = /ws:\/\/127\.0\.0\.1:\d+/.exec(run.out())?.[0];
    expect(url).toBeDefined();
    const socket = await RawSocket.open(connectUrl(url!, makeIdentity()));
    expect(await socket.request({ action: 'status' })).toMatchObject({ type: 'result', phase: 'open' });
    await socket.close();
    // The S3-compatible endpoint is printed and answers as S3 does: an unsigned request is refused.
    const [, s3, bucket] = /S3\s+(http:\/\/127\.0\.0\.1:\d+) \(bucket (\S+),/.exec(run.out()) ?? [];
    expect(s3).toBeDefined();
    const answer = await fetch(`${s3}/${bucket}/anything`);
    expect(answer.status).toBe(403);
    expect(await answer.text()).toContain('<Code>AccessDenied</Code>');
  } finally {
    run.child.kill('SIGINT');
  }
  expect(await run.exited).toBe(0);
});

it('npm start refuses an invalid --config, naming the key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-config-'));
  const file = join(dir, 'cdk.json');
  writeFileSync(file, JSON.stringify({ context: { ebb: { sunset: { shutdownAt: '2027-02-01T00:00:00Z', readOnlyAt: '2027-03-01T00:00:00Z' } } } }));
  try {
    const run = start(['--port', '0', '--config', file]);
    expect(await run.exited).toBe(1);
    expect(run.err()).toContain('ebb.sunset.shutdownAt: must not be before readOnlyAt');
    expect(run.out()).not.toContain('ws://');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

describe('npm start names what is wrong, in one line that starts with "ebb: " once', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ebb-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{ "ebb": { "sunset": secret-looking-text } }');
  const notAnObject = join(dir, 'list.json');
  writeFileSync(notAnObject, '[]');
  const missing = join(dir, 'missing.json');

  it.each([
    [['--config', missing], `ebb: config ${missing}: cannot read it (no such file)`],
    [['--config', dir], `ebb: config ${dir}: cannot read it (it is a directory)`],
    [['--config', broken], `ebb: config ${broken}: not valid JSON`],
    [['--config', notAnObject, '--port', '0'], `ebb: config ${notAnObject}: the ebb object must be an object`],
    [['--colour'], 'ebb: unknown option --colour'],
    [['--port', '-1'], 'ebb: --port -1: must be a whole number from 0 to 65535 (0 picks a free port)'],
    [['--port'], 'ebb: --port: needs a value'],
    [['--log', 'debug'], 'ebb: --log debug: must be one of info, warn, error'],
  ])('%j → %s', async (args, line) => {
    const run = start(args);
    expect(await run.exited).toBe(1);
    expect(run.err().split('\n')[0]).toBe(line);
    expect(run.err()).not.toContain('secret-looking-text');
    expect(run.err()).not.toMatch(/ebb: ebb|\n\s+at /);
    expect(run.out()).not.toContain('ws://');
  });
});
