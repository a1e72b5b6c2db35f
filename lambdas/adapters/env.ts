import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import * as z from 'zod/mini';
import { resolveConfig } from '../../protocol';
import { LambdaEnv } from '../routes';
import { secretsManagerFrankingKeys } from './franking-keys';
import { jsonLogger } from './logger';
import { createPorts, systemClock, type HandlerPorts } from './ports';
import { Tables, type TableKey, type TableNames } from './table-definitions';

const Env = z.object({
  [LambdaEnv.config]: z.string().check(z.minLength(2)),
  [LambdaEnv.callbackUrl]: z.optional(z.url()),
  [LambdaEnv.frankingSecret]: z.optional(z.string().check(z.minLength(1))),
  AWS_LAMBDA_FUNCTION_NAME: z.optional(z.string()),
});

let cached: HandlerPorts | undefined;

/** Parsed once per cold start. A missing or invalid variable fails the first invocation with its name. */
export function portsFromEnv(env: NodeJS.ProcessEnv = process.env): HandlerPorts {
  if (cached) return cached;
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new Error(`invalid Lambda environment: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  const config = resolveConfig(JSON.parse(parsed.data[LambdaEnv.config]));
  const tables: Partial<TableNames> = {};
  for (const key of Object.keys(Tables) as TableKey[]) {
    const name = env[Tables[key].envVar];
    if (name) tables[key] = name;
  }
  const callbackUrl = parsed.data[LambdaEnv.callbackUrl];
  const frankingSecret = parsed.data[LambdaEnv.frankingSecret];
  cached = createPorts({
    dynamodb: new DynamoDBClient({}),
    tables,
    management: callbackUrl ? new ApiGatewayManagementApiClient({ endpoint: callbackUrl }) : undefined,
    frankingKeys: frankingSecret
      ? () => secretsManagerFrankingKeys(new SecretsManagerClient({}), frankingSecret, systemClock, config.retentionDays)
      : undefined,
    config,
    clock: systemClock,
    logger: jsonLogger({ functionName: parsed.data.AWS_LAMBDA_FUNCTION_NAME, traceId: () => process.env._X_AMZN_TRACE_ID }),
  });
  return cached;
}
