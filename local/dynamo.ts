import { CreateTableCommand, DeleteItemCommand, DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { Tables, type TableDefinition, type TableKey, type TableNames } from '../lambdas/adapters/table-definitions';

// dynalite ships no types.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const dynalite = require('dynalite') as (options: Record<string, unknown>) => import('node:http').Server;

/** Credentials and region the local AWS SDK clients sign with; dynalite and the emulator ignore them. */
export const LOCAL_AWS = {
  region: 'local',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

export interface LocalDynamo {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  stop(): Promise<void>;
}

/** dynalite in this process, in memory, on a free loopback port. */
export async function startDynalite(): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS, maxAttempts: 3 });
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The same definitions infra synthesizes, created in dynalite. */
export async function createTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  for (const key of Object.keys(Tables) as TableKey[]) {
    const def: TableDefinition = Tables[key];
    const keys = [def.partitionKey, ...(def.sortKey ? [def.sortKey] : [])];
    await client.send(
      new CreateTableCommand({
        TableName: names[key],
        BillingMode: 'PAY_PER_REQUEST',
        AttributeDefinitions: keys.map((k) => ({ AttributeName: k.name, AttributeType: k.type })),
        KeySchema: keys.map((k, i) => ({ AttributeName: k.name, KeyType: i === 0 ? 'HASH' : 'RANGE' })),
      }),
    );
  }
}

/**
 * dynalite has no TTL: delete what DynamoDB's TTL process would, i.e. items whose TTL attribute (epoch
 * seconds) has passed. Reads already treat such items as absent; this keeps the tables from growing.
 */
export async function sweepExpired(client: DynamoDBClient, names: TableNames, nowMs: number): Promise<number> {
  let deleted = 0;
  const nowSeconds = Math.floor(nowMs / 1000);
  for (const key of Object.keys(Tables) as TableKey[]) {
    const def: TableDefinition = Tables[key];
    if (!def.ttlAttribute) continue;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: names[key],
          FilterExpression: '#ttl <= :now',
          ExpressionAttributeNames: { '#ttl': def.ttlAttribute },
          ExpressionAttributeValues: { ':now': { N: String(nowSeconds) } },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        const itemKey: Record<string, AttributeValue> = { [def.partitionKey.name]: item[def.partitionKey.name]! };
        if (def.sortKey) itemKey[def.sortKey.name] = item[def.sortKey.name]!;
        await client.send(new DeleteItemCommand({ TableName: names[key], Key: itemKey }));
        deleted++;
      }
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return deleted;
}

/** A fault the chaos harness injects into a DynamoDB call, as DynamoDB itself reports it. */
export type DynamoFault = 'throttle' | 'error';
/** Decides per call (operation such as `PutItem`, table name when the call names one); undefined lets it through. */
export type DynamoFaultDecider = (operation: string, table: string | undefined) => DynamoFault | undefined;

interface HttpRequestLike {
  readonly headers: Record<string, string | undefined>;
  readonly body?: unknown;
}
interface RequestHandlerLike {
  handle(request: HttpRequestLike, options?: unknown): Promise<{ response: unknown }>;
}

/**
 * A DynamoDB client whose calls may fail before they reach dynalite, with the status, error type and body
 * DynamoDB sends for throttling (400 ProvisionedThroughputExceededException) and for its own failures
 * (500 InternalServerError). The AWS SDK's retry strategy treats them as it would on AWS.
 */
export function faultInjectingClient(endpoint: string, decide: () => DynamoFaultDecider | undefined): DynamoDBClient {
  const client = new DynamoDBClient({ endpoint, ...LOCAL_AWS, maxAttempts: 3 });
  const config = client.config as unknown as { requestHandler: RequestHandlerLike };
  const inner = config.requestHandler;
  config.requestHandler = {
    async handle(request, options) {
      const fault = decide()?.(operationOf(request), tableOf(request));
      if (fault) return { response: faultResponse(fault) };
      return inner.handle(request, options);
    },
  };
  return client;
}

function operationOf(request: HttpRequestLike): string {
  return (request.headers['x-amz-target'] ?? request.headers['X-Amz-Target'] ?? '').split('.')[1] ?? 'unknown';
}

function tableOf(request: HttpRequestLike): string | undefined {
  const body = request.body instanceof Uint8Array ? new TextDecoder().decode(request.body) : request.body;
  if (typeof body !== 'string') return undefined;
  try {
    const name = (JSON.parse(body) as { TableName?: unknown }).TableName;
    return typeof name === 'string' ? name : undefined;
  } catch {
    return undefined;
  }
}

function faultResponse(fault: DynamoFault) {
  const [statusCode, type, message] =
    fault === 'throttle'
      ? [400, 'ProvisionedThroughputExceededException', 'The level of configured provisioned throughput for the table was exceeded.']
      : [500, 'InternalServerError', 'Internal server error'];
  const body = JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${type}`, message });
  return {
    statusCode,
    reason: type,
    headers: { 'content-type': 'application/x-amz-json-1.0', 'x-amzn-errortype': type, 'content-length': String(Buffer.byteLength(body)) },
    body: Readable.from([Buffer.from(body)]),
  };
}
