import { Actions } from '../../protocol/actions';
import { portsFromEnv } from '../adapters/env';
import { gatewayNotifier } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import type { Ports } from '../core/ports';
import type { WebSocketEvent, WebSocketResponse } from './events';
import { errorResponse, parseBody, readRid, spendFrame } from './frame-route';

/** No table: the frame is refused without reading one. The notifier closes a connection flooding frames. */
export const adapters = { notifier: gatewayNotifier } satisfies PortAdapters;

/** `$default`: frames that are not JSON or name no known action. */
export async function invoke(event: WebSocketEvent, ports: Ports): Promise<WebSocketResponse> {
  const body = parseBody(event);
  const rid = readRid(body);
  const overBudget = await spendFrame(ports, event, rid);
  if (overBudget) return overBudget;
  const reason = body === undefined ? 'frame is not JSON' : `unknown action: expected one of ${Actions.join(', ')}`;
  ports.logger.info('frame', { action: '$default', requestId: event.requestContext.requestId, code: 'BAD_REQUEST', bytes: event.body?.length ?? 0 });
  return errorResponse(rid, 'BAD_REQUEST', reason);
}

export const route = { invoke };
export const handler = (event: WebSocketEvent): Promise<WebSocketResponse> => invoke(event, portsFromEnv(adapters));
