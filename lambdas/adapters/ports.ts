import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EbbConfig } from '../../protocol';
import type { Clock, FrankingKeys, LifecyclePorts, Logger, Notifier, Ports } from '../core/ports';
import {
  DynamoAccounts,
  DynamoConnections,
  DynamoNonces,
  DynamoPrekeys,
  DynamoQueue,
  DynamoRateLimiter,
  DynamoReports,
  DynamoSweeper,
  DynamoUsernames,
  documentClient,
} from './dynamodb';
import { GatewayNotifier } from './notifier';
import { Tables, type TableKey, type TableNames } from './table-definitions';

export interface PortsOptions {
  readonly dynamodb: DynamoDBClient;
  /** Only the tables this handler was granted; touching another fails loudly. */
  readonly tables: Partial<TableNames>;
  readonly management?: ApiGatewayManagementApiClient;
  /** The franking keyring; only the handlers that tag or verify are given one. */
  readonly frankingKeys?: () => FrankingKeys;
  readonly config: EbbConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}

export const systemClock: Clock = { now: () => Date.now() };

/** The route ports plus the sweeper, which only the scheduled lifecycle handler may use. */
export type HandlerPorts = Ports & LifecyclePorts;

/** Ports over DynamoDB and the management API, each built on first use. */
export function createPorts(options: PortsOptions): HandlerPorts {
  const db = documentClient(options.dynamodb);
  const table = (key: TableKey): string => {
    const name = options.tables[key];
    if (!name) throw new Error(`${Tables[key].envVar} is not set for this handler`);
    return name;
  };
  const lazy = <T>(make: () => T): (() => T) => {
    let value: T | undefined;
    return () => (value ??= make());
  };
  const accounts = lazy(() => new DynamoAccounts(db, table('accounts')));
  const prekeys = lazy(() => new DynamoPrekeys(db, table('prekeys')));
  const connections = lazy(() => new DynamoConnections(db, table('connections')));
  const queue = lazy(() => new DynamoQueue(db, table('queue'), options.config.retentionDays));
  const nonces = lazy(() => new DynamoNonces(db, table('nonces')));
  const usernames = lazy(() => new DynamoUsernames(db, table('usernames')));
  const rateLimiter = lazy(() => new DynamoRateLimiter(db, table('rateLimits')));
  const reports = lazy(() => new DynamoReports(db, table('reports')));
  const sweeper = lazy(() => new DynamoSweeper(db, table));
  const frankingKeys = lazy((): FrankingKeys => {
    if (!options.frankingKeys) throw new Error('EBB_FRANKING_SECRET is not set for this handler');
    return options.frankingKeys();
  });
  const notifier = lazy((): Notifier => {
    if (!options.management) throw new Error('EBB_CALLBACK_URL is not set for this handler');
    return new GatewayNotifier(options.management, options.logger);
  });
  return {
    get accounts() {
      return accounts();
    },
    get prekeys() {
      return prekeys();
    },
    get connections() {
      return connections();
    },
    get queue() {
      return queue();
    },
    get nonces() {
      return nonces();
    },
    get usernames() {
      return usernames();
    },
    get rateLimiter() {
      return rateLimiter();
    },
    get notifier() {
      return notifier();
    },
    get reports() {
      return reports();
    },
    get frankingKeys() {
      return frankingKeys();
    },
    get sweeper() {
      return sweeper();
    },
    clock: options.clock,
    config: options.config,
    logger: options.logger,
  };
}
