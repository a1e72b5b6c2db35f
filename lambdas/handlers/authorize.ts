import { portsFromEnv } from '../adapters/env';
import { authorizeConnect } from '../core/connect';
import type { Ports } from '../core/ports';
import type { AuthorizerRequestEvent, AuthorizerResult } from './events';

/**
 * REQUEST authorizer on `$connect`. A refusal throws `Unauthorized`, which API Gateway answers with 401;
 * the reason is logged, never returned.
 */
export async function authorize(event: AuthorizerRequestEvent, ports: Ports): Promise<AuthorizerResult> {
  const decision = await authorizeConnect(ports, event.queryStringParameters);
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

export const handler = (event: AuthorizerRequestEvent): Promise<AuthorizerResult> => authorize(event, portsFromEnv());
