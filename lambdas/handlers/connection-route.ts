import { portsFromEnv } from '../adapters/env';
import type { PortAdapters } from '../adapters/wiring';
import { callerFromContext } from '../core/connect';
import type { Caller, Ports } from '../core/ports';
import type { WebSocketEvent, WebSocketResponse } from './events';

export interface ConnectionRoute {
  invoke(event: WebSocketEvent, ports: Ports): Promise<WebSocketResponse>;
  handler(event: WebSocketEvent): Promise<WebSocketResponse>;
}

/** `$connect` and `$disconnect`: no frame, just the authorized caller. A non-2xx answer refuses the connection. */
export function connectionRoute(name: string, logic: (ports: Ports, caller: Caller) => Promise<void>, adapters: PortAdapters): ConnectionRoute {
  async function invoke(event: WebSocketEvent, ports: Ports): Promise<WebSocketResponse> {
    const caller = callerFromContext(event.requestContext.connectionId, event.requestContext.authorizer);
    if (!caller) return { statusCode: 401 };
    try {
      await logic(ports, caller);
    } catch (error) {
      ports.logger.error(`${name} failed`, { connectionId: caller.connectionId, error: (error as Error)?.name ?? 'unknown' });
      return { statusCode: 500 };
    }
    ports.logger.info(name, { connectionId: caller.connectionId, userId: caller.userId, device: caller.device });
    return { statusCode: 200 };
  }
  return { invoke, handler: (event) => invoke(event, portsFromEnv(adapters)) };
}
