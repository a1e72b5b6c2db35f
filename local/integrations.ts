import type { Ports } from '../lambdas/core/ports';
import type { WebSocketEvent, WebSocketResponse } from '../lambdas/handlers/events';
import { Handlers } from '../lambdas/routes';
import { route as accountDelete } from '../lambdas/handlers/account-delete';
import { route as ack } from '../lambdas/handlers/ack';
import { route as connect } from '../lambdas/handlers/connect';
import { route as deliveryTokenSet } from '../lambdas/handlers/delivery-token-set';
import { route as defaultRoute } from '../lambdas/handlers/default';
import { route as disconnect } from '../lambdas/handlers/disconnect';
import { route as fetch } from '../lambdas/handlers/fetch';
import { route as hello } from '../lambdas/handlers/hello';
import { route as keysBundle } from '../lambdas/handlers/keys-bundle';
import { route as keysCount } from '../lambdas/handlers/keys-count';
import { route as keysPublish } from '../lambdas/handlers/keys-publish';
import { route as register } from '../lambdas/handlers/register';
import { route as report } from '../lambdas/handlers/report';
import { route as send } from '../lambdas/handlers/send';
import { route as status } from '../lambdas/handlers/status';
import { route as usernameLookup } from '../lambdas/handlers/username-lookup';
import { route as usernameSet } from '../lambdas/handlers/username-set';
import type { Integration } from './gateway';

type Invoke = (event: WebSocketEvent, ports: Ports) => Promise<WebSocketResponse>;

/** The handler modules the Lambdas are built from, by manifest entry. */
const MODULES: Record<string, { invoke: Invoke }> = {
  connect,
  disconnect,
  default: defaultRoute,
  hello,
  status,
  register,
  'keys-publish': keysPublish,
  'keys-count': keysCount,
  'keys-bundle': keysBundle,
  send,
  fetch,
  ack,
  'username-set': usernameSet,
  'username-lookup': usernameLookup,
  'account-delete': accountDelete,
  report,
  'delivery-token-set': deliveryTokenSet,
};

/** Every route of the manifest, bound to `ports` (the authorizer is wired separately). */
export function integrations(ports: Ports): Map<string, Integration> {
  const routes = new Map<string, Integration>();
  for (const spec of Handlers) {
    if (spec.routeKey === undefined) continue;
    const module = MODULES[spec.entry];
    if (!module) throw new Error(`local stack: no handler module for ${spec.entry}`);
    routes.set(spec.routeKey, { invoke: (event) => module.invoke(event, ports), returnsResponse: spec.returnsResponse });
  }
  return routes;
}
