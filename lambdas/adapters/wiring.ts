import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { EbbConfig } from '../../protocol/config';
import type { AfterAnswer, Clock, FrankingKeys, LifecyclePorts, Logger, Ports, PushSettings, Wakeups } from '../core/ports';
import { TableEnv } from '../lambda-env';
import { documentClient } from './dynamodb/shared';
import type { TableKey, TableNames } from './table-definitions';

export interface PortsOptions {
  readonly dynamodb: DynamoDBClient;
  /** Only the tables this handler was granted; touching another fails loudly. */
  readonly tables: Partial<TableNames>;
  readonly management?: ApiGatewayManagementApiClient;
  /** The franking keyring; only the handlers that tag or verify are given one. */
  readonly frankingKeys?: () => FrankingKeys;
  /**
   * On AWS, instead of `frankingKeys`: the ARN of the keyring's secret, which the `frankingKeyring` adapter
   * (franking-keys.ts) reads, so only the handlers that name that adapter bundle the Secrets Manager client.
   */
  readonly frankingSecret?: string;
  /** The wake-up queue; only the handlers that queue copies are given one (`wakeups` in the manifest). */
  readonly wakeups?: () => Wakeups;
  /** On AWS, instead of `wakeups`: the queue's URL, which the `wakeupQueue` adapter (sqs-wakeups.ts) sends to. */
  readonly wakeupQueueUrl?: string;
  /** What the routes know of the push services. @default Web Push off, no plain-http endpoint accepted */
  readonly push?: PushSettings;
  /** The attachments bucket (ARCH §6.12); only the handlers granted access to it are given its name. */
  readonly attachmentsBucket?: string;
  /**
   * The S3 client attachment adapters use; absent on AWS, where they make one from the Lambda's environment.
   * The local stack gives each handler a client signing with the credentials of its own grant.
   */
  readonly s3?: S3Client;
  readonly config: EbbConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Work handed over outside a frame route (which answers first, then waits for it) runs unsupervised. */
const unsupervised: AfterAnswer = { add: (work) => void work.catch(() => undefined) };

/** A deployment without Web Push, accepting only https endpoints. */
export const noWebPush: PushSettings = { vapidPublicKey: () => null, httpOrigins: [] };

/** The route ports plus the sweeper, which only the scheduled lifecycle handler may use. */
export type HandlerPorts = Ports & LifecyclePorts;

/** The ports an adapter builds; clock, config, logger and push settings come straight from the options. */
export type AdaptedPort = Exclude<keyof HandlerPorts, 'clock' | 'config' | 'logger' | 'push' | 'afterAnswer'>;

/** What an adapter is built from. */
export interface AdapterContext {
  readonly db: DynamoDBDocumentClient;
  /** The name of table `key`; throws when this handler was not given it. */
  table(key: TableKey): string;
  readonly options: PortsOptions;
}

/**
 * How each port a handler uses is built. A Lambda names only its own (adapters/port-adapters.ts), so its
 * bundle holds only those implementations. The local stack wires each route from the same `adapters`, and
 * names them all (createPorts) only for the view tests inspect storage through.
 */
export type PortAdapters = { readonly [P in AdaptedPort]?: (context: AdapterContext) => HandlerPorts[P] };

/** Ports built from `adapters`, each on first use; using a port the handler was not wired with throws. */
export function wirePorts(options: PortsOptions, adapters: PortAdapters): HandlerPorts {
  const context: AdapterContext = {
    db: documentClient(options.dynamodb),
    table: (key) => {
      const name = options.tables[key];
      if (!name) throw new Error(`${TableEnv[key]} is not set for this handler`);
      return name;
    },
    options,
  };
  const built: { [P in AdaptedPort]?: HandlerPorts[P] } = {};
  const port = <P extends AdaptedPort>(name: P): HandlerPorts[P] => {
    const made = built[name];
    if (made !== undefined) return made;
    const adapter = adapters[name];
    if (!adapter) throw new Error(`${name} is not wired for this handler`);
    return (built[name] = adapter(context));
  };
  return {
    get accounts() {
      return port('accounts');
    },
    get devices() {
      return port('devices');
    },
    get links() {
      return port('links');
    },
    get prekeys() {
      return port('prekeys');
    },
    get connections() {
      return port('connections');
    },
    get queue() {
      return port('queue');
    },
    get nonces() {
      return port('nonces');
    },
    get usernames() {
      return port('usernames');
    },
    get rateLimiter() {
      return port('rateLimiter');
    },
    get notifier() {
      return port('notifier');
    },
    get reports() {
      return port('reports');
    },
    get frankingKeys() {
      return port('frankingKeys');
    },
    get attachments() {
      return port('attachments');
    },
    get attachmentObjects() {
      return port('attachmentObjects');
    },
    get sweeper() {
      return port('sweeper');
    },
    get pushTokens() {
      return port('pushTokens');
    },
    get wakeupClaims() {
      return port('wakeupClaims');
    },
    get wakeups() {
      return port('wakeups');
    },
    push: options.push ?? noWebPush,
    // A frame route gives each invocation its own (handlers/frame-route.ts).
    afterAnswer: unsupervised,
    clock: options.clock,
    config: options.config,
    logger: options.logger,
  };
}
