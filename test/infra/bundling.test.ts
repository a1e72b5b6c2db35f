import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Handlers, ScheduledHandlers } from '../../lambdas/routes';
import { EbbStack } from '../../infra/ebb-stack';
import { REPO_ROOT, cdkJsonContext, logicalId, resourcesOfType } from './fixture';

/** Every Lambda of the stack: the route handlers and the scheduled ones. */
const ENTRIES = [...Handlers, ...ScheduledHandlers].map((spec) => spec.entry);
/**
 * The push construct's functions (infra/push.ts): off the message path, so outside the 50 KB ceiling. The sender
 * bundles `web-push` (RFC 8291 encryption and the VAPID JWT, with their ASN.1 and JWS code), about 160 KB.
 */
const PUSH_ENTRIES = ['push-wake', 'push-setup'];
const MAX_PUSH_BUNDLE_BYTES = 192 * 1024;

/**
 * Issue #8: each handler bundles only what its route uses (its frame schema, its adapters). The ceiling was
 * 50 KB; the security fixes of issue #12, linked devices, push wake-ups (issue #17) and attachments raised it
 * step by step to 64 KB, and issue #18 §5 held it at 62 KB while zod (`zod/mini`, ~21.7 KB of every frame
 * route) was the floor of each bundle. The schemas moved to valibot (about 6–8 KB of a route): `fanout`, the
 * largest, is 49 416 bytes, and the ceiling is back at the 50 KB goal (BENCHMARKS.md §6).
 */
const MAX_BUNDLE_BYTES = 50 * 1024;

/** Bundling every function with esbuild takes a while on a small machine. */
const BUNDLING_TIMEOUT_MS = 180_000;

/** What loading one bundle with `require` showed: the type of its `handler` export, or the error, and what it wrote to stderr. */
interface LoadOutcome {
  readonly handler?: string;
  readonly error?: string;
  readonly stderr: string;
}

/**
 * Loads every bundle in one Node.js process, one `require` after the other: the AWS SDK the bundles leave to the
 * runtime is then loaded once, not once per bundle (a process per bundle cost ~0.5 s each). Each bundle is its own
 * CommonJS module; what it writes to stderr (warnings included, which Node prints there on a later tick) is
 * collected while it loads and until the next turn of the event loop, so that each outcome is that bundle's alone.
 */
const LOAD_ALL = `
const files = JSON.parse(process.argv[1]);
const outcomes = {};
let current;
const write = process.stderr.write.bind(process.stderr);
process.stderr.write = (chunk, ...rest) => { if (current) { current.stderr += String(chunk); return true; } return write(chunk, ...rest); };
(async () => {
  for (const [entry, file] of Object.entries(files)) {
    current = { stderr: '' };
    try {
      current.handler = typeof require(file).handler;
    } catch (e) {
      current.error = String(e && e.message).slice(0, 500);
    }
    await new Promise((resolve) => setImmediate(resolve));
    outcomes[entry] = current;
    current = undefined;
  }
  process.stdout.write(JSON.stringify(outcomes));
})();
`;

describe('GIVEN the stack synthesized with real esbuild bundling', () => {
  let outdir: string;
  let bundles: Record<string, string>;
  let loaded: Record<string, LoadOutcome>;

  beforeAll(() => {
    process.env.CDK_VALIDATION = 'false';
    outdir = mkdtempSync(path.join(tmpdir(), 'ebb-bundling-'));
    // No `aws:cdk:bundling-stacks` override: every NodejsFunction is bundled by the local esbuild.
    const app = new App({ context: cdkJsonContext(), outdir });
    const stack = new EbbStack(app, 'Ebb');
    const template = Template.fromStack(stack);
    const functions = resourcesOfType(template, 'AWS::Lambda::Function');
    bundles = {};
    const setup = stack.push.node.findChild('Setup').node.findChild('Function') as NodejsFunction;
    const byEntry: Record<string, NodejsFunction> = {
      ...stack.webSocketApi.functions,
      lifecycle: stack.sunsetSchedules.function,
      'push-wake': stack.push.function,
      'push-setup': setup,
    };
    for (const entry of [...ENTRIES, ...PUSH_ENTRIES]) {
      // The asset's S3 key is its content hash, which also names its directory in the cloud assembly.
      const code = functions[logicalId(byEntry[entry]!)]!.Properties!.Code as { S3Key: string };
      bundles[entry] = path.join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
    }
    const files = Object.fromEntries(Object.entries(bundles).map(([entry, dir]) => [entry, path.join(dir, 'index.js')]));
    const result = spawnSync(process.execPath, ['-e', LOAD_ALL, JSON.stringify(files)], {
      encoding: 'utf8',
      // The runtime provides @aws-sdk/*; the repository's copy stands in for it here.
      env: { ...process.env, NODE_PATH: path.join(REPO_ROOT, 'node_modules') },
    });
    if (result.status !== 0) throw new Error(`loading the bundles failed (status ${String(result.status)}): ${result.stderr.slice(0, 1000)}`);
    loaded = JSON.parse(result.stdout) as Record<string, LoadOutcome>;
  }, BUNDLING_TIMEOUT_MS);

  afterAll(() => {
    if (outdir) rmSync(outdir, { recursive: true, force: true });
  });

  test.each([...ENTRIES, ...PUSH_ENTRIES])('THEN the %s asset holds exactly one minified index.js and no source map', (entry) => {
    const dir = bundles[entry]!;
    expect(readdirSync(dir)).toEqual(['index.js']);
    const code = readFileSync(path.join(dir, 'index.js'), 'utf8');
    // Minified output has few lines, however long the sources.
    expect(code.split('\n').length).toBeLessThan(50);
    expect(code).not.toContain('sourceMappingURL');
  });

  test.each([...ENTRIES, ...PUSH_ENTRIES])('THEN the %s bundle leaves the AWS SDK to the runtime', (entry) => {
    const code = readFileSync(path.join(bundles[entry]!, 'index.js'), 'utf8');
    // Every mention of the SDK is a plain require, resolved by the Node.js 22 runtime.
    const mentions = code.match(/@aws-sdk\//g) ?? [];
    const requires = code.match(/require\("@aws-sdk\/[a-z0-9-]+"\)/g) ?? [];
    expect(mentions.length).toBe(requires.length);
    // A budget that one bundled SDK client alone would exceed.
    expect(code.length).toBeLessThan(256 * 1024);
  });

  test.each(ENTRIES)('THEN the %s bundle requires the S3 client exactly when its manifest entry grants the attachments bucket', (entry) => {
    const code = readFileSync(path.join(bundles[entry]!, 'index.js'), 'utf8');
    const spec = [...Handlers, ...ScheduledHandlers].find((s) => s.entry === entry)!;
    // Loading @aws-sdk/client-s3 costs every cold start: only the routes that presign, and the purge, pay it.
    expect(code.includes('require("@aws-sdk/client-s3")')).toBe(Boolean(spec.attachments?.length));
    expect(code.includes('require("@aws-sdk/s3-request-presigner")')).toBe(Boolean(spec.attachments?.length) && entry !== 'lifecycle');
  });

  test.each(ENTRIES)(
    'THEN the %s bundle requires the Secrets Manager and SQS clients exactly when its manifest entry grants the keyring and the wake-up queue',
    (entry) => {
      const code = readFileSync(path.join(bundles[entry]!, 'index.js'), 'utf8');
      const spec = [...Handlers, ...ScheduledHandlers].find((s) => s.entry === entry)!;
      // Each client costs every cold start its require: only the routes that frank or wake devices pay it.
      expect(code.includes('require("@aws-sdk/client-secrets-manager")')).toBe(Boolean(spec.frankingKeys));
      expect(code.includes('require("@aws-sdk/client-sqs")')).toBe(Boolean(spec.wakeups));
    },
  );

  test.each(ENTRIES)('THEN the %s bundle is at most 60 KB minified', (entry) => {
    // Bytes of the asset infra deploys, bundled with its own options: deterministic, unlike a timing.
    expect(statSync(path.join(bundles[entry]!, 'index.js')).size).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });

  test.each(PUSH_ENTRIES)('THEN the %s bundle is at most 192 KB minified', (entry) => {
    expect(statSync(path.join(bundles[entry]!, 'index.js')).size).toBeLessThanOrEqual(MAX_PUSH_BUNDLE_BYTES);
  });

  test.each([...ENTRIES, ...PUSH_ENTRIES])('THEN the %s bundle loads as CommonJS and exports handler', (entry) => {
    expect(loaded[entry]).toEqual({ handler: 'function', stderr: '' });
  });

  test('THEN the cloud assembly has the template next to the assets', () => {
    expect(existsSync(path.join(outdir, 'Ebb.template.json'))).toBe(true);
  });
});
