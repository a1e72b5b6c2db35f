import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as z from 'zod/mini';
import { LambdaEnv, TableEnv } from '../lambda-env';
import { parseDeployedConfig } from './deployed-config';
import { jsonLogger } from './logger';
import type { TableKey, TableNames } from './table-definitions';
import { systemClock, wirePorts, type HandlerPorts, type PortAdapters } from './wiring';

/**
 * A URL the WHATWG parser accepts, as `z.url()` checks it: a refinement rather than `z.url()` because the latter
 * bundles zod's URL schema and hostname patterns, about 1.8 KB of every Lambda for two variables infra writes.
 */
const Url = z.string().check(z.refine((value) => URL.canParse(value)));

const Env = z.object({
  [LambdaEnv.config]: z.string().check(z.minLength(2)),
  [LambdaEnv.callbackUrl]: z.optional(Url),
  [LambdaEnv.frankingSecret]: z.optional(z.string().check(z.minLength(1))),
  [LambdaEnv.wakeupQueueUrl]: z.optional(Url),
  [LambdaEnv.vapidPublicKey]: z.optional(z.string().check(z.regex(/^[A-Za-z0-9_-]{87}$/))),
  [LambdaEnv.attachmentsBucket]: z.optional(z.string().check(z.minLength(3), z.maxLength(63))),
  AWS_LAMBDA_FUNCTION_NAME: z.optional(z.string()),
});

let cached: HandlerPorts | undefined;

/**
 * The Lambda's ports, built from the `adapters` its handler module names (and nothing else, so the bundle
 * holds only those). Parsed once per cold start. A missing or invalid variable fails the first invocation
 * with its name.
 */
export function portsFromEnv(adapters: PortAdapters, env: NodeJS.ProcessEnv = process.env): HandlerPorts {
  if (cached) return cached;
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new Error(`invalid Lambda environment: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  const config = parseDeployedConfig(parsed.data[LambdaEnv.config]);
  const tables: Partial<TableNames> = {};
  for (const key of Object.keys(TableEnv) as TableKey[]) {
    const name = env[TableEnv[key]];
    if (name) tables[key] = name;
  }
  const callbackUrl = parsed.data[LambdaEnv.callbackUrl];
  const frankingSecret = parsed.data[LambdaEnv.frankingSecret];
  const wakeupQueueUrl = parsed.data[LambdaEnv.wakeupQueueUrl];
  const vapidPublicKey = parsed.data[LambdaEnv.vapidPublicKey] ?? null;
  cached = wirePorts(
    {
      dynamodb: new DynamoDBClient({}),
      tables,
      management: callbackUrl ? new ApiGatewayManagementApiClient({ endpoint: callbackUrl }) : undefined,
      // Read by the keyring and wake-up queue adapters, which only the routes using them bundle.
      frankingSecret,
      wakeupQueueUrl,
      // Every endpoint must be https on AWS: only the local stack accepts its receiver's plain http.
      push: { vapidPublicKey: () => vapidPublicKey, httpOrigins: [] },
      attachmentsBucket: parsed.data[LambdaEnv.attachmentsBucket],
      config,
      clock: systemClock,
      logger: jsonLogger({ functionName: parsed.data.AWS_LAMBDA_FUNCTION_NAME, traceId: () => process.env._X_AMZN_TRACE_ID }),
    },
    adapters,
  );
  return cached;
}
