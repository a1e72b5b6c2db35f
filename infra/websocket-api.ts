import { type CfnElement, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { AccessLogField, AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { WebSocketLambdaAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { WebSocketLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EbbConfig } from '../protocol/config';
import { SIGNED_QUERY_PARAMS } from '../protocol/connect';
import type { TableKey } from '../lambdas/adapters/table-definitions';
import { Handlers, LambdaEnv, type HandlerSpec } from '../lambdas/routes';
import { ApiGatewayLogRole } from './api-gateway-log-role';
import type { EbbAttachmentsBucket } from './attachments-bucket';
import type { EbbFrankingKeyring } from './franking-keyring';
import { EbbHandlerFunction } from './handler-function';
import { invalid, requireNumber, requireWholeNumber } from './validate';

export interface EbbWebSocketApiOptions {
  /**
   * The Lambdas to create: exactly one without a route key (the `$connect` authorizer), one per route.
   * @default Handlers from lambdas/routes.ts
   */
  readonly handlers?: readonly HandlerSpec[];

  /**
   * Directory holding the handler modules.
   * @default lambdas/handlers
   */
  readonly handlersDir?: string;

  /**
   * @default 'prod'
   */
  readonly stageName?: string;

  /**
   * Default route throttling of the stage, across all clients. Per-user limits are `rateLimits` in the config.
   * @default { rateLimit: 500, burstLimit: 1000 }
   */
  readonly throttle?: apigwv2.ThrottleSettings;

  /**
   * Retention of the access log and of every function's log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * Timeout of every route handler.
   * @default Duration.seconds(10)
   */
  readonly routeTimeout?: Duration;

  /**
   * Timeout of the `$connect` authorizer, which does one read and one conditional put.
   * @default Duration.seconds(5)
   */
  readonly authorizerTimeout?: Duration;

  /**
   * Memory of every function, in MB (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * Set the account's API Gateway CloudWatch role, without which a WebSocket stage with access logs
   * fails to deploy. That role is one setting per account and region: turn this off when another
   * stack already manages it.
   * @default true
   */
  readonly configureAccountLogRole?: boolean;
}

export interface EbbWebSocketApiProps extends EbbWebSocketApiOptions {
  /** Tables by key, as created by `EbbTables`. */
  readonly tables: Readonly<Record<TableKey, dynamodb.ITable>>;

  /** Resolved `context.ebb`, passed to every handler. */
  readonly config: EbbConfig;

  /** The franking keyring, readable by the handlers whose spec says `frankingKeys: true`. */
  readonly frankingKeyring: EbbFrankingKeyring;

  /** The attachments bucket, which the handlers whose spec lists `attachments` actions may use (ARCH §6.12). */
  readonly attachmentsBucket: EbbAttachmentsBucket;
}

/**
 * The WebSocket API clients connect to: routes selected by the frame's `action`, a signed-request
 * Lambda authorizer on `$connect`, one Lambda per route, a throttled stage with JSON access logs.
 */
export class EbbWebSocketApi extends Construct {
  readonly api: apigwv2.WebSocketApi;
  readonly stage: apigwv2.WebSocketStage;
  readonly accessLogs: logs.LogGroup;
  /** Every function by its manifest entry (`authorize`, `send`, …). */
  readonly functions: Readonly<Record<string, NodejsFunction>>;
  /** The manifest entry of the `$connect` authorizer, one of `functions`. */
  readonly authorizerEntry: string;

  constructor(scope: Construct, id: string, props: EbbWebSocketApiProps) {
    super(scope, id);
    const handlers = props.handlers ?? Handlers;
    const authorizerSpec = validateHandlers(this, handlers);
    this.authorizerEntry = authorizerSpec.entry;
    const stageName = props.stageName ?? 'prod';
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(stageName)) throw invalid(this, `stageName must be 1-128 letters, digits, - or _, got "${stageName}"`);
    const throttle = { rateLimit: 500, burstLimit: 1000, ...props.throttle };
    requireNumber(this, 'throttle.rateLimit', throttle.rateLimit, 1, 1_000_000);
    requireWholeNumber(this, 'throttle.burstLimit', throttle.burstLimit, 1, 1_000_000);
    const logRetention = props.logRetention ?? logs.RetentionDays.ONE_MONTH;

    this.api = new apigwv2.WebSocketApi(this, 'Api', {
      apiName: Stack.of(this).stackName,
      description: 'ebb end-to-end-encrypted messaging',
      routeSelectionExpression: '$request.body.action',
    });

    this.accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: logRetention, removalPolicy: RemovalPolicy.DESTROY });
    this.stage = new apigwv2.WebSocketStage(this, 'Stage', {
      webSocketApi: this.api,
      stageName,
      autoDeploy: true,
      throttle,
      accessLogSettings: { destination: new apigwv2.LogGroupLogDestination(this.accessLogs), format: accessLogFormat() },
    });
    if (props.configureAccountLogRole ?? true) {
      this.stage.node.addDependency(new ApiGatewayLogRole(this, 'AccountLogRole'));
    }

    const functions: Record<string, NodejsFunction> = {};
    for (const spec of handlers) {
      const isAuthorizer = spec === authorizerSpec;
      const handler = new EbbHandlerFunction(this, functionId(spec.entry), {
        spec,
        tables: props.tables,
        config: props.config,
        frankingKeyring: props.frankingKeyring,
        attachmentsBucket: props.attachmentsBucket,
        handlersDir: props.handlersDir,
        timeout: isAuthorizer ? (props.authorizerTimeout ?? Duration.seconds(5)) : (props.routeTimeout ?? Duration.seconds(10)),
        memorySize: props.memorySize,
        logRetention,
        environment: spec.manageConnections ? { [LambdaEnv.callbackUrl]: this.stage.callbackUrl } : undefined,
      });
      // Scoped to this API's stage and its @connections resources only.
      if (spec.manageConnections) grantConnectionManagement(this.stage, handler.function);
      functions[spec.entry] = handler.function;
    }
    this.functions = functions;

    const authorizer = new WebSocketLambdaAuthorizer('ConnectAuthorizer', functions[authorizerSpec.entry]!, {
      identitySource: SIGNED_QUERY_PARAMS.map((name) => `route.request.querystring.${name}`),
    });
    for (const spec of handlers) {
      if (spec.routeKey === undefined) continue;
      const isConnect = spec.routeKey === '$connect';
      const route = this.api.addRoute(spec.routeKey, {
        integration: new WebSocketLambdaIntegration(`${functionId(spec.entry)}Integration`, functions[spec.entry]!),
        // Only $connect is authorized: API Gateway keeps the connection's identity for every later frame.
        authorizer: isConnect ? authorizer : undefined,
        returnResponse: spec.returnsResponse,
      });
      if (!isConnect) {
        Validations.of(route).acknowledge({
          id: 'AwsSolutions-APIG4',
          reason:
            'WebSocket APIs authorize at $connect only: every later frame on the connection (this route) carries the identity the signed-connect authorizer established, and API Gateway offers no per-message authorizer.',
        });
      }
    }
  }

  /** `wss://…/{stage}`, the URL clients connect to. */
  get url(): string {
    return this.stage.url;
  }

  /** `https://…/{stage}`, the management API the handlers push through. */
  get callbackUrl(): string {
    return this.stage.callbackUrl;
  }
}

/**
 * Lets `fn` post to and delete this stage's connections. The grant is scoped to this API and stage
 * but has to end in `@connections/*`, since connection ids exist only at runtime: cdk-nag's
 * AwsSolutions-IAM5 finding for exactly that resource is acknowledged, and no other wildcard.
 */
export function grantConnectionManagement(stage: apigwv2.WebSocketStage, fn: lambda.IFunction): void {
  stage.grantManagementApiAccess(fn);
  const apiLogicalId = Stack.of(stage).getLogicalId(stage.api.node.defaultChild as CfnElement);
  Validations.of(fn).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<${apiLogicalId}>/${stage.stageName}/*/@connections/*]`,
    reason: "Connection ids are only known at runtime; the grant is ManageConnections on this API stage's @connections only.",
  });
}

/** Returns the authorizer's spec after checking the manifest is one ebb can serve. */
function validateHandlers(scope: Construct, handlers: readonly HandlerSpec[]): HandlerSpec {
  const entries = new Set<string>();
  const routeKeys = new Set<string>();
  for (const spec of handlers) {
    if (!/^[a-z][a-z0-9-]*$/.test(spec.entry)) throw invalid(scope, `handler entry "${spec.entry}" must be a lowercase file name`);
    if (entries.has(spec.entry)) throw invalid(scope, `handler entry "${spec.entry}" appears twice`);
    entries.add(spec.entry);
    if (spec.routeKey === undefined) continue;
    if (routeKeys.has(spec.routeKey)) throw invalid(scope, `route key "${spec.routeKey}" appears twice`);
    routeKeys.add(spec.routeKey);
  }
  const authorizers = handlers.filter((spec) => spec.routeKey === undefined);
  if (authorizers.length !== 1) throw invalid(scope, `expected exactly one handler without a route key (the authorizer), got ${authorizers.length}`);
  if (!routeKeys.has('$connect')) throw invalid(scope, 'a $connect route is required: the authorizer is attached to it');
  return authorizers[0]!;
}

/** `keys-publish` → `KeysPublish`: stable construct ids, so logical ids survive reordering the manifest. */
function functionId(entry: string): string {
  return entry
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/**
 * One JSON object per request. No source IP, query string or principal: connection metadata of a
 * private messenger is itself sensitive, and ids are enough to correlate with the handlers' logs.
 */
function accessLogFormat(): AccessLogFormat {
  return AccessLogFormat.custom(
    JSON.stringify({
      requestId: AccessLogField.contextRequestId(),
      extendedRequestId: AccessLogField.contextExtendedRequestId(),
      requestTimeEpoch: AccessLogField.contextRequestTimeEpoch(),
      eventType: AccessLogField.contextEventType(),
      routeKey: AccessLogField.contextRouteKey(),
      connectionId: AccessLogField.contextConnectionId(),
      messageId: '$context.messageId',
      status: AccessLogField.contextStatus(),
      error: AccessLogField.contextErrorMessage(),
      authorizerStatus: AccessLogField.contextAuthorizerStatus(),
      authorizerError: AccessLogField.contextAuthorizerError(),
      integrationStatus: '$context.integration.status',
      integrationError: '$context.integration.error',
      integrationLatency: AccessLogField.contextIntegrationLatency(),
    }),
  );
}
