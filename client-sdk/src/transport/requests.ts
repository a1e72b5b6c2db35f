import * as v from 'valibot';
import type { Action, ClientFrame } from '../../../protocol/frames';
import { type ErrorReason, isErrorCode } from '../../../protocol/errors';
import { ErrorAnswer } from '../../../protocol/server-frames';
import { randomId } from '../crypto/random';
import { EbbError, type EbbErrorReason } from '../errors';
import { type Answer, AnswerSchemas } from './server-frames';
import type { WebSocketLike } from './websocket';

/** A request frame without the fields the connection fills in. */
export type Body<A extends Action> = Omit<ClientFrame<A>, 'action' | 'rid'>;

/**
 * When a request may go out: `ready` once the session is set up (app requests), `open` on any open
 * socket (acks, status), or only on one given socket (setup requests, which fail with it). The
 * first two survive a reconnect and are re-sent: every action is idempotent.
 */
export type RequestMode = 'ready' | 'open' | { readonly socket: WebSocketLike };

interface Pending {
  readonly action: Action;
  readonly text: string;
  readonly mode: RequestMode;
  readonly resolve: (value: never) => void;
  readonly reject: (error: Error) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  sentOn: WebSocketLike | null;
  lostConnection: boolean;
}

/** A setup request's socket closed: the attempt is retried, the error never reaches the app. */
export class ConnectionLost extends Error {}

const MAX_SERVER_MESSAGE = 300;

/**
 * Requests awaiting their answer, by `rid`: each gets exactly one result or error, or times out.
 * Which socket a request goes out on is the caller's decision (`sendPending`).
 */
export class RequestTable {
  private readonly pending = new Map<string, Pending>();
  /** Random per client so rids from two clients in one log are told apart. */
  private readonly ridPrefix = randomId(6);
  private ridCounter = 0;

  constructor(
    private readonly timeoutMs: number,
    /** Whether a timed-out request can blame a lost connection. */
    private readonly isReady: () => boolean,
  ) {}

  /** A frame with a fresh rid that nobody waits for: an error answering it is ignored as an unknown rid. */
  unanswered<A extends Action>(action: A, body: Body<A>): string {
    return JSON.stringify({ action, rid: `${this.ridPrefix}.${++this.ridCounter}`, ...body });
  }

  add<A extends Action>(action: A, body: Body<A>, mode: RequestMode): Promise<Answer<A>> {
    const rid = `${this.ridPrefix}.${++this.ridCounter}`;
    const text = JSON.stringify({ action, rid, ...body });
    return new Promise<Answer<A>>((resolve, reject) => {
      const timer = setTimeout(() => {
        const request = this.pending.get(rid);
        if (!request) return;
        this.pending.delete(rid);
        reject(this.timeoutError(request));
      }, this.timeoutMs);
      this.pending.set(rid, { action, text, mode, resolve: resolve as (value: never) => void, reject, timer, sentOn: null, lostConnection: false });
    });
  }

  /** Sends, in the order they were made, the requests `mayGo` allows that have not yet gone out on `socket`. */
  sendPending(socket: WebSocketLike, mayGo: (mode: RequestMode) => boolean): void {
    for (const request of this.pending.values()) {
      if (request.sentOn === socket || !mayGo(request.mode)) continue;
      try {
        socket.send(request.text);
        request.sentOn = socket;
      } catch {
        return; // the socket is closing; its close event makes everything go out again on the next one
      }
    }
  }

  /** Settles the request an answer frame names. Unknown rids and malformed error frames are ignored. */
  answer(type: 'result' | 'error', rid: string, frame: unknown): void {
    const request = this.pending.get(rid);
    if (!request) return;
    let settle: () => void;
    if (type === 'result') {
      const parsed = v.safeParse(AnswerSchemas[request.action], frame);
      settle = parsed.success
        ? () => request.resolve(parsed.output as never)
        : () => request.reject(new EbbError('INTERNAL', `malformed answer to ${request.action}`));
    } else {
      const parsed = v.safeParse(ErrorAnswer, frame);
      if (!parsed.success) return;
      settle = () => request.reject(errorFromFrame(parsed.output));
    }
    this.pending.delete(rid);
    clearTimeout(request.timer);
    settle();
  }

  /** A socket closed: its setup requests fail, the others are marked for the timeout message. */
  socketClosed(socket: WebSocketLike): void {
    this.fail(new ConnectionLost(), (mode) => typeof mode === 'object');
    for (const request of this.pending.values()) if (request.sentOn === socket) request.lostConnection = true;
  }

  fail(error: Error, which: (mode: RequestMode) => boolean): void {
    for (const [rid, request] of this.pending) {
      if (!which(request.mode)) continue;
      this.pending.delete(rid);
      clearTimeout(request.timer);
      request.reject(error);
    }
  }

  private timeoutError(request: Pending): Error {
    if (typeof request.mode === 'object') return new ConnectionLost();
    const within = `within ${this.timeoutMs} ms`;
    return request.lostConnection || !this.isReady()
      ? new EbbError('INTERNAL', `the connection was lost and the ${request.action} request did not complete ${within}`)
      : new EbbError('INTERNAL', `the server did not answer the ${request.action} request ${within}`);
  }
}

/** The server's refusal reasons (protocol/errors.ts ErrorReasons) under the names EbbError gives them. */
const REASONS: Readonly<Record<ErrorReason, EbbErrorReason>> = {
  'link-code-used': 'used-link-code',
  'device-limit': 'device-limit',
  'device-numbers-used': 'device-numbers-used',
};

function errorFromFrame(frame: v.InferOutput<typeof ErrorAnswer>): EbbError {
  // A code added to the protocol later reaches this client as INTERNAL; a reason added later, as none.
  const code = isErrorCode(frame.code) ? frame.code : 'INTERNAL';
  const reason = frame.reason !== undefined && Object.hasOwn(REASONS, frame.reason) ? REASONS[frame.reason as ErrorReason] : undefined;
  return new EbbError(code, frame.message.slice(0, MAX_SERVER_MESSAGE), {
    retryable: frame.retryable,
    ...(frame.retryAfterSeconds !== undefined && { retryAfterSeconds: frame.retryAfterSeconds }),
    ...(reason !== undefined && { reason }),
  });
}
