import type { TableKey } from '../../lambdas/adapters/table-definitions';
import type { AdaptedPort, PortAdapters } from '../../lambdas/adapters/wiring';
import { Handlers, ScheduledHandlers, type HandlerSpec } from '../../lambdas/routes';

/** The port that reads and writes each table on the message path. */
const PORT_OF_TABLE: Record<TableKey, AdaptedPort> = {
  accounts: 'accounts',
  prekeys: 'prekeys',
  connections: 'connections',
  queue: 'queue',
  usernames: 'usernames',
  nonces: 'nonces',
  rateLimits: 'rateLimiter',
  reports: 'reports',
};

/** A table walked with Scan is the sweeper's; any other action on it is its own port's. */
const SWEEPER_ACTIONS: ReadonlySet<string> = new Set(['Scan', 'BatchWriteItem']);

/** The ports a Lambda needs to do exactly what its manifest entry grants. */
function portsGranted(spec: HandlerSpec): AdaptedPort[] {
  const ports = new Set<AdaptedPort>();
  for (const [table, actions] of Object.entries(spec.tables) as [TableKey, readonly string[]][]) {
    if (actions.includes('Scan')) {
      ports.add('sweeper');
      if (actions.some((action) => !SWEEPER_ACTIONS.has(action))) ports.add(PORT_OF_TABLE[table]);
    } else {
      ports.add(PORT_OF_TABLE[table]);
    }
  }
  if (spec.manageConnections) ports.add('notifier');
  if (spec.frankingKeys) ports.add('frankingKeys');
  return [...ports].sort();
}

describe('GIVEN each Lambda handler module and its manifest entry', () => {
  test.each([...Handlers, ...ScheduledHandlers].map((spec) => [spec.entry, spec] as const))(
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
      expect(Object.keys(module.route?.adapters ?? module.adapters ?? {}).sort()).toEqual(portsGranted(spec));
    },
  );
});
