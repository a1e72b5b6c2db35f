import { build } from 'esbuild';

// The packaged browser build goes further and names no node: module at all (test/package/sdk-package.test.ts).
describe('browser bundle', () => {
  it('bundles index.ts for browsers with node: modules only inside load-module.ts, loaded lazily', async () => {
    const result = await build({
      entryPoints: ['client-sdk/src/index.ts'],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      external: ['node:*', 'ws'],
      write: false,
      logLevel: 'silent',
    });
    expect(result.errors).toEqual([]);
    const code = result.outputFiles[0]!.text;

    // esbuild marks where each module starts with a `// path` comment.
    const modules = [...code.matchAll(/^\/\/ (\S+\.ts)$/gm)].map((m) => ({ path: m[1]!, at: m.index! }));
    const moduleAt = (at: number): string => modules.filter((m) => m.at < at).pop()?.path ?? '(prelude)';
    const uses = [...code.matchAll(/(import|require)\(\s*"(node:[^"]+)"\s*\)/g)].map((m) => ({ specifier: m[2], module: moduleAt(m.index!) }));

    expect(code).not.toMatch(/^\s*import\s[^;]*from\s*"node:/m);
    expect(code.match(/"node:[^"]*"/g)?.length).toBe(uses.length);
    expect(new Set(uses.map((u) => u.specifier))).toEqual(new Set(['node:fs/promises', 'node:path', 'node:http', 'node:https', 'node:crypto']));
    expect(new Set(uses.map((u) => u.module))).toEqual(new Set(['client-sdk/src/load-module.ts']));
    // `ws` is only ever loaded on demand too.
    expect(code).not.toMatch(/^\s*import\s[^;]*from\s*"ws"/m);
  });
});
