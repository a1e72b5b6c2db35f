import * as v from 'valibot';
import type { Action } from '../../../protocol/frames';
import { EbbError, badRequest } from '../errors';
import { type BackoffOptions, backoffDelay } from './backoff';
import { type Body, ConnectionLost, RequestTable, type RequestMode } from './requests';
import { FrameHead } from '../../../protocol/server-frames';
import type { Answer } from './server-frames';
import { SocketFailed, type WebSocketConstructor, type WebSocketLike, openSocket } from './websocket';

export type { Body, RequestMode } from './requests';

export type Request = <A extends Action>(action: A, body: Body<A>) => Promise<Answer<A>>;

export interface ConnectionOptions {
  /** A freshly signed URL for each attempt. */
  readonly connectUrl: () => string;
  readonly webSocket: () => Promise<WebSocketConstructor>;
  /** Runs on every new socket before app requests flow: hello, register, prekeys, drain. */
  readonly setup: (request: Request) => Promise<void>;
  /** Server pushes (`message`, `notice`), still unvalidated. */
  readonly onPush: (type: string, frame: unknown) => void;
  /** The connection gave up while reconnecting, with no connect() call to report to. */
  readonly onStopped: (error: EbbError) => void;
  readonly timeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
}

/**
 * idle: connect() not called (or the first one gave up) · connecting: attempts with backoff ·
 * ready: set up, app requests flow · stopped: refused for good (socket kept for status and
 * notices, no reconnect) · closed: close() was called.
 */
type State = 'idle' | 'connecting' | 'ready' | 'stopped' | 'closed';

const OPEN = 1;
/** Opening a socket takes a round trip or two: a stuck handshake is retried sooner than a request times out. */
const OPEN_TIMEOUT_MS = 10_000;
const CLOSE_WAIT_MS = 1000;
/**
 * A 401 on reconnecting, with credentials that worked before, is not necessarily final: the authorizer
 * also answers 401 when the connect rate limit (per source IP, shared behind a NAT) is exhausted.
 * Retried with backoff this many times in a row before the client stops.
 */
const MAX_REFUSED_RECONNECTS = 5;

/**
 * One logical connection over successive sockets: reconnects with backoff after an unexpected
 * close, runs setup on each new socket, and re-sends unanswered requests.
 */
export class Connection {
  private state: State = 'idle';
  private socket: WebSocketLike | null = null;
  private stopError: EbbError | null = null;
  private everReady = false;
  private readonly requests: RequestTable;
  private readonly readyWaiters = new Set<{ resolve: () => void; reject: (error: Error) => void }>();
  private wake: (() => void) | null = null;
  private loops = 0;
  private refusedReconnects = 0;
  /** The last setup started on a new socket: close() waits for it, so nothing it stores lands after close(). */
  private settingUp: Promise<void> | null = null;

  constructor(private readonly options: ConnectionOptions) {
    this.requests = new RequestTable(options.timeoutMs, () => this.state === 'ready');
  }

  get isOpen(): boolean {
    return this.socket?.readyState === OPEN;
  }

  /**
   * Connects (or joins the attempt in progress) and resolves once setup has completed.
   * @throws EbbError UNAUTHORIZED (not retryable) when the server refuses the upgrade.
   * @throws EbbError from setup, e.g. SIGNUPS_CLOSED, when the server refuses it for good.
   * @throws EbbError INTERNAL (retryable) when not ready within the timeout.
   * @throws EbbError INTERNAL (retryable) with `reason: 'unreachable'` at once when nothing listens at the URL
   *   (refused, no such host). Browsers do not expose why a socket failed: there it ends at the timeout.
   */
  connect(): Promise<void> {
    if (this.state === 'closed') return Promise.reject(closedError());
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'idle' || this.state === 'stopped') {
      this.dropSocket();
      this.state = 'connecting';
      this.stopError = null;
      void this.reconnectLoop(false);
    }
    return this.whenReady(this.options.timeoutMs, true);
  }

  /**
   * Resolves when the session is ready.
   * @throws EbbError INTERNAL (retryable) after `timeoutMs`; the error that stopped the connection.
   */
  whenReady(timeoutMs: number, abandonOnTimeout = false): Promise<void> {
    if (this.state === 'ready') return Promise.resolve();
    if (this.state === 'closed') return Promise.reject(closedError());
    if (this.state === 'stopped') return Promise.reject(this.stopError!);
    if (this.state === 'idle') return Promise.reject(badRequest('call connect() first'));
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const timer = setTimeout(() => {
        this.readyWaiters.delete(waiter);
        const error = new EbbError('INTERNAL', `could not connect to the server within ${timeoutMs} ms`);
        // A first connect that cannot finish gives up entirely; the app may call connect() again.
        if (abandonOnTimeout && !this.everReady && this.state === 'connecting') {
          this.state = 'idle';
          this.dropSocket();
          this.wake?.();
          this.requests.fail(error, () => true);
        }
        reject(error);
      }, timeoutMs);
      this.readyWaiters.add(waiter);
    });
  }

  /**
   * Sends a request and resolves with its answer.
   * @throws EbbError with the server's code and retryability when it answers with an error.
   * @throws EbbError INTERNAL (retryable) when no answer arrives within the timeout, e.g. because
   *   the connection was lost and could not be re-established in time.
   */
  request<A extends Action>(action: A, body: Body<A>, mode: 'ready' | 'open' = 'ready'): Promise<Answer<A>> {
    if (this.state === 'closed') return Promise.reject(closedError());
    if (this.state === 'idle') return Promise.reject(badRequest('call connect() first'));
    if (this.state === 'stopped' && !(mode === 'open' && this.isOpen)) return Promise.reject(this.stopError!);
    return this.send(action, body, mode);
  }

  /**
   * Sends a frame whose success the server does not answer (a quiet `ack`) on the open socket, now, and
   * forgets it: nothing is re-sent. False when no socket is open or the client is closed, so the caller
   * can make it a request instead.
   */
  post<A extends Action>(action: A, body: Body<A>): boolean {
    const socket = this.socket;
    if (this.state === 'closed' || this.state === 'idle' || !socket || socket.readyState !== OPEN) return false;
    try {
      socket.send(this.requests.unanswered(action, body));
      return true;
    } catch {
      return false; // the socket is closing
    }
  }

  /**
   * Stops for good with `error`, as a refusal at setup does: no reconnect, requests fail with it, and
   * `onStopped` reports it. For a server push that says no later attempt can succeed.
   */
  refuse(error: EbbError): void {
    if (this.state === 'ready' || this.state === 'connecting') this.stop(error);
  }

  /** Stops reconnecting, fails pending requests and closes the socket. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.wake?.();
    this.requests.fail(closedError(), () => true);
    for (const waiter of this.readyWaiters) waiter.reject(closedError());
    this.readyWaiters.clear();
    const socket = this.socket;
    this.socket = null;
    if (socket && socket.readyState <= OPEN) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, CLOSE_WAIT_MS);
        socket.addEventListener('close', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.close(1000);
      });
    }
    // A setup still running (its requests failed above) may yet store what it was answered: let it finish.
    if (this.settingUp) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([this.settingUp, new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
    }
  }

  private send<A extends Action>(action: A, body: Body<A>, mode: RequestMode): Promise<Answer<A>> {
    // A setup that goes on after its socket closed (or after close()) would otherwise wait out the timeout.
    if (this.state === 'closed') return Promise.reject(closedError());
    if (typeof mode === 'object' && mode.socket.readyState !== OPEN) return Promise.reject(new ConnectionLost());
    const answer = this.requests.add(action, body, mode);
    this.pump();
    return answer;
  }

  /** Sends what may go out on the current socket now. */
  private pump(): void {
    const socket = this.socket;
    if (!socket || socket.readyState !== OPEN) return;
    this.requests.sendPending(socket, (mode) => (typeof mode === 'object' ? mode.socket === socket : mode === 'open' || this.state === 'ready'));
  }

  private async reconnectLoop(afterDrop: boolean): Promise<void> {
    // Only the newest loop runs: an abandoned connect() may still be awaiting when the next starts.
    const id = ++this.loops;
    const live = (): boolean => this.state === 'connecting' && this.loops === id;
    let failures = 0;
    if (afterDrop) await this.sleep(backoffDelay(failures++, this.options.backoff));
    while (live()) {
      const outcome = await this.attempt(live);
      if (outcome === 'done' || !live()) return;
      await this.sleep(backoffDelay(failures++, this.options.backoff, outcome.retryAfterMs));
    }
  }

  private async attempt(live: () => boolean): Promise<'done' | { retryAfterMs?: number }> {
    let socket: WebSocketLike;
    let url = '';
    try {
      const WebSocket = await this.options.webSocket();
      url = this.options.connectUrl();
      socket = await openSocket(WebSocket, url, Math.min(this.options.timeoutMs, OPEN_TIMEOUT_MS));
    } catch (err) {
      if (!live()) return 'done';
      // A first connect to where nothing listens is a wrong URL or a server not started: say so now.
      // Once connected, the same error is a server restarting, retried with backoff.
      if (err instanceof SocketFailed && err.unreachable && !this.everReady) {
        this.abandon(unreachableError(url, err.unreachable));
        return 'done';
      }
      if (err instanceof SocketFailed) return err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs };
      if (EbbError.is(err, 'UNAUTHORIZED') && this.everReady && ++this.refusedReconnects <= MAX_REFUSED_RECONNECTS) return {};
      this.stop(EbbError.is(err) ? err : new EbbError('INTERNAL', 'could not open a connection', { retryable: false }));
      return 'done';
    }
    if (!live()) {
      socket.close(1000);
      return 'done';
    }
    this.adopt(socket);
    const setup = this.options.setup((action, body) => this.send(action, body, { socket }));
    this.settingUp = setup.then(
      () => undefined,
      () => undefined,
    );
    try {
      await setup;
    } catch (err) {
      if (!live()) return 'done';
      if (EbbError.is(err) && !err.retryable) {
        // Kept open on purpose: `status` and `notice` frames still tell the app why.
        this.stop(err);
        return 'done';
      }
      this.dropSocket();
      return EbbError.is(err) && err.retryAfterSeconds !== undefined ? { retryAfterMs: err.retryAfterSeconds * 1000 } : {};
    }
    if (!live()) return 'done';
    if (this.socket !== socket) return {};
    this.state = 'ready';
    this.everReady = true;
    this.refusedReconnects = 0;
    for (const waiter of this.readyWaiters) waiter.resolve();
    this.readyWaiters.clear();
    this.pump();
    return 'done';
  }

  private adopt(socket: WebSocketLike): void {
    this.socket = socket;
    socket.addEventListener('message', (event) => {
      const data = (event as { data?: unknown }).data;
      if (this.socket === socket && typeof data === 'string') this.receive(data);
    });
    socket.addEventListener('close', () => {
      if (this.socket === socket) this.onDrop(socket);
    });
    this.pump();
  }

  private onDrop(socket: WebSocketLike): void {
    this.socket = null;
    this.requests.socketClosed(socket);
    if (this.state === 'ready') {
      this.state = 'connecting';
      void this.reconnectLoop(true);
    } else if (this.state === 'stopped') {
      this.requests.fail(this.stopError!, () => true);
    }
  }

  private receive(text: string): void {
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch {
      return;
    }
    const head = v.safeParse(FrameHead, frame);
    if (!head.success) return;
    const { type, rid } = head.output;
    if (type === 'result' || type === 'error') {
      if (typeof rid === 'string') this.requests.answer(type, rid, frame);
    } else {
      this.options.onPush(type, frame);
    }
  }

  private stop(error: EbbError): void {
    this.state = 'stopped';
    this.stopError = error;
    const waiters = [...this.readyWaiters];
    this.readyWaiters.clear();
    for (const waiter of waiters) waiter.reject(error);
    this.requests.fail(error, (mode) => mode === 'ready' || !this.isOpen);
    if (waiters.length === 0 && this.everReady) this.options.onStopped(error);
  }

  /** Gives up a first connect: back to idle, so that connect() may be called again. */
  private abandon(error: EbbError): void {
    this.state = 'idle';
    const waiters = [...this.readyWaiters];
    this.readyWaiters.clear();
    for (const waiter of waiters) waiter.reject(error);
    this.requests.fail(error, () => true);
  }

  private dropSocket(): void {
    const socket = this.socket;
    if (!socket) return;
    this.onDrop(socket);
    try {
      socket.close(1000);
    } catch {
      // already closing
    }
  }

  /** A delay that close() cuts short. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

/** Names the URL without its signed query, which is a credential for a few minutes. */
function unreachableError(url: string, cause: Error & { readonly code?: unknown }): EbbError {
  let where = url;
  try {
    const parsed = new URL(url);
    where = `${parsed.protocol}//${parsed.host}${parsed.pathname === '/' ? '' : parsed.pathname}`;
  } catch {
    where = 'the service URL';
  }
  const what = cause.code === 'ECONNREFUSED' ? 'connection refused' : cause.code === 'ENOTFOUND' ? 'no such host' : 'host unreachable';
  return new EbbError('INTERNAL', `${what} at ${where}: is the server running, and is this its URL?`, {
    retryable: true,
    reason: 'unreachable',
    cause,
  });
}

function closedError(): EbbError {
  return new EbbError('INTERNAL', 'the client was closed', { retryable: false });
}
