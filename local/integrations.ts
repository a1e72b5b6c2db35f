import type { PortAdapters } from '../lambdas/adapters/wiring';
import type { Ports } from '../lambdas/core/ports';
import type { WebSocketEvent, WebSocketResponse } from '../lambdas/handlers/events';
import type { HandlerSpec } from '../lambdas/routes';
import * as accountDelete from '../lambdas/handlers/account-delete';
import * as ack from '../lambdas/handlers/ack';
import * as attachmentDownload from '../lambdas/handlers/attachment-download';
import * as attachmentUpload from '../lambdas/handlers/attachment-upload';
import * as connect from '../lambdas/handlers/connect';
import * as deliveryTokenSet from '../lambdas/handlers/delivery-token-set';
import * as defaultRoute from '../lambdas/handlers/default';
import * as deviceAdd from '../lambdas/handlers/device-add';
import * as deviceRemove from '../lambdas/handlers/device-remove';
import * as devicesList from '../lambdas/handlers/devices-list';
import * as disconnect from '../lambdas/handlers/disconnect';
import * as fanout from '../lambdas/handlers/fanout';
import * as fetch from '../lambdas/handlers/fetch';
import * as hello from '../lambdas/handlers/hello';
import * as keysBundle from '../lambdas/handlers/keys-bundle';
import * as keysCount from '../lambdas/handlers/keys-count';
import * as keysPublish from '../lambdas/handlers/keys-publish';
import * as linkFetch from '../lambdas/handlers/link-fetch';
import * as pushRegister from '../lambdas/handlers/push-register';
import * as pushUnregister from '../lambdas/handlers/push-unregister';
import * as register from '../lambdas/handlers/register';
import * as report from '../lambdas/handlers/report';
import * as send from '../lambdas/handlers/send';
import * as status from '../lambdas/handlers/status';
import * as usernameLookup from '../lambdas/handlers/username-lookup';
import * as usernameSet from '../lambdas/handlers/username-set';
import type { Integration } from './gateway';

/** What a route's handler module exports besides its Lambda `handler`. */
interface RouteModule {
  /** A frame route's `adapters` are what its Lambda wires: the module's plus the notifier of the frame budget. */
  readonly route: { invoke(event: WebSocketEvent, ports: Ports): Promise<WebSocketResponse>; readonly adapters?: PortAdapters };
  /** The ports the route's logic uses. */
  readonly adapters: PortAdapters;
}

/** The handler modules the Lambdas are built from, by manifest entry. */
const MODULES: Record<string, RouteModule> = {
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
  fanout,
  fetch,
  ack,
  'username-set': usernameSet,
  'username-lookup': usernameLookup,
  'account-delete': accountDelete,
  report,
  'delivery-token-set': deliveryTokenSet,
  'device-add': deviceAdd,
  'link-fetch': linkFetch,
  'devices-list': devicesList,
  'device-remove': deviceRemove,
  'push-register': pushRegister,
  'push-unregister': pushUnregister,
  'attachment-upload': attachmentUpload,
  'attachment-download': attachmentDownload,
};

/**
 * Every route of `manifest`, each with its own ports, which `portsOf` builds from the entry and the module's
 * `adapters` as the route's Lambda would (the authorizer and scheduled handlers are wired separately).
 */
export function integrations(
  manifest: readonly HandlerSpec[],
  portsOf: (spec: HandlerSpec, adapters: PortAdapters) => Ports,
): Map<string, Integration> {
  const routes = new Map<string, Integration>();
  for (const spec of manifest) {
    if (spec.routeKey === undefined) continue;
    const module = MODULES[spec.entry];
    if (!module) throw new Error(`local stack: no handler module for ${spec.entry}`);
    const ports = portsOf(spec, module.route.adapters ?? module.adapters);
    routes.set(spec.routeKey, { invoke: (event) => module.route.invoke(event, ports), returnsResponse: spec.returnsResponse });
  }
  return routes;
}
