import { EbbError } from '../errors';
import { loadWs } from '../load-module';

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
  constructor(
    readonly retryAfterMs?: number,
    /** The system error when nothing accepted the connection (`ws` reports it; browsers do not). */
    readonly unreachable?: SystemError,
  ) {
    super('the connection could not be opened');
  }
}

/** Node's network errors, typed here so that the SDK needs no Node types. */
type SystemError = Error & { readonly code?: unknown };

/** Errors that mean no server took the connection at all, as opposed to one that answered badly. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH']);

/** The system error behind an `error` event, when it says the host or port is unreachable. */
function unreachableCause(event: unknown): SystemError | undefined {
  const pending: unknown[] = [(event as { error?: unknown } | null)?.error];
  // Node may wrap refusals (one per address tried) in an AggregateError or a `cause`.
  for (let i = 0; i < pending.length && i < 8; i++) {
    // Duck-typed: a system error may come from another realm, where `instanceof Error` fails.
    const error = pending[i] as (SystemError & { errors?: unknown }) | null | undefined;
    if (typeof error !== 'object' || error === null) continue;
    if (typeof error.code === 'string' && UNREACHABLE.has(error.code)) return error;
    if (Array.isArray(error.errors)) pending.push(...(error.errors as unknown[]));
    if (error.cause !== undefined) pending.push(error.cause);
  }
  return undefined;
}

/** The injected constructor, else the platform's, else `ws` (Node 20 has no global WebSocket). */
export async function resolveWebSocket(injected?: WebSocketConstructor): Promise<WebSocketConstructor> {
  if (injected) return injected;
  const global = (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (global) return global;
  const ws = await loadWs();
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
    socket.addEventListener('error', (event) => settle(new SocketFailed(undefined, unreachableCause(event))));
    socket.addEventListener('close', () => settle(new SocketFailed()));
    // `ws` reports the HTTP status of a refused upgrade; listening replaces its generic error.
    const emitter = socket as unknown as {
      on?: (event: string, listener: (req: unknown, res: { statusCode?: number; headers?: Record<string, unknown> }) => void) => void;
    };
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
