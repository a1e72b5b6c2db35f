import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startLocalStack, type LocalStack } from '../../local';
import { QUICKSTART_OUTPUT, QUICKSTART_URL, readmeQuickstart } from '../support/quickstart';

const root = resolve(__dirname, '../..');

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0 });
});
afterAll(() => stack.stop());

// test/package/sdk-package.test.ts runs the same block from the packed package in Node (ESM and CommonJS) and a browser.
it('the README quickstart, pasted into a file, exchanges a message with the local stack', async () => {
  const code = readmeQuickstart();
  expect(code).toContain(`'${QUICKSTART_URL}'`);
  expect(code).toContain("from 'ebb-client'");
  // Same code from the SDK's source; only the port (the test stack's) and the import differ.
  const dir = mkdtempSync(join(tmpdir(), 'ebb-quickstart-'));
  const file = join(dir, 'quickstart.mts');
  writeFileSync(file, code.replace(`'${QUICKSTART_URL}'`, `'${stack.url}'`).replace("'ebb-client'", `'${join(root, 'client-sdk/src')}'`));
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), file], {
      cwd: root,
      timeout: 30_000,
      env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    });
    expect(stdout.split('\n')).toEqual([expect.stringMatching(QUICKSTART_OUTPUT), '']);
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
