import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { build } from 'esbuild';
import { HANDLER_BUNDLING } from '../infra/handler-bundling';
import { Handlers, ScheduledHandlers } from '../lambdas/routes';
import { median } from './measure';

const run = promisify(execFile);
const ROOT = join(__dirname, '..');

export interface HandlerColdStart {
  readonly handler: string;
  /** Minified bundle, bytes (as infra bundles it: esbuild, minify, node22, cjs, `@aws-sdk/*` external). */
  readonly bundleBytes: number;
  /** Median time to require the bundle in a fresh Node process (its `@aws-sdk/*` imports included), ms. */
  readonly initMs: number;
  /** The three largest inputs in the bundle, by bytes in the output. */
  readonly largest: { readonly input: string; readonly bytes: number }[];
}

/**
 * Each handler bundled with the esbuild options infra/handler-function.ts gives NodejsFunction, then
 * required `runs` times, each in a fresh `node` process, timing the require alone.
 */
export async function measureColdStarts(options: { runs: number; outDir: string }): Promise<HandlerColdStart[]> {
  mkdirSync(options.outDir, { recursive: true });
  const results: HandlerColdStart[] = [];
  for (const spec of [...Handlers, ...ScheduledHandlers]) {
    const outfile = join(options.outDir, `${spec.entry}.js`);
    const built = await build({
      entryPoints: [join(ROOT, 'lambdas', 'handlers', `${spec.entry}.ts`)],
      bundle: true,
      minify: HANDLER_BUNDLING.minify,
      sourcemap: HANDLER_BUNDLING.sourceMap,
      platform: 'node',
      target: HANDLER_BUNDLING.target,
      format: 'cjs',
      external: [...HANDLER_BUNDLING.externalModules],
      outfile,
      metafile: true,
      logLevel: 'silent',
    });
    const output = built.metafile.outputs[relative(process.cwd(), outfile)] ?? Object.values(built.metafile.outputs)[0]!;
    const byContributor = new Map<string, number>();
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const name = contributor(input);
      byContributor.set(name, (byContributor.get(name) ?? 0) + bytesInOutput);
    }
    const largest = [...byContributor]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 3)
      .map(([input, bytes]) => ({ input, bytes }));
    const times: number[] = [];
    for (let i = 0; i < options.runs; i++) times.push(await requireTime(outfile));
    results.push({ handler: spec.entry, bundleBytes: output.bytes, initMs: median(times), largest });
  }
  return results;
}

/** Median time to require only the AWS SDK v3 clients the handlers use (the Lambda runtime's own copy on AWS). */
export async function awsSdkRequireMs(runs: number): Promise<number> {
  const modules = ['@aws-sdk/client-dynamodb', '@aws-sdk/lib-dynamodb', '@aws-sdk/client-apigatewaymanagementapi', '@aws-sdk/client-secrets-manager'];
  const script = `const t=process.hrtime.bigint();${modules.map((m) => `require(${JSON.stringify(m)});`).join('')}process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++)
    times.push(Number((await run(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } })).stdout));
  return median(times);
}

/** A package with up to two directories below it (e.g. zod/v4/core), or a project file. */
export function contributor(input: string): string {
  const parts = input.split('/');
  const nm = parts.lastIndexOf('node_modules');
  if (nm < 0) return input.replace(/^(\.\.\/)+/, '');
  const scoped = parts[nm + 1]!.startsWith('@');
  const start = nm + (scoped ? 3 : 2);
  const dirs = parts
    .slice(start, -1)
    .filter((d) => d !== 'dist' && d !== 'lib' && d !== 'cjs' && d !== 'esm')
    .slice(0, 2);
  return [...parts.slice(nm + 1, start), ...dirs].join('/');
}

async function requireTime(file: string): Promise<number> {
  const script = `const t=process.hrtime.bigint();require(${JSON.stringify(file)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`;
  const { stdout } = await run(process.execPath, ['-e', script], { cwd: ROOT, env: { ...process.env, NODE_OPTIONS: '' } });
  return Number(stdout);
}
