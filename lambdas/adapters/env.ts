import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import * as v from 'valibot';
import { LambdaEnv, TableEnv } from '../lambda-env';
import { parseDeployedConfig } from './deployed-config';
import { jsonLogger } from './logger';
import type { TableKey, TableNames } from './table-definitions';
import { systemClock, wirePorts, type HandlerPorts, type PortAdapters } from './wiring';

/**
 * A URL the WHATWG parser accepts: `URL.canParse` rather than valibot's `url()`, which builds a `URL` to find out.
 */
const Url = v.pipe(
  v.string(),
  v.check((value) => URL.canParse(value)),
);

const Env = v.object({
  [LambdaEnv.config]: v.pipe(v.string(), v.minLength(2)),
  [LambdaEnv.callbackUrl]: v.optional(Url),
  [LambdaEnv.frankingSecret]: v.optional(v.pipe(v.string(), v.minLength(1))),
  [LambdaEnv.wakeupQueueUrl]: v.optional(Url),
  [LambdaEnv.vapidPublicKey]: v.optional(v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{87}$/))),
  [LambdaEnv.attachmentsBucket]: v.optional(v.pipe(v.string(), v.minLength(3), v.maxLength(63))),
  AWS_LAMBDA_FUNCTION_NAME: v.optional(v.string()),
});

let cached: HandlerPorts | undefined;

/**
 * The Lambda's ports, built from the `adapters` its handler module names (and nothing else, so the bundle
 * holds only those). Parsed once per cold start. A missing or invalid variable fails the first invocation
 * with its name.
 */
export function portsFromEnv(adapters: PortAdapters, env: NodeJS.ProcessEnv = process.env): HandlerPorts {
  if (cached) return cached;
  const parsed = v.safeParse(Env, env);
  if (!parsed.success)
    throw new Error(`invalid Lambda environment: ${parsed.issues.map((i) => (i.path ?? []).map((p) => String(p.key)).join('.')).join(', ')}`);
  const config = parseDeployedConfig(parsed.output[LambdaEnv.config]);
  const tables: Partial<TableNames> = {};
  for (const key of Object.keys(TableEnv) as TableKey[]) {
    const name = env[TableEnv[key]];
    if (name) tables[key] = name;
  }
  const callbackUrl = parsed.output[LambdaEnv.callbackUrl];
  const frankingSecret = parsed.output[LambdaEnv.frankingSecret];
  const wakeupQueueUrl = parsed.output[LambdaEnv.wakeupQueueUrl];
  const vapidPublicKey = parsed.output[LambdaEnv.vapidPublicKey] ?? null;
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
      attachmentsBucket: parsed.output[LambdaEnv.attachmentsBucket],
      config,
      clock: systemClock,
      logger: jsonLogger({ functionName: parsed.output.AWS_LAMBDA_FUNCTION_NAME, traceId: () => process.env._X_AMZN_TRACE_ID }),
    },
    adapters,
  );
  return cached;
}
