import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';
import { Limits } from '../protocol';
import { type ConnectionsHost, connectionsPathId, serveConnectionsApi } from './connections-api';
import { GatewayMeter } from './gateway-meter';
import { APIGW_CLOSE, limitFrameSize, sendFramed } from './ws-frames';
import type {
  AuthorizerRequestEvent,
  AuthorizerResult,
  WebSocketEvent,
  WebSocketRequestContext,
  WebSocketResponse,
} from '../lambdas/handlers/events';

/**
 * An API Gateway WebSocket API on loopback: REQUEST authorizer and `$connect` with the real event shapes,
 * route selection on `$request.body.action`, two-way routes, the 32 KB frame / 128 KB message limits
 * (close 1009, ws-frames.ts), idle and maximum connection durations, and the `@connections` management
 * endpoint (connections-api.ts).
 */

export interface Integration {
  invoke(event: WebSocketEvent): Promise<WebSocketResponse>;
  /** Two-way route: the integration's response body is sent back to the caller. */
  readonly returnsResponse: boolean;
}

export interface GatewayOptions {
  readonly port: number;
  readonly host?: string;
  readonly stage?: string;
  readonly authorizer: (event: AuthorizerRequestEvent) => Promise<AuthorizerResult>;
  /** Query-string identity sources: a request missing one is refused with 401 before the authorizer runs. */
  readonly identitySources: readonly string[];
  readonly routes: ReadonlyMap<string, Integration>;
  /** Idle and maximum connection durations, in the clock's milliseconds. @default 10 minutes, 2 hours */
  readonly idleTimeoutMs?: number;
  readonly maxConnectionMs?: number;
  /** The stack's clock: connection limits and event times follow it, so a test moving it sees them apply. @default Date.now */
  readonly now?: () => number;
  /** Hook for the fault-injection harness: may fail a management-API call before it is served. */
  readonly interceptManagement?: (method: string, connectionId: string) => number | undefined;
}

interface LiveConnection {
  readonly id: string;
  readonly socket: WebSocket;
  readonly authorizer: Record<string, string>;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  lastActiveAt: number;
}

/** How often, in real time, connections are checked against the clock for their idle and duration limits. */
const LIMIT_CHECK_MS = 250;

/** Fault injection for tests: decide, per two-way reply, whether the client gets it or loses its connection. */
export interface GatewayFaults {
  beforeReply?(routeKey: string, connectionId: string): 'deliver' | 'sever';
}

export class WebSocketGateway {
  /** Test hook; empty by default. */
  faults: GatewayFaults = {};
  /** Answers plain HTTP requests other than `@connections` (the web chat, local/web.ts); true when it did. */
  pages?: (req: IncomingMessage, res: ServerResponse, pathname: string) => boolean;
  readonly meter = new GatewayMeter();
  private readonly server: Server;
  private readonly wss: WebSocketServer;
  private readonly connections = new Map<string, LiveConnection>();
  /** Integration invocations not finished yet. */
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly stage: string;
  private readonly apiId = 'local';
  private port = 0;
  private readonly now: () => number;
  private readonly idleTimeoutMs: number;
  private readonly maxConnectionMs: number;
  private limitTimer?: NodeJS.Timeout;
  /** What the `@connections` endpoint acts on. */
  private readonly managementApi: ConnectionsHost<LiveConnection> = {
    find: (connectionId) => {
      const connection = this.connections.get(connectionId);
      return connection && !this.closeIfExpired(connection) ? connection : undefined;
    },
    send: (connection, body) => {
      this.meter.message('outbound', body.length);
      sendFramed(connection.socket, body.toString('utf8'));
      this.touch(connection);
    },
    disconnect: (connection) => this.drop(connection, APIGW_CLOSE.normal, ''),
    intercept: (method, connectionId) => this.options.interceptManagement?.(method, connectionId),
  };

  constructor(private readonly options: GatewayOptions) {
    this.stage = options.stage ?? 'local';
    this.now = options.now ?? (() => Date.now());
    this.idleTimeoutMs = options.idleTimeoutMs ?? Limits.idleTimeoutMs;
    this.maxConnectionMs = options.maxConnectionMs ?? Limits.maxConnectionMs;
    this.server = createServer((req, res) => {
      this.serveHttp(req, res).catch(() => {
        // Never let one request take the stack down; the error itself may carry request data.
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    // ws enforces the whole-message limit; the per-frame limit is added per socket in accept().
    this.wss = new WebSocketServer({ noServer: true, maxPayload: Limits.maxMessageBytes });
    this.server.on('upgrade', (req, socket: Socket, head) => void this.upgrade(req, socket, head));
  }

  async listen(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host ?? '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
    // Short overrides (tests in real time) are checked often enough to close near their limit.
    const every = Math.max(10, Math.min(LIMIT_CHECK_MS, this.idleTimeoutMs / 4, this.maxConnectionMs / 4));
    this.limitTimer = setInterval(() => this.enforceLimits(), every).unref();
  }

  get url(): string {
    return `ws://${this.options.host ?? '127.0.0.1'}:${this.port}`;
  }

  /** Where the management API client points (`@connections` lives under the stage, as on AWS). */
  get callbackUrl(): string {
    return `http://${this.options.host ?? '127.0.0.1'}:${this.port}/${this.stage}`;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** Resolves once no integration is running: the work routes do after their answer (ARCH §6.13) included. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /** Closes every connection (each gets its $disconnect), waits for integrations still running, stops listening. */
  async close(): Promise<void> {
    clearInterval(this.limitTimer);
    const closing = [...this.connections.values()].map((c) => this.drop(c, APIGW_CLOSE.goingAway, 'Going away'));
    await Promise.all(closing);
    // A $disconnect for a socket the client closed may still be writing: storage must outlive it.
    await this.idle();
    for (const client of this.wss.clients) client.terminate();
    this.wss.close();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private requestContext(
    connectionId: string,
    routeKey: string,
    eventType: WebSocketRequestContext['eventType'],
    connectedAt: number,
    sourceIp: string,
    authorizer?: Record<string, string>,
  ): WebSocketRequestContext {
    const now = this.now();
    return {
      routeKey,
      eventType,
      connectionId,
      requestId: randomUUID(),
      messageId: eventType === 'MESSAGE' ? randomBytes(8).toString('base64url') : undefined,
      stage: this.stage,
      domainName: `127.0.0.1:${this.port}`,
      apiId: this.apiId,
      connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp },
      authorizer: authorizer ? { ...authorizer, principalId: authorizer.principalId ?? '' } : undefined,
    };
  }

  private async upgrade(req: IncomingMessage, socket: Socket, head: Buffer): Promise<void> {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    const url = parseTarget(req.url);
    if (!url) return refuse(400, 'Bad Request');
    try {
      // No prototype: a parameter named `__proto__` or `constructor` is just a parameter.
      const query = Object.create(null) as Record<string, string>;
      const multi = Object.create(null) as Record<string, string[]>;
      for (const [k, v] of url.searchParams) {
        query[k] = v;
        (multi[k] ??= []).push(v);
      }
      if (this.options.identitySources.some((name) => !query[name])) return refuse(401, 'Unauthorized');

      const connectionId = randomBytes(12).toString('base64url');
      const connectedAt = this.now();
      const sourceIp = req.socket.remoteAddress ?? '127.0.0.1';
      // As the client sent them, names in their own case (`Host`, as AWS passes it): the authorizer checks `Host`.
      const headers = Object.create(null) as Record<string, string>;
      const multiHeaders = Object.create(null) as Record<string, string[]>;
      for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
        const [name, value] = [req.rawHeaders[i]!, req.rawHeaders[i + 1]!];
        headers[name] = value;
        (multiHeaders[name] ??= []).push(value);
      }
      const context = this.requestContext(connectionId, '$connect', 'CONNECT', connectedAt, sourceIp);
      const authEvent: AuthorizerRequestEvent & Record<string, unknown> = {
        type: 'REQUEST',
        methodArn: `arn:aws:execute-api:local:000000000000:${this.apiId}/${this.stage}/$connect`,
        headers,
        multiValueHeaders: multiHeaders,
        queryStringParameters: query,
        multiValueQueryStringParameters: multi,
        stageVariables: {},
        requestContext: context,
      };

      let policy: AuthorizerResult;
      this.meter.invoked('$authorizer');
      try {
        policy = await this.options.authorizer(authEvent);
      } catch (error) {
        return (error as Error)?.message === 'Unauthorized' ? refuse(401, 'Unauthorized') : refuse(500, 'Internal Server Error');
      }
      if (!policy.policyDocument.Statement.some((s) => s.Effect === 'Allow')) return refuse(403, 'Forbidden');
      const authorizer: Record<string, string> = { ...(policy.context ?? {}), principalId: policy.principalId };

      const connectRoute = this.options.routes.get('$connect');
      if (connectRoute) {
        this.meter.invoked('$connect');
        const response = await connectRoute.invoke({
          requestContext: this.requestContext(connectionId, '$connect', 'CONNECT', connectedAt, sourceIp, authorizer),
          queryStringParameters: query,
          isBase64Encoded: false,
        });
        if (response.statusCode < 200 || response.statusCode > 299) return refuse(response.statusCode, 'Refused');
      }
      if (socket.destroyed) {
        await this.disconnectIntegration(connectionId, connectedAt, sourceIp, authorizer);
        return;
      }
      this.wss.handleUpgrade(req, socket, head, (ws) =>
        this.accept({
          id: connectionId,
          socket: ws,
          authorizer,
          connectedAt,
          sourceIp,
          userAgent: req.headers['user-agent'] ?? '',
          lastActiveAt: connectedAt,
        }),
      );
    } catch {
      refuse(500, 'Internal Server Error');
    }
  }

  private accept(connection: LiveConnection): void {
    this.connections.set(connection.id, connection);
    this.meter.connects++;
    limitFrameSize(connection.socket, Limits.maxFrameBytes);
    connection.socket.on('message', (data, isBinary) => {
      // The clock may have moved past a limit since the last check: API Gateway would have closed it by now.
      if (this.closeIfExpired(connection)) return;
      this.touch(connection);
      const body = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
      this.meter.message('inbound', body.length);
      void this.route(connection, isBinary ? body.toString('base64') : body.toString('utf8'), isBinary);
    });
    connection.socket.on('close', () => void this.forget(connection));
    connection.socket.on('error', () => connection.socket.terminate());
  }

  private touch(connection: LiveConnection): void {
    // A frame can still arrive during the close handshake, after the connection was forgotten.
    if (!this.connections.has(connection.id)) return;
    connection.lastActiveAt = this.now();
  }

  /** Closes, as API Gateway does with 1001, a connection past its idle or maximum duration on the clock. */
  private closeIfExpired(connection: LiveConnection, now = this.now()): boolean {
    if (!this.connections.has(connection.id)) return false;
    if (now - connection.lastActiveAt < this.idleTimeoutMs && now - connection.connectedAt < this.maxConnectionMs) return false;
    void this.drop(connection, APIGW_CLOSE.goingAway, 'Going away');
    return true;
  }

  private enforceLimits(): void {
    const now = this.now();
    for (const connection of [...this.connections.values()]) this.closeIfExpired(connection, now);
  }

  /** `$request.body.action` selects the route; anything else goes to `$default`. */
  private async route(connection: LiveConnection, body: string, isBase64Encoded: boolean): Promise<void> {
    let routeKey = '$default';
    if (!isBase64Encoded) {
      try {
        const action = (JSON.parse(body) as { action?: unknown })?.action;
        if (typeof action === 'string' && !action.startsWith('$') && this.options.routes.has(action)) routeKey = action;
      } catch {
        // Not JSON: $default.
      }
    }
    const integration = this.options.routes.get(routeKey);
    if (!integration) return;
    this.meter.invoked(routeKey);
    const event: WebSocketEvent = {
      requestContext: this.requestContext(connection.id, routeKey, 'MESSAGE', connection.connectedAt, connection.sourceIp, connection.authorizer),
      body,
      isBase64Encoded,
    };
    let response: WebSocketResponse;
    try {
      response = await this.track(integration.invoke(event));
    } catch {
      // A Lambda that throws: API Gateway answers the caller with a generic error message.
      response = { statusCode: 500, body: JSON.stringify({ message: 'Internal server error' }) };
    }
    if (integration.returnsResponse && response.body !== undefined && connection.socket.readyState === WebSocket.OPEN) {
      if (this.faults.beforeReply?.(routeKey, connection.id) === 'sever') {
        connection.socket.terminate();
        return;
      }
      this.meter.message('outbound', Buffer.byteLength(response.body));
      sendFramed(connection.socket, response.body);
    }
  }

  private track<T>(invocation: Promise<T>): Promise<T> {
    this.inflight.add(invocation);
    const done = () => this.inflight.delete(invocation);
    invocation.then(done, done);
    return invocation;
  }

  private async forget(connection: LiveConnection): Promise<void> {
    if (!this.connections.delete(connection.id)) return;
    await this.disconnectIntegration(connection.id, connection.connectedAt, connection.sourceIp, connection.authorizer);
  }

  private async disconnectIntegration(id: string, connectedAt: number, sourceIp: string, authorizer: Record<string, string>): Promise<void> {
    const route = this.options.routes.get('$disconnect');
    if (!route) return;
    this.meter.invoked('$disconnect');
    try {
      await this.track(route.invoke({ requestContext: this.requestContext(id, '$disconnect', 'DISCONNECT', connectedAt, sourceIp, authorizer) }));
    } catch {
      // $disconnect is best effort on AWS too.
    }
  }

  private async drop(connection: LiveConnection, code: number, reason: string): Promise<void> {
    if (connection.socket.readyState === WebSocket.OPEN) connection.socket.close(code, reason);
    else connection.socket.terminate();
    await this.forget(connection);
  }

  /** Kills a connection without a close handshake, as a network failure would (used by fault tests). */
  sever(connectionId: string): boolean {
    const connection = this.connections.get(connectionId);
    if (!connection) return false;
    connection.socket.terminate();
    return true;
  }

  private async serveHttp(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = parseTarget(req.url);
    if (!url) {
      res.writeHead(400, { 'content-type': 'text/plain' });
      res.end('Bad Request\n');
      return;
    }
    const connectionId = connectionsPathId(url.pathname);
    if (connectionId === undefined) {
      if (this.pages?.(req, res, url.pathname)) return;
      res.writeHead(url.pathname === '/' ? 426 : 404, { 'content-type': 'text/plain' });
      res.end(url.pathname === '/' ? 'ebb local stack: connect with a WebSocket client\n' : 'Not Found\n');
      return;
    }
    await serveConnectionsApi(req, res, connectionId, this.managementApi);
  }
}

/** The request target as a URL, or undefined when it is not one (API Gateway answers those 400). */
function parseTarget(target: string | undefined): URL | undefined {
  try {
    return new URL(target ?? '/', 'http://local');
  } catch {
    return undefined;
  }
}
