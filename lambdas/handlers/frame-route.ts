import * as v from 'valibot';
import { isRetryable, type ErrorCode } from '../../protocol/errors';
import { Rid } from '../../protocol/fields';
import type { Action, ClientFrame, ClientFrames, ErrorFrame, Results } from '../../protocol/frames';
import { describeIssues } from '../../protocol/issues';
import { portsFromEnv } from '../adapters/env';
import { gatewayNotifier } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { callerFromContext } from '../core/connect';
import { frameBudget } from '../core/frame-budget';
import type { AfterAnswer, Caller, Ports } from '../core/ports';
import { Refusal, type RefusalOptions } from '../core/refusal';
import type { WebSocketEvent, WebSocketResponse } from './events';

/** A route's logic: the caller and a frame already checked against the protocol schema. */
export type RouteLogic<A extends Action> = (ports: Ports, caller: Caller, frame: ClientFrame<A>) => Promise<Results[A]>;

export interface FrameRoute {
  readonly action: Action;
  /** Runs the route against the given ports; the local stack calls this with its own. */
  invoke(event: WebSocketEvent, ports: Ports): Promise<WebSocketResponse>;
  /** The Lambda entry point: ports from the environment, built once per cold start. */
  handler(event: WebSocketEvent): Promise<WebSocketResponse>;
  /** Every port the route builds: its own and the notifier that closes a flooding connection. */
  readonly adapters: PortAdapters;
}

/** The work one invocation's logic handed over to run after its answer. */
class Afterwards implements AfterAnswer {
  private readonly pending = new Set<Promise<void>>();
  add(work: Promise<void>): void {
    const held: Promise<void> = work.catch(() => undefined).finally(() => this.pending.delete(held));
    this.pending.add(held);
  }
  get busy(): boolean {
    return this.pending.size > 0;
  }
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
  }
}

/** Frames of each connection this container served (core/frame-budget.ts). */
const frames = frameBudget();

/**
 * Counts the frame against its connection's budget: undefined within it. The first frame past it is answered
 * `RATE_LIMITED` through the management API, then the connection is closed (a two-way reply would not reach
 * it); frames already on their way get the error as their reply.
 */
export async function spendFrame(ports: Ports, event: WebSocketEvent, rid: string | null): Promise<WebSocketResponse | undefined> {
  const { connectionId } = event.requestContext;
  const spent = frames.spend(connectionId, ports.config.rateLimits, ports.clock.now());
  if (spent === 'allowed') return undefined;
  const refusal = errorResponse(rid, 'RATE_LIMITED', 'too many frames: connection closed');
  if (spent === 'closing') return refusal;
  try {
    await ports.notifier.push(connectionId, refusal.body!);
    await ports.notifier.disconnect(connectionId);
  } catch (error) {
    ports.logger.error('closing failed', { connectionId, error: (error as Error)?.name ?? 'unknown' });
  }
  return { statusCode: 200 };
}

export function errorResponse(rid: string | null, code: ErrorCode, message: string, options: RefusalOptions = {}): WebSocketResponse {
  const frame: ErrorFrame = { type: 'error', rid, code, message, retryable: isRetryable(code) };
  if (options.retryAfterSeconds !== undefined) frame.retryAfterSeconds = options.retryAfterSeconds;
  if (options.reason !== undefined) frame.reason = options.reason;
  return { statusCode: 200, body: JSON.stringify(frame) };
}

/** The frame's `rid` when it has a valid one, so even a rejected frame can be matched to its request. */
export function readRid(body: unknown): string | null {
  if (typeof body !== 'object' || body === null) return null;
  const parsed = v.safeParse(Rid, (body as { rid?: unknown }).rid);
  return parsed.success ? parsed.output : null;
}

export function parseBody(event: WebSocketEvent): unknown {
  const text = event.isBase64Encoded && event.body ? Buffer.from(event.body, 'base64').toString('utf8') : event.body;
  if (typeof text !== 'string') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * Parse at the edge, run one core function, map the outcome to exactly one result or error frame.
 * `schema` is the action's own frame schema and `adapters` build only the ports the route uses, so a Lambda
 * bundles nothing of the other routes.
 */
export interface FrameRouteOptions<A extends Action> {
  /** Frames this answers only when they fail: a success sends no `result` (one API Gateway message less). */
  readonly resultless?: (frame: ClientFrame<A>) => boolean;
}

export function frameRoute<A extends Action>(
  action: A,
  schema: (typeof ClientFrames)[A],
  logic: RouteLogic<A>,
  adapters: PortAdapters,
  options: FrameRouteOptions<A> = {},
): FrameRoute {
  async function invoke(event: WebSocketEvent, ports: Ports): Promise<WebSocketResponse> {
    const started = Date.now();
    const { connectionId, requestId } = event.requestContext;
    const body = parseBody(event);
    const rid = readRid(body);
    const caller = callerFromContext(connectionId, event.requestContext.authorizer, event.requestContext.identity?.sourceIp);
    let outcome: WebSocketResponse;
    let code: ErrorCode | 'OK' = 'OK';
    const afterwards = new Afterwards();
    const overBudget = await spendFrame(ports, event, rid);
    if (overBudget) {
      code = 'RATE_LIMITED';
      outcome = overBudget;
    } else if (!caller) {
      code = 'UNAUTHORIZED';
      outcome = errorResponse(rid, code, 'connection is not authenticated');
    } else if (body === undefined) {
      code = 'BAD_REQUEST';
      outcome = errorResponse(null, code, 'frame is not JSON');
    } else {
      const parsed = v.safeParse(schema, body);
      if (!parsed.success) {
        code = 'BAD_REQUEST';
        outcome = errorResponse(rid, code, describeIssues(parsed.issues));
      } else {
        const frame = parsed.output as ClientFrame<A>;
        try {
          const result = await logic(Object.create(ports, { afterAnswer: { value: afterwards } }) as Ports, caller, frame);
          outcome = options.resultless?.(frame)
            ? { statusCode: 200 }
            : { statusCode: 200, body: JSON.stringify({ type: 'result', rid: frame.rid, ...result }) };
        } catch (error) {
          if (error instanceof Refusal) {
            code = error.code;
            outcome = errorResponse(frame.rid, error.code, error.message, error);
          } else {
            code = 'INTERNAL';
            // Name only: messages and stacks can carry request data.
            ports.logger.error('route failed', { action, requestId, error: (error as Error)?.name ?? 'unknown' });
            outcome = errorResponse(frame.rid, code, 'internal error, retry later');
          }
        }
      }
    }
    ports.logger.info('frame', {
      action,
      requestId,
      connectionId,
      userId: caller?.userId,
      code,
      bytes: event.body?.length ?? 0,
      ms: Date.now() - started,
    });
    if (afterwards.busy) {
      // ARCH §6.13: the answer goes out first, through the management API; the work then finishes before the
      // invocation ends. Should that post not go through, the answer waits for the work and is returned as usual.
      const answered = outcome.body !== undefined && (await ports.notifier.push(connectionId, outcome.body)) === 'sent';
      await afterwards.settled();
      if (answered) return { statusCode: 200 };
    }
    return outcome;
  }
  const wired: PortAdapters = { ...adapters, notifier: gatewayNotifier };
  return {
    action,
    invoke,
    handler: (event) => invoke(event, portsFromEnv(wired)),
    adapters: wired,
  };
}
