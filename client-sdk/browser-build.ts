import { existsSync } from 'node:fs';
import { join, sep } from 'node:path';
import type { Plugin } from 'esbuild';

/**
 * The esbuild plugins that make the SDK's bundles (client-sdk/build.ts) and that bench/browser-bundle.ts
 * measures the browser one with, so the bench weighs what the package ships.
 */

const SRC = join(__dirname, 'src');
const PROTOCOL = join(__dirname, '..', 'protocol');

/** Marks a resolve this plugin asked for itself, so it does not answer its own question. */
const OWN = Symbol('ebb-sdk-modules');

/**
 * The SDK's own modules (`client-sdk/src`, `protocol/`), resolved as the package's `"sideEffects": false`
 * declares them: free of side effects, so a module none of whose exports is used is left out. esbuild does not
 * carry valibot's `@__NO_SIDE_EFFECTS__` across modules, so without this every schema of a module the SDK
 * imports for something else (protocol/frames.ts's client frame schemas, which only the server parses) stayed
 * in. With `browser`, a module `x.ts` of `client-sdk/src` that has an `x.browser.ts` beside it is replaced by
 * it: `load-module.browser.ts` names no Node module, `store/file-store.browser.ts` and
 * `attachments/node-put.browser.ts` leave out the file and HTTP code that only runs on Node.
 */
export function sdkModules(options: { readonly browser: boolean }): Plugin {
  return {
    name: 'ebb-sdk-modules',
    setup(build) {
      build.onResolve({ filter: /^\.\.?\// }, async (args) => {
        if (args.pluginData === OWN) return undefined;
        const resolved = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: OWN });
        if (resolved.errors.length > 0 || !isOwn(resolved.path)) return resolved;
        const twin = resolved.path.replace(/\.ts$/, '.browser.ts');
        const path = options.browser && resolved.path.startsWith(SRC + sep) && twin !== args.importer && existsSync(twin) ? twin : resolved.path;
        return { ...resolved, path, sideEffects: false };
      });
    },
  };
}

function isOwn(path: string): boolean {
  return (path.startsWith(SRC + sep) || path.startsWith(PROTOCOL + sep)) && path.endsWith('.ts');
}
