import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startLocalStack, type LocalStack } from '../../local';

const root = resolve(__dirname, '../..');

/** The README's quickstart block, exactly as a newcomer pastes it. */
function quickstart(): string {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const match = /```ts quickstart\n([\s\S]*?)```/.exec(readme);
  if (!match) throw new Error('README.md has no ```ts quickstart block');
  return match[1]!;
}

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0 });
});
afterAll(() => stack.stop());

it('the README quickstart, pasted into a file, exchanges a message with the local stack', async () => {
  const code = quickstart();
  expect(code).toContain("'ws://127.0.0.1:8787'");
  expect(code).toContain("from './client-sdk/src'");
  // Same code; only the port (the test stack's) and the import's base directory differ.
  const dir = mkdtempSync(join(tmpdir(), 'ebb-quickstart-'));
  const file = join(dir, 'quickstart.mts');
  writeFileSync(file, code.replace("'ws://127.0.0.1:8787'", `'${stack.url}'`).replace("'./client-sdk/src'", `'${join(root, 'client-sdk/src')}'`));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), file], {
      cwd: root,
      timeout: 30_000,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(stdout).toMatch(/^bob got "hello, bob" from [A-Za-z0-9_-]{32}\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

it('the README warns that the quickstart URL must match npm start, and that franking rotate has no local mode', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const intro = readme.slice(readme.indexOf('## SDK quickstart'), readme.indexOf('```ts quickstart'));
  expect(intro).toContain('Its URL must be the one `npm start` printed: with `--port N`, change\n`8787` to `N`.');
  expect(intro).toContain("`err.reason === 'unreachable'`");
  expect(readme).toContain('`franking rotate` has no local mode');
  expect(readme).toContain('Every command but `franking rotate` also works against the local stack');
});
