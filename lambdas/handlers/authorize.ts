import { portsFromEnv } from '../adapters/env';
import { dynamoAccounts, dynamoNonces, dynamoRateLimiter } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { authorizeConnect, type ConnectDecision } from '../core/connect';
import type { Ports } from '../core/ports';
import { takeRateToken } from '../core/rate-limits';
import type { AuthorizerRequestEvent, AuthorizerResult } from './events';

/** The ports the authorizer uses, and so the tables its manifest entry grants. */
export const adapters = { accounts: dynamoAccounts, nonces: dynamoNonces, rateLimiter: dynamoRateLimiter } satisfies PortAdapters;

/**
 * REQUEST authorizer on `$connect`. A refusal throws `Unauthorized`, which API Gateway answers with 401;
 * the reason is logged, never returned.
 */
export async function authorize(event: AuthorizerRequestEvent, ports: Ports): Promise<AuthorizerResult> {
  const sourceIp = event.requestContext.identity?.sourceIp;
  // Every attempt costs a token, refused ones too; the authorizer can only answer 401, so the reason is logged.
  const rate = sourceIp === undefined ? { allowed: true } : await takeRateToken(ports, 'connect', sourceIp);
  const decision: ConnectDecision = rate.allowed
    ? await authorizeConnect(ports, event.queryStringParameters)
    : { allow: false, reason: 'rate limited' };
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
