import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { build, type BuildOptions } from 'esbuild';
import { sdkModules } from './browser-build';

/**
 * Builds the `ebb-client` package into client-sdk/dist (`npm run build:sdk`): esbuild bundles
 * src/index.ts (with the protocol/ modules it uses) once per platform and module format, leaving every
 * package import to the app; tsc writes the declarations. The browser builds take each `x.browser.ts` of
 * src/ in place of its `x.ts` (load-module.browser.ts among them), so they name no `node:` module and no `ws`
 * (browser-build.ts).
 */

const SDK = __dirname;
const SRC = join(SDK, 'src');
const DIST = join(SDK, 'dist');

/** The files package.json's `exports` points at. */
const OUTPUTS = {
  'index.mjs': { platform: 'node', format: 'esm' },
  'index.cjs': { platform: 'node', format: 'cjs' },
  'browser.mjs': { platform: 'browser', format: 'esm' },
  'browser.cjs': { platform: 'browser', format: 'cjs' },
} as const satisfies Record<string, Pick<BuildOptions, 'platform' | 'format'>>;

/** An import of a `node:` module or of `ws`, as esbuild prints one in either module format. */
const NODE_ONLY_IMPORT = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*)["'](?:node:[^"']*|ws)["']/;

async function bundle(file: keyof typeof OUTPUTS): Promise<void> {
  const { platform, format } = OUTPUTS[file];
  await build({
    entryPoints: [join(SRC, 'index.ts')],
    outfile: join(DIST, file),
    bundle: true,
    packages: 'external',
    platform,
    format,
    target: 'es2022',
    plugins: [sdkModules({ browser: platform === 'browser' })],
    logLevel: 'warning',
  });
  if (platform === 'browser' && NODE_ONLY_IMPORT.test(await readFile(join(DIST, file), 'utf8'))) {
    throw new Error(`dist/${file} imports a Node-only module`);
  }
}

/** Declarations keep the source tree (client-sdk/src beside protocol/) under dist/types; index.d.ts is its entry. */
async function declarations(): Promise<void> {
  const tsc = require.resolve('typescript/bin/tsc');
  await promisify(execFile)(process.execPath, [tsc, '-p', join(SDK, 'tsconfig.build.json')]);
  await writeFile(join(DIST, 'index.d.ts'), "export * from './types/client-sdk/src/index';\n");
}

async function main(): Promise<void> {
  await rm(DIST, { recursive: true, force: true });
  await Promise.all([...Object.keys(OUTPUTS).map((file) => bundle(file as keyof typeof OUTPUTS)), declarations()]);
  console.log(`ebb-client: built ${DIST}`);
}

main().catch((err: unknown) => {
  // tsc reports type errors on stdout.
  const { stdout } = err as { stdout?: string };
  console.error(stdout || (err instanceof Error ? err.message : String(err)));
  process.exitCode = 1;
});
