import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import { Limits } from '../protocol';

/**
 * The API Gateway management API on the local gateway: `@connections/{id}` under the stage, POST to send, GET
 * for the connection's details, DELETE to close it, and 410 with `x-amzn-ErrorType: GoneException` for a
 * connection that is not there, so the real management API client works against it unchanged.
 */

/** What the management API reads of a live connection. */
export interface ManagedConnection {
  readonly socket: WebSocket;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly lastActiveAt: number;
}

/** The gateway's side of the management API. */
export interface ConnectionsHost<C extends ManagedConnection> {
  /** The connection with this id; undefined when there is none or it is past its limits (then closed). */
  find(connectionId: string): C | undefined;
  /** Sends a posted message to the connection as API Gateway does (framed, metered, counted as activity). */
  send(connection: C, body: Buffer): void;
  /** Closes the connection normally; its `$disconnect` runs. */
  disconnect(connection: C): Promise<void>;
  /** Fault injection: a status to fail the call with before it is served. */
  intercept?(method: string, connectionId: string): number | undefined;
}

const CONNECTIONS_PATH = /^(?:\/[^/]+)?\/@connections\/([^/]+)$/;

/** The (still encoded) connection id a management API path names, or undefined when it is not one. */
export function connectionsPathId(pathname: string): string | undefined {
  return CONNECTIONS_PATH.exec(pathname)?.[1];
}

export async function serveConnectionsApi<C extends ManagedConnection>(
  req: IncomingMessage,
  res: ServerResponse,
  encodedId: string,
  host: ConnectionsHost<C>,
): Promise<void> {
  const connectionId = decodeURIComponent(encodedId);
  const method = req.method ?? 'GET';
  const injected = host.intercept?.(method, connectionId);
  if (injected !== undefined) return managementError(res, injected);
  const connection = host.find(connectionId);
  if (!connection) return managementError(res, 410);

  if (method === 'POST') {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > Limits.maxMessageBytes) return managementError(res, 413);
      chunks.push(chunk as Buffer);
    }
    if (connection.socket.readyState !== WebSocket.OPEN) return managementError(res, 410);
    host.send(connection, Buffer.concat(chunks));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{}');
  } else if (method === 'GET') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      }),
    );
  } else if (method === 'DELETE') {
    await host.disconnect(connection);
    res.writeHead(204);
    res.end();
  } else {
    res.writeHead(405);
    res.end();
  }
}

/** The error shapes API Gateway's management API uses, which the AWS SDK maps to exception classes. */
function managementError(res: ServerResponse, status: number): void {
  const type =
    status === 410
      ? 'GoneException'
      : status === 413
        ? 'PayloadTooLargeException'
        : status === 429
          ? 'LimitExceededException'
          : status === 403
            ? 'ForbiddenException'
            : 'InternalServerErrorException';
  res.writeHead(status, { 'content-type': 'application/json', 'x-amzn-ErrorType': type });
  res.end(JSON.stringify({ message: type }));
}
