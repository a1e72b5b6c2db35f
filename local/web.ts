import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { build, type BuildOptions } from 'esbuild';
import type { WebSocketGateway } from './gateway';

const WEB_DIR = join(__dirname, '..', 'web');

/**
 * How code using the SDK is bundled for browsers, here and in the benchmark's size measurement: ESM,
 * minified, with `node:*` and `ws` left out — the SDK loads those only where no browser API exists.
 */
export const BROWSER_BUILD = {
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  external: ['node:*', 'ws'],
  write: false,
  logLevel: 'silent',
} as const satisfies BuildOptions;

interface Asset {
  readonly body: Buffer;
  readonly type: string;
  /** The response's Content-Security-Policy, when not the page's. */
  readonly csp?: string;
}

/**
 * The service worker's own policy: it fetches nothing and runs no other script; it only shows a notification,
 * focuses or opens the chat (ARCH §6.13).
 */
const WORKER_CSP = "default-src 'none'";

/**
 * The web chat (`web/`) as the gateway serves it: the page, its stylesheet, one script bundled
 * from `web/app.ts` and the SDK by esbuild, and the service worker (`/sw.js`, from `web/sw.ts`: a classic
 * script, as `navigator.serviceWorker.register` loads one by default), in memory. `deployment` is written into the page: the
 * page keeps its identity in an IndexedDB database named after it, because a local stack's tables
 * live in memory and a restarted stack knows none of the accounts an earlier one registered.
 */
export async function buildWebChat(deployment: string = randomBytes(8).toString('hex')): Promise<Map<string, Asset>> {
  const [html, css, bundle, worker] = await Promise.all([
    readFile(join(WEB_DIR, 'index.html'), 'utf8'),
    readFile(join(WEB_DIR, 'style.css')),
    build({ ...BROWSER_BUILD, entryPoints: [join(WEB_DIR, 'app.ts')] }),
    build({ ...BROWSER_BUILD, format: 'iife', entryPoints: [join(WEB_DIR, 'sw.ts')] }),
  ]);
  const page = html.replace('{{deployment}}', deployment);
  return new Map([
    ['/', { body: Buffer.from(page), type: 'text/html; charset=utf-8' }],
    ['/style.css', { body: css, type: 'text/css; charset=utf-8' }],
    ['/app.js', { body: Buffer.from(bundle.outputFiles[0]!.contents), type: 'text/javascript; charset=utf-8' }],
    ['/sw.js', { body: Buffer.from(worker.outputFiles[0]!.contents), type: 'text/javascript; charset=utf-8', csp: WORKER_CSP }],
  ]);
}

/**
 * Builds the web chat and has the stack's gateway serve it over plain HTTP on its own port, beside the
 * WebSocket. Resolves with the page's URL (`http://127.0.0.1:<port>/`). `connectSources` are the other
 * origins the page may fetch from (the stack's S3 endpoint, for attachments); the rest stay refused.
 */
export async function serveWebChat(gateway: WebSocketGateway, connectSources: readonly string[] = []): Promise<string> {
  const assets = await buildWebChat();
  const sources = connectSources.map((source) => new URL(source).origin);
  gateway.pages = (req, res, pathname) => serveAsset(assets, req, res, pathname, sources);
  return `${gateway.url.replace(/^ws/, 'http')}/`;
}

function serveAsset(
  assets: Map<string, Asset>,
  req: IncomingMessage,
  res: ServerResponse,
  pathname: string,
  connectSources: readonly string[],
): boolean {
  const asset = assets.get(pathname === '/index.html' ? '/' : pathname);
  if (!asset || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  res.writeHead(200, {
    'content-type': asset.type,
    'content-length': asset.body.length,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // 'self' covers the WebSocket on the same host and port (CSP Level 3).
    'content-security-policy':
      asset.csp ??
      `default-src 'none'; script-src 'self'; style-src 'self'; connect-src ${["'self'", ...connectSources].join(' ')}; img-src 'self' data: blob:; media-src blob:; ` +
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  });
  res.end(req.method === 'HEAD' ? undefined : asset.body);
  return true;
}
