import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';
import { sdkModules } from '../client-sdk/browser-build';
import { BROWSER_BUILD } from '../local/web';

export interface BrowserBundleResult {
  /** The SDK's public surface bundled for browsers, minified. */
  readonly minifiedBytes: number;
  /** The same, gzipped (level 9), as a server would send it. */
  readonly gzippedBytes: number;
}

/**
 * Bundles `client-sdk/src/index.ts` as an app would for browsers (esbuild, ESM, minified; `node:*` and `ws`,
 * which the SDK loads only where a browser API is missing, left out) and measures it. The SDK's modules go in
 * as the package's browser build has them (client-sdk/browser-build.ts: the `.browser.ts` twins, and modules
 * none of whose exports is used left out).
 */
export async function measureBrowserBundle(): Promise<BrowserBundleResult> {
  const result = await build({
    ...BROWSER_BUILD,
    entryPoints: [join(__dirname, '..', 'client-sdk', 'src', 'index.ts')],
    plugins: [sdkModules({ browser: true })],
  });
  const code = result.outputFiles[0]!.contents;
  return { minifiedBytes: code.length, gzippedBytes: gzipSync(code, { level: 9 }).length };
}
