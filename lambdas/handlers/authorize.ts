import { portsFromEnv } from '../adapters/env';
import { dynamoAccounts, dynamoNonces, dynamoRateLimiter } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { authorizeConnect } from '../core/connect';
import type { Ports } from '../core/ports';
import type { AuthorizerRequestEvent, AuthorizerResult } from './events';

/** The ports the authorizer uses, and so the tables its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, nonces: dynamoNonces, rateLimiter: dynamoRateLimiter } satisfies PortAdapters;

/**
 * The `Host` header, whatever case its name arrives in (AWS keeps the client's, e.g. `Host`); none when
 * absent or sent twice with different values.
 */
export function hostHeader(headers: AuthorizerRequestEvent['headers']): string | undefined {
  const values = new Set<string>();
  for (const [name, value] of Object.entries(headers ?? {})) if (name.toLowerCase() === 'host' && value !== undefined) values.add(value);
  return values.size === 1 ? [...values][0] : undefined;
}

/**
 * REQUEST authorizer on `$connect`. A refusal throws `Unauthorized`, which API Gateway answers with 401;
 * the reason is logged, never returned.
 */
export async function authorize(event: AuthorizerRequestEvent, ports: Ports): Promise<AuthorizerResult> {
  const decision = await authorizeConnect(ports, {
    query: event.queryStringParameters,
    host: hostHeader(event.headers),
    sourceIp: event.requestContext.identity?.sourceIp,
  });
  ports.logger.info('connect', {
    requestId: event.requestContext.requestId,
    allow: decision.allow,
    reason: decision.allow ? undefined : decision.reason,
    userId: decision.allow ? decision.context.uid : undefined,
  });
  if (!decision.allow) throw new Error('Unauthorized');
  return {
    principalId: decision.context.uid,
    policyDocument: { Version: '2012-10-17', Statement: [{ Action: 'execute-api:Invoke', Effect: 'Allow', Resource: event.methodArn }] },
    context: { ...decision.context },
  };
}

export const handler = (event: AuthorizerRequestEvent): Promise<AuthorizerResult> => authorize(event, portsFromEnv(adapters));
