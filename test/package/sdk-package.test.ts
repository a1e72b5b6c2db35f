import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { build, transform } from 'esbuild';
import { startLocalStack, type LocalStack } from '../../local';
import { launchChromium } from '../support/chromium';
import { QUICKSTART_OUTPUT, QUICKSTART_URL, readmeQuickstart } from '../support/quickstart';

/**
 * The SDK as an app gets it: `npm run build:sdk`, `npm pack` in client-sdk/, the tarball installed into
 * scratch apps in a temp dir, and the README's quickstart run from each against a local stack: a Node
 * ESM app, a CommonJS app and an esbuild browser bundle in chromium. npm installs offline: each app
 * links the SDK's dependencies from this repository's node_modules.
 */
jest.setTimeout(60_000);

const root = resolve(__dirname, '../..');
const NAME = 'ebb-client';
const DEPENDENCIES = ['@noble/hashes', 'tweetnacl', 'valibot'];
const NODE_ONLY = ['ws'];
const run = promisify(execFile);

/** The environment without what an outer `npm test` or jest sets, so each app resolves and installs on its own. */
const appEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^(npm_|NODE_PATH$|NODE_OPTIONS$)/i.test(key)));

type App = 'esm' | 'cjs' | 'browser';
let work: string;
let stack: LocalStack;
/** What `npm pack --json` says of the tarball. */
let packed: { name: string; version: string; filename: string; files: { path: string }[] };
const apps = {} as Record<App, string>;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'ebb-package-'));
  [stack] = await Promise.all([startLocalStack({ port: 0 }), run('npm', ['run', 'build:sdk'], { cwd: root, env: appEnv })]);
  const pack = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: join(root, 'client-sdk'), env: appEnv });
  [packed] = JSON.parse(pack.stdout) as [typeof packed];
  const tarball = join(work, packed.filename);
  // One `npm install`: what it puts in node_modules does not depend on the app's module type, so the other apps
  // get a copy of it (its links to this repository's packages are relative, and the apps are siblings).
  apps.esm = await scratchApp('esm', tarball);
  await Promise.all(
    (['cjs', 'browser'] as const).map(async (app) => {
      apps[app] = await scratchApp(app);
      await cp(join(apps.esm, 'node_modules'), join(apps[app], 'node_modules'), { recursive: true, verbatimSymlinks: true });
    }),
  );
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  if (work) await rm(work, { recursive: true, force: true });
});

/** A directory with a package.json, the SDK's dependencies linked, then (given one) the tarball installed as an app would. */
async function scratchApp(app: App, tarball?: string): Promise<string> {
  const dir = join(work, app);
  await mkdir(dir);
  const dependencies = Object.fromEntries([...DEPENDENCIES, ...NODE_ONLY].map((name) => [name, `file:${join(root, 'node_modules', name)}`]));
  const type = app === 'cjs' ? 'commonjs' : 'module';
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: `scratch-${app}`, private: true, type, dependencies }));
  if (tarball === undefined) return dir;
  const flags = ['--offline', '--no-audit', '--no-fund', '--no-package-lock', '--ignore-scripts', '--cache', join(work, 'npm-cache')];
  await run('npm', ['install', ...flags, tarball], { cwd: dir, env: appEnv });
  return dir;
}

/** The quickstart as JavaScript (esbuild strips its types), pointed at the test's stack. */
async function quickstartJs(): Promise<string> {
  const code = readmeQuickstart();
  if (!code.includes(`'${QUICKSTART_URL}'`)) throw new Error(`the quickstart no longer connects to ${QUICKSTART_URL}`);
  return (await transform(code.replace(`'${QUICKSTART_URL}'`, `'${stack.url}'`), { loader: 'ts', format: 'esm', target: 'es2022' })).code;
}

/** The same as CommonJS: `require` instead of the import, the rest in an async function (CommonJS has no top-level await). */
function asCommonJs(esm: string): string {
  const importLine = new RegExp(`^import \\{([^}]*)\\} from "${NAME}";\\n`, 'm');
  const names = importLine.exec(esm)?.[1];
  if (names === undefined) throw new Error(`the quickstart does not import from ${NAME}`);
  const body = esm.replace(importLine, '');
  return `const {${names}} = require("${NAME}");\n(async () => {\n${body}})().catch((err) => {\n  console.error(err);\n  process.exitCode = 1;\n});\n`;
}

/** Every module a bundle imports, in either module format, as esbuild prints imports. */
function importsOf(code: string): string[] {
  const specifiers = [...code.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)"([^"]+)"/g)].map((m) => m[1]!);
  return [...new Set(specifiers)].sort();
}

/** The package a bare specifier names (`@noble/hashes/sha2` → `@noble/hashes`), or the `node:` module itself. */
function packageOf(specifier: string): string {
  if (specifier.startsWith('node:')) return specifier;
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

async function runNode(app: App, args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, args, { cwd: apps[app], env: appEnv, timeout: 30_000 });
  return stdout;
}

function distFile(app: App, file: string): Promise<string> {
  return readFile(join(apps[app], 'node_modules', NAME, 'dist', file), 'utf8');
}

it('packs the four builds, the declarations and package.json, depending on the packages this repository pins', async () => {
  expect(packed).toMatchObject({ name: NAME, version: '0.2.0' });
  const files = packed.files.map((f) => f.path);
  expect(files.filter((path) => !path.startsWith('dist/')).sort()).toEqual(['README.md', 'package.json']);
  expect(files).toEqual(expect.arrayContaining(['dist/index.mjs', 'dist/index.cjs', 'dist/browser.mjs', 'dist/browser.cjs', 'dist/index.d.ts']));

  const installed = JSON.parse(await readFile(join(apps.esm, 'node_modules', NAME, 'package.json'), 'utf8')) as Record<string, unknown>;
  const pinned = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies;
  expect(installed).toMatchObject({ license: 'Apache-2.0', sideEffects: false });
  expect(installed.dependencies).toEqual(Object.fromEntries(DEPENDENCIES.map((name) => [name, pinned[name]])));
  expect(installed.optionalDependencies).toEqual(Object.fromEntries(NODE_ONLY.map((name) => [name, pinned[name]])));
  expect(installed).not.toHaveProperty('devDependencies');
  expect(installed).not.toHaveProperty('scripts');

  // What the builds import is exactly what package.json declares, plus Node's own modules in the Node builds.
  for (const file of ['index.mjs', 'index.cjs']) {
    const packages = importsOf(await distFile('esm', file)).map(packageOf);
    expect(new Set(packages)).toEqual(
      new Set([...DEPENDENCIES, ...NODE_ONLY, 'node:fs/promises', 'node:path', 'node:http', 'node:https', 'node:crypto']),
    );
  }

  // Node picks the build of the app's module system.
  expect(await runNode('cjs', ['-p', `require.resolve('${NAME}')`])).toBe(`${join(apps.cjs, 'node_modules', NAME, 'dist', 'index.cjs')}\n`);
  expect(await runNode('esm', ['--input-type=module', '-e', `console.log(import.meta.resolve('${NAME}'))`])).toBe(
    `file://${join(apps.esm, 'node_modules', NAME, 'dist', 'index.mjs')}\n`,
  );
});

it('runs the README quickstart from a Node ESM app', async () => {
  await writeFile(join(apps.esm, 'quickstart.js'), await quickstartJs());
  expect((await runNode('esm', ['quickstart.js'])).split('\n')).toEqual([expect.stringMatching(QUICKSTART_OUTPUT), '']);
});

it('runs the README quickstart from a CommonJS app', async () => {
  const code = asCommonJs(await quickstartJs());
  expect(code).toContain(`require("${NAME}")`);
  await writeFile(join(apps.cjs, 'quickstart.js'), code);
  expect((await runNode('cjs', ['quickstart.js'])).split('\n')).toEqual([expect.stringMatching(QUICKSTART_OUTPUT), '']);
});

it('gives TypeScript apps the declarations through both import and require', async () => {
  // The expected error fails the check if the declarations are missing or `any`: create() needs a url.
  const badCall = `// @ts-expect-error create() needs a url\nvoid EbbClient.create({});\n`;
  await writeFile(join(apps.esm, 'typed.mts'), `${readmeQuickstart()}${badCall}`);
  // The package's own README example, with the peer it leaves to the reader.
  const example = /```ts package-readme\n([\s\S]*?)```/.exec(await readFile(join(root, 'client-sdk', 'README.md'), 'utf8'))?.[1];
  if (example === undefined) throw new Error('client-sdk/README.md has no ```ts package-readme block');
  await writeFile(join(apps.esm, 'readme.mts'), `${example}declare const theirUserId: string;\n`);
  await writeFile(
    join(apps.cjs, 'typed.cts'),
    `import ebb = require('${NAME}');\nconst { EbbClient } = ebb;\n${badCall}export const inbox: (client: ebb.EbbClient) => ebb.ReceivedMessage[] = () => [];\n`,
  );
  const options = { strict: true, module: 'node16', moduleResolution: 'node16', target: 'es2022', lib: ['es2022', 'dom'], types: [], noEmit: true };
  const tsconfig = join(work, 'tsconfig.json');
  await writeFile(
    tsconfig,
    JSON.stringify({ compilerOptions: { ...options, skipLibCheck: true }, files: ['esm/typed.mts', 'esm/readme.mts', 'cjs/typed.cts'] }),
  );
  // tsc prints its errors on stdout: none means both apps type-check.
  const errors = await run(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', tsconfig], { env: appEnv }).then(
    () => '',
    (err: { stdout?: string }) => err.stdout ?? String(err),
  );
  expect(errors).toBe('');
});

it('bundles for browsers with no node: module or ws, and runs the README quickstart in chromium', async () => {
  // The scan finds what a Node build does import, so finding nothing in a browser build means something.
  expect(importsOf(await distFile('browser', 'index.mjs'))).toEqual(expect.arrayContaining(['node:fs/promises', 'node:path', 'ws']));
  const nodeOnly = (code: string) => importsOf(code).filter((specifier) => specifier.startsWith('node:') || NODE_ONLY.includes(packageOf(specifier)));
  for (const file of ['browser.mjs', 'browser.cjs']) expect(nodeOnly(await distFile('browser', file))).toEqual([]);

  await writeFile(join(apps.browser, 'quickstart.js'), await quickstartJs());
  // As an app bundles it: no externals, so a Node-only import would fail the build.
  const result = await build({
    entryPoints: ['quickstart.js'],
    absWorkingDir: apps.browser,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    logLevel: 'silent',
  });
  const bundle = result.outputFiles[0]!.text;
  expect(importsOf(bundle)).toEqual([]);
  expect(bundle).not.toMatch(/["']node:/);

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    // Served beside the WebSocket, as the web chat is: a page may not reach a local address from another origin.
    const pages: Record<string, { body: string; type: string }> = {
      '/': {
        body: '<!doctype html><title>quickstart</title><link rel="icon" href="data:,"><script type="module" src="/app.js"></script>',
        type: 'text/html',
      },
      '/app.js': { body: bundle, type: 'text/javascript' },
    };
    stack.gateway.pages = (_req, res, pathname) => {
      const asset = pages[pathname];
      if (asset) res.writeHead(200, { 'content-type': asset.type }).end(asset.body);
      return asset !== undefined;
    };
    const printed: string[] = [];
    page.on('console', (message) => printed.push(message.text()));
    page.on('pageerror', (error) => printed.push(`uncaught: ${error.message}`));
    const done = Promise.race([
      page.waitForEvent('console', { predicate: (message) => QUICKSTART_OUTPUT.test(message.text()), timeout: 30_000 }),
      page.waitForEvent('pageerror', { timeout: 30_000 }),
    ]);
    await page.goto(`${stack.url.replace(/^ws/, 'http')}/`);
    await done.catch(() => undefined);
    expect(printed).toEqual([expect.stringMatching(QUICKSTART_OUTPUT)]);
  } finally {
    await browser.close();
  }
});
