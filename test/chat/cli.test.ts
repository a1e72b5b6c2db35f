import { spawn } from 'node:child_process';
import { type AddressInfo, createServer } from 'node:net';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { main } from '../../chat/cli';
import { EbbClient, MemoryStore } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { REPO_ROOT } from '../support/admin-cli';
import { UNTHROTTLED } from '../support/local-stack';
import { until } from '../support/sdk';
import { cleanUp, newProfile, openChat, uniqueName } from './support';

/** `ebb chat` as a user runs it: the real process over pipes, and `main` in this process. */

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterEach(cleanUp);
afterAll(() => stack.stop());

function collect(stream: NodeJS.ReadableStream): { text: () => string } {
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { text: () => text };
}

it('node bin/ebb.js chat: chats over stdin and stdout, exports with --passphrase-file, and exits 0 on /quit', async () => {
  const profile = await newProfile();
  const passphraseFile = join(profile, '..', `${profile.split('/').at(-1)}.pass`);
  const archive = `${passphraseFile}.archive`;
  await writeFile(passphraseFile, 'correct horse battery\n');
  const child = spawn(
    process.execPath,
    [join(REPO_ROOT, 'bin', 'ebb.js'), 'chat', '--url', stack.url, '--profile', profile, '--passphrase-file', passphraseFile],
    {
      cwd: REPO_ROOT,
    },
  );
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  const waitFor = (text: string) => until(() => stdout.text().includes(text), `"${text}" in:\n${stdout.text()}\n${stderr.text()}`, 15_000);
  try {
    await waitFor('type /help for commands');
    const name = uniqueName('erin');
    child.stdin.write(`/name ${name}\n`);
    await waitFor(`your username is now @${name}`);

    const peer = await openChat(stack.url, await newProfile());
    await peer.type(`/to @${name}`, 'hi \x1b[31mterminal');
    await waitFor(String.raw`<${peer.session.userId.slice(0, 8)}> hi \x1b[31mterminal  #1`);
    child.stdin.write('/to #1\nhi back\n');
    await peer.out.waitFor(`<@${name}> hi back  #1`);
    await waitFor(`→ ${peer.session.userId.slice(0, 8)}: hi back  (sent)`);

    child.stdin.write(`/export ${archive}\n/quit\n`);
    expect(await exited).toBe(0);
  } finally {
    child.kill();
  }
  expect(stdout.text()).toContain(`archive written to ${archive}`);
  expect(stdout.text()).not.toContain('\x1b');
  expect(stderr.text()).toBe('');
  const restored = await EbbClient.importArchive(new Uint8Array(await readFile(archive)), 'correct horse battery', {
    url: stack.url,
    store: new MemoryStore(),
  });
  expect(stdout.text()).toContain(`your user id: ${restored.userId}`);
}, 20_000);

/** Runs `main` with piped streams, feeding `input` and ending it. */
async function runMain(args: string[], input: string): Promise<{ code: number; out: string; err: string }> {
  const streams = { input: new PassThrough(), output: new PassThrough(), error: new PassThrough() };
  const out = collect(streams.output);
  const err = collect(streams.error);
  streams.input.end(input);
  const code = await main(['node', 'ebb', ...args], streams);
  return { code, out: out.text(), err: err.text() };
}

it('main reads a piped passphrase as the line after /export, never sending it, and leaves when the input ends', async () => {
  const profile = await newProfile();
  const peer = await openChat(stack.url, await newProfile());
  const archive = join(profile, '..', `${profile.split('/').at(-1)}.archive`);
  const run = await runMain(
    ['chat', '--url', stack.url, '--profile', profile],
    `/to ${peer.session.userId}\n/export ${archive}\npiped passphrase\nlast words\n`,
  );
  expect(run).toMatchObject({ code: 0, err: '' });
  expect(run.out).toContain('passphrase for the archive (15 characters or more): ');
  expect(run.out).toContain(`archive written to ${archive}`);
  expect(run.out).toContain(': last words  (sent)');
  await peer.out.waitFor('last words  #1');
  expect(peer.out.lines.join('\n')).not.toContain('piped passphrase');
  await EbbClient.importArchive(new Uint8Array(await readFile(archive)), 'piped passphrase', { url: stack.url, store: new MemoryStore() });
});

it('main exits 1 naming the refused URL when nothing listens there, and leaves no half-made profile behind', async () => {
  const port = await closedPort();
  const expected = `ebb: INTERNAL: could not connect: connection refused at ws://127.0.0.1:${port}: is the server running, and is this its URL?\n`;
  // An empty directory given as the profile stays, emptied; one the start created goes.
  const empty = await newProfile();
  const created = join(await newProfile(), 'new-profile');
  for (const profile of [empty, created]) {
    const run = await runMain(['chat', '--url', `ws://127.0.0.1:${port}`, '--profile', profile], '');
    expect(run.code).toBe(1);
    expect(run.err).toBe(expected);
    expect(run.out).not.toContain('type /help');
  }
  expect(await readdir(empty)).toEqual([]);
  await expect(readdir(created)).rejects.toMatchObject({ code: 'ENOENT' });

  // A profile that has connected before is never removed by a failed start.
  const used = await newProfile();
  await (await openChat(stack.url, used)).session.close();
  const before = (await readdir(used)).sort();
  expect(before.length).toBeGreaterThan(0);
  expect((await runMain(['chat', '--url', `ws://127.0.0.1:${port}`, '--profile', used], '')).code).toBe(1);
  expect((await readdir(used)).sort()).toEqual(before);
});

it('main fails with one line and exit code 1 on a bad URL, and prints usage for a bad option', async () => {
  const profile = await newProfile();
  expect(await runMain(['chat', '--url', 'http://127.0.0.1:1', '--profile', profile], '')).toEqual({
    code: 1,
    out: '',
    err: 'ebb: BAD_REQUEST: url: must be a ws:// or wss:// URL\n',
  });
  const usage = await runMain(['chat', '--colour'], '');
  expect(usage.code).toBe(1);
  expect(usage.err).toBe("ebb: unknown option '--colour'\n");
  const help = await runMain(['chat', '--help'], '');
  expect(help.code).toBe(0);
  expect(help.out).toContain('--profile <dir>');
});

/** A port on which nothing listens: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

it('main exits 0 when its device is removed from the first device, saying so', async () => {
  const phone = await openChat(stack.url, await newProfile());
  const profile = await newProfile();
  const streams = { input: new PassThrough(), output: new PassThrough(), error: new PassThrough() };
  const out = collect(streams.output);
  const running = main(['node', 'ebb', 'chat', '--url', stack.url, '--profile', profile], streams);
  await until(() => out.text().includes('type /help for commands'), 'the chat to start');
  streams.input.write('/link\n');
  await until(() => /\/approve ebb-link:\S+/.test(out.text()), 'the link code');
  await phone.type(/\/approve ebb-link:\S+/.exec(out.text())![0]);
  await until(async () => {
    await phone.type('/devices');
    return phone.out.lines.at(-1)!.includes('device 2') && !phone.out.lines.at(-1)!.includes('not connected yet');
  }, 'the new device to connect');
  await phone.type('/remove 2');
  expect(await running).toBe(0);
  expect(out.text()).toContain('this device was removed from the account, and this profile forgot it; goodbye');
  expect(await readdir(profile)).toEqual([]);
});
