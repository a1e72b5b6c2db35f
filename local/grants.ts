import type { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBServiceException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { attachmentS3ClientConfig } from '../lambdas/adapters/s3-client';
import type { TableKey, TableNames } from '../lambdas/adapters/table-definitions';
import { wirePorts, type HandlerPorts, type PortAdapters } from '../lambdas/adapters/wiring';
import type { Clock, FrankingKeys, Logger, PushSettings, Wakeups } from '../lambdas/core/ports';
import type { HandlerSpec } from '../lambdas/routes';
import type { EbbConfig } from '../protocol';
import { LOCAL_AWS } from './dynamo';
import type { LocalS3 } from './s3';

/**
 * Each local Lambda runs with exactly its IAM grant (the manifest entry infra synthesizes it from), so every
 * integration test is also a permissions test: an action a route's grant lacks fails here as it would on AWS.
 */

/** Where the local account and region put tables in an ARN (the message names the table, never the item). */
const LOCAL_TABLE_ARN = 'arn:aws:dynamodb:local:000000000000:table/';

/** What every local Lambda may be given; each gets only what its manifest entry grants. */
export interface LocalServices {
  /** The one client every handler request goes through (faults and `instrumentDynamo` live on it). */
  readonly dynamodb: DynamoDBClient;
  readonly tables: TableNames;
  readonly management: ApiGatewayManagementApiClient;
  readonly frankingKeys: () => FrankingKeys;
  /** The in-process wake-up queue, given only to the routes whose entry has `wakeups`. */
  readonly wakeups: () => Wakeups;
  readonly push: PushSettings;
  /** S3 clients for the attachments bucket, each signing with a credential holding exactly one handler's grant. */
  readonly attachments: LocalAttachmentCredentials;
  readonly config: EbbConfig;
  readonly clock: Clock;
  readonly logger: Logger;
}

/**
 * The ports of one Lambda, built as `portsFromEnv` builds them on AWS: from its handler module's `adapters`,
 * with only the tables its entry names, the management API only when it manages connections, and the
 * franking keyring only when it reads it. Its DynamoDB client refuses every action the entry does not grant.
 */
export function grantedPorts(spec: HandlerSpec, adapters: PortAdapters, services: LocalServices): HandlerPorts {
  const tables: Partial<TableNames> = {};
  for (const key of Object.keys(spec.tables) as TableKey[]) tables[key] = services.tables[key];
  return wirePorts(
    {
      dynamodb: grantedClient(services.dynamodb, spec, services.tables),
      tables,
      management: spec.manageConnections ? services.management : undefined,
      frankingKeys: spec.frankingKeys ? services.frankingKeys : undefined,
      wakeups: spec.wakeups ? services.wakeups : undefined,
      push: services.push,
      ...(spec.attachments?.length && { attachmentsBucket: services.attachments.bucket, s3: services.attachments.clientFor(spec) }),
      config: services.config,
      clock: services.clock,
      logger: services.logger,
    },
    adapters,
  );
}

/**
 * One credential per handler on the local S3 endpoint, with the grant its manifest entry lists (the actions
 * infra gives its role), and an S3 client signing with it: a URL a route presigns can do exactly what that
 * route's role could on AWS.
 */
export class LocalAttachmentCredentials {
  private readonly clients = new Map<string, S3Client>();

  constructor(
    private readonly s3: LocalS3,
    readonly bucket: string,
    private readonly clock: Clock,
  ) {}

  /** The client of `spec`'s credential, issued on first use. */
  clientFor(spec: HandlerSpec): S3Client {
    const made = this.clients.get(spec.entry);
    if (made) return made;
    const credentials = this.s3.credentials.issue({ name: spec.entry, grants: [{ bucket: this.bucket, actions: [...(spec.attachments ?? [])] }] });
    const client = new S3Client({
      endpoint: this.s3.endpoint,
      forcePathStyle: true,
      region: LOCAL_AWS.region,
      credentials,
      maxAttempts: 1,
      ...attachmentS3ClientConfig,
    });
    followClock(client, this.clock);
    this.clients.set(spec.entry, client);
    return client;
  }

  destroy(): void {
    for (const client of this.clients.values()) client.destroy();
  }
}

/**
 * Makes `client` sign header-signed requests (the purge's list and deletes) at the stack's time, which the
 * local endpoint, like S3, holds them to; presigned URLs take the stack's time as their `signingDate`.
 */
export function followClock(client: S3Client, clock: Clock): void {
  client.middlewareStack.add(
    (next) => (args) => {
      client.config.systemClockOffset = clock.now() - Date.now();
      return next(args);
    },
    { step: 'build', name: 'localStackClock' },
  );
}

/**
 * A view of `shared` (same connection, config and middleware, so faults and instrumentation see its requests)
 * that refuses, as DynamoDB refuses a call IAM does not allow, every action `spec` does not grant on every
 * table it names. The middleware is copied when the view is made: instrument `shared` before.
 */
export function grantedClient(shared: DynamoDBClient, spec: HandlerSpec, names: TableNames): DynamoDBClient {
  const keyOf = new Map(Object.entries(names).map(([key, name]) => [name, key as TableKey]));
  const view = Object.create(shared) as DynamoDBClient;
  Object.defineProperty(view, 'middlewareStack', { value: shared.middlewareStack.clone() });
  view.middlewareStack.add(
    (next, context) => async (args) => {
      const action = String(context.commandName ?? '').replace(/Command$/, '');
      for (const table of tablesNamed(args.input)) {
        const key = keyOf.get(table);
        const granted: readonly string[] = (key && spec.tables[key]) || [];
        if (!granted.includes(action)) throw accessDenied(spec.entry, action, table);
      }
      return next(args);
    },
    // After any instrumentation (normal priority): a refused call is still a request DynamoDB answered.
    { step: 'initialize', priority: 'low', name: 'localIamGrant' },
  );
  return view;
}

/** The tables a DynamoDB request acts on: its `TableName`, or the keys of a batch's `RequestItems`. */
function tablesNamed(input: unknown): string[] {
  const { TableName, RequestItems } = (input ?? {}) as { TableName?: unknown; RequestItems?: unknown };
  if (typeof TableName === 'string') return [TableName];
  if (typeof RequestItems === 'object' && RequestItems !== null) return Object.keys(RequestItems);
  // No table named (ListTables, say): the action is checked against no resource, and no grant has it.
  return [''];
}

/** The error the AWS SDK raises for DynamoDB's HTTP 400 `AccessDeniedException`. */
function accessDenied(entry: string, action: string, table: string): DynamoDBServiceException {
  const resource = `${LOCAL_TABLE_ARN}${table || '*'}`;
  return new DynamoDBServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message:
      `User: arn:aws:sts::000000000000:assumed-role/ebb-local/${entry} is not authorized to perform: dynamodb:${action} ` +
      `on resource: ${resource} because no identity-based policy allows the dynamodb:${action} action`,
  });
}
