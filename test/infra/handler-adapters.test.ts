import type { TableKey } from '../../lambdas/adapters/table-definitions';
import type { AdaptedPort, PortAdapters } from '../../lambdas/adapters/wiring';
import { Handlers, QueueHandlers, ScheduledHandlers, type HandlerSpec } from '../../lambdas/routes';

/**
 * The ports that read and write each table on the message path: linked devices live on account items
 * (`devices`) and link items in the queue table (`links`), each in a port of its own so that only the routes
 * that change them carry their code.
 */
const PORTS_OF_TABLE: Record<TableKey, readonly AdaptedPort[]> = {
  accounts: ['accounts', 'devices'],
  prekeys: ['prekeys'],
  connections: ['connections'],
  queue: ['queue', 'links'],
  usernames: ['usernames'],
  nonces: ['nonces'],
  rateLimits: ['rateLimiter'],
  reports: ['reports'],
  pushTokens: ['pushTokens', 'wakeupClaims'],
};

/** A table walked with Scan is the sweeper's; any other action on it is its own port's. */
const SWEEPER_ACTIONS: ReadonlySet<string> = new Set(['Scan', 'BatchWriteItem']);

/**
 * What a Lambda's manifest entry grants, as ports: each granted table (or the sweeper, for a Scan), the
 * notifier, the keyring and the attachments bucket. A Lambda must wire at least one port of each, and no port of anything else.
 */
function portsGranted(spec: HandlerSpec): (readonly AdaptedPort[])[] {
  const granted: (readonly AdaptedPort[])[] = [];
  for (const [table, actions] of Object.entries(spec.tables) as [TableKey, readonly string[]][]) {
    if (actions.includes('Scan')) {
      granted.push(['sweeper']);
      if (actions.some((action) => !SWEEPER_ACTIONS.has(action))) granted.push(PORTS_OF_TABLE[table]);
    } else {
      granted.push(PORTS_OF_TABLE[table]);
    }
  }
  if (spec.manageConnections) granted.push(['notifier']);
  if (spec.frankingKeys) granted.push(['frankingKeys']);
  if (spec.wakeups) granted.push(['wakeups']);
  // Presigning (object actions only, or GetObject with the ListBucket that makes a missing key 404) is the
  // attachment store's; listing and deleting objects is the purge's.
  if (spec.attachments?.includes('s3:DeleteObject')) granted.push(['attachmentObjects']);
  else if (spec.attachments?.length) granted.push(['attachments']);
  return granted;
}

describe('GIVEN each Lambda handler module and its manifest entry', () => {
  test.each([...Handlers, ...ScheduledHandlers, ...QueueHandlers].map((spec) => [spec.entry, spec] as const))(
    'THEN %s builds its ports from the adapters of exactly what the manifest grants it',
    (entry, spec) => {
      // WHEN the module is loaded as its Lambda would load it
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- the module named by the manifest entry
      const module = require(`../../lambdas/handlers/${entry}`) as {
        adapters?: PortAdapters;
        route?: { adapters?: PortAdapters };
        handler?: unknown;
      };
      expect(typeof module.handler).toBe('function');
      // THEN the ports it wires (a frame route adds the notifier that closes flooding connections) are those
      // its tables, management API and keyring grants imply, no more, no fewer
      const wired = Object.keys(module.route?.adapters ?? module.adapters ?? {}) as AdaptedPort[];
      const granted = portsGranted(spec);
      expect(wired.filter((port) => !granted.some((ports) => ports.includes(port)))).toEqual([]);
      expect(granted.filter((ports) => !ports.some((port) => wired.includes(port)))).toEqual([]);
    },
  );
});
