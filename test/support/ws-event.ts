import type { WebSocketEvent } from '../../lambdas/handlers/events';
import type { TestIdentity } from './identity';

/** A frame as API Gateway hands it to `routeKey`'s route, on `connectionId`, as the authorizer admitted `uid`. */
export function messageEvent(
  routeKey: string,
  connectionId: string,
  authorizer: { readonly uid: string; readonly signingKey: string },
  body: string,
): WebSocketEvent {
  return {
    requestContext: {
      routeKey,
      eventType: 'MESSAGE',
      connectionId,
      requestId: 'r',
      stage: 'test',
      domainName: 'ebb.test',
      apiId: 'api',
      connectedAt: 0,
      requestTimeEpoch: 0,
      authorizer: { uid: authorizer.uid, dev: '1', signingKey: authorizer.signingKey },
    },
    body,
  };
}

/** `body` as JSON from `id`'s device 1, on its one connection. */
export function identityEvent(routeKey: string, id: TestIdentity, body: unknown): WebSocketEvent {
  return messageEvent(routeKey, `c-${id.uid.slice(0, 6)}`, { uid: id.uid, signingKey: id.pk }, JSON.stringify(body));
}
