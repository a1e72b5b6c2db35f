import { EbbError } from '../errors';
import { importOrRequire } from '../load-module';

/** The part of the WHATWG WebSocket the SDK uses; browsers' and `ws`'s both fit. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: 'open' | 'message' | 'close' | 'error', listener: (event: unknown) => void): void;
}

export type WebSocketConstructor = new (url: string) => WebSocketLike;

const OPEN = 1;

/** Thrown when a socket could not be opened for a reason worth retrying. */
export class SocketFailed extends Error {
  override readonly name = 'SocketFailed';
  constructor(readonly retryAfterMs?: number) {
    super('the connection could not be opened');
  }
}

/** The injected constructor, else the platform's, else `ws` (Node 20 has no global WebSocket). */
export async function resolveWebSocket(injected?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (injected) return injected;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  type WsModule = { WebSocket?: WebSocketConstructor; default?: WebSocketConstructor };
  const ws = await importOrRequire<WsModule>(
    () => import('ws') as Promise<WsModule>,
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS fallback of importOrRequire
    () => require('ws') as WsModule,
  );
  const ctor = ws.WebSocket ?? ws.default;
  if (!ctor) throw new EbbError('INTERNAL', 'no WebSocket implementation: pass the WebSocket option', { retryable: false });
  return ctor;
}

/**
 * Opens a socket and resolves once it is open.
 * @throws EbbError UNAUTHORIZED when the server refuses the upgrade with 401 or 403. Browsers do not
 *   expose the status: there a refusal looks like any other failure.
 * @throws SocketFailed for anything else (network, timeout, other statuses).
 */
export function openSocket(WebSocket: WebSocketConstructor, url: string, timeoutMs: number): Promise<WebSocketLike> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (error?: Error): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) {
        try {
          socket.close();
        } catch {
          // already closed
        }
        reject(error);
      } else resolve(socket);
    };
    const timer = setTimeout(() => settle(new SocketFailed()), timeoutMs);
    let socket: WebSocketLike;
    try {
      socket = new WebSocket(url);
    } catch {
      clearTimeout(timer);
      reject(new SocketFailed());
      return;
    }
    socket.addEventListener('open', () => settle(socket.readyState === OPEN ? undefined : new SocketFailed()));
    socket.addEventListener('error', () => settle(new SocketFailed()));
    socket.addEventListener('close', () => settle(new SocketFailed()));
    // `ws` reports the HTTP status of a refused upgrade; listening replaces its generic error.
    const emitter = socket as unknown as { on?: (event: string, listener: (req: unknown, res: { statusCode?: number; headers?: Record<string, unknown> }) => void) => void };
    if (typeof emitter.on === 'function') {
      emitter.on('unexpected-response', (_req, res) => {
        const status = res.statusCode ?? 0;
        if (status === 401 || status === 403) settle(new EbbError('UNAUTHORIZED', `the server refused the connection (HTTP ${status})`));
        else settle(new SocketFailed(retryAfterMs(res.headers?.['retry-after'])));
      });
    }
  });
}

function retryAfterMs(header: unknown): number | undefined {
  const seconds = typeof header === 'string' ? Number(header) : NaN;
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}
