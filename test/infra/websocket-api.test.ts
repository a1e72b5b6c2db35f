import { Duration } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { Tables, type TableKey } from '../../lambdas/adapters/table-definitions';
import { Handlers, LambdaEnv, ScheduledHandlers } from '../../lambdas/routes';
import { resolveConfig } from '../../protocol/config';
import type { EbbWebSocketApiOptions } from '../../infra/websocket-api';
import { cdkJsonContext, logicalId, resourcesOfType, synthWithoutBundling, type Synthesized } from './fixture';

const routeSpecs = Handlers.filter((spec) => spec.routeKey !== undefined);
const authorizerSpec = Handlers.find((spec) => spec.routeKey === undefined)!;

describe('EbbWebSocketApi', () => {
  describe('GIVEN the stack synthesized from cdk.json', () => {
    let synth: Synthesized;
    beforeAll(() => {
      synth = synthWithoutBundling();
    });

    function functionProps(entry: string): Record<string, unknown> {
      const fn = synth.stack.webSocketApi.functions[entry];
      if (!fn) throw new Error(`no function ${entry}`);
      return resourcesOfType(synth.template, 'AWS::Lambda::Function')[logicalId(fn)]!.Properties!;
    }

    test('THEN the API selects routes on the frame action', () => {
      synth.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', {
        ProtocolType: 'WEBSOCKET',
        RouteSelectionExpression: '$request.body.action',
      });
    });

    test('THEN there is one route per route key of lambdas/routes.ts, including $connect, $disconnect and $default', () => {
      const routeKeys = Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Route')).map((r) => r.Properties!.RouteKey);
      const expected = routeSpecs.map((spec) => spec.routeKey);
      expect(routeKeys.sort()).toEqual([...expected].sort());
      expect(expected).toEqual(expect.arrayContaining(['$connect', '$disconnect', '$default']));
    });

    test.each(routeSpecs.map((spec) => [spec.routeKey!, spec] as const))('THEN route %s integrates its own function', (routeKey, spec) => {
      const route = Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Route')).find((r) => r.Properties!.RouteKey === routeKey)!;
      const integrationId = (route.Properties!.Target as { 'Fn::Join': [string, [string, { Ref: string }]] })['Fn::Join'][1][1].Ref;
      const integration = resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Integration')[integrationId]!;
      expect(JSON.stringify(integration.Properties!.IntegrationUri)).toContain(logicalId(synth.stack.webSocketApi.functions[spec.entry]!));
    });

    test('THEN a route returns its response exactly when routes.ts says so', () => {
      const routes = Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Route'));
      for (const spec of routeSpecs) {
        const route = routes.find((r) => r.Properties!.RouteKey === spec.routeKey)!;
        expect([spec.routeKey, route.Properties!.RouteResponseSelectionExpression]).toEqual([
          spec.routeKey,
          spec.returnsResponse ? '$default' : undefined,
        ]);
      }
      synth.template.resourceCountIs('AWS::ApiGatewayV2::RouteResponse', routeSpecs.filter((spec) => spec.returnsResponse).length);
    });

    test('THEN the request authorizer reads the signed query string and runs the authorize handler', () => {
      synth.template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
      synth.template.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
        AuthorizerType: 'REQUEST',
        IdentitySource: ['uid', 'dev', 'ts', 'nonce', 'sig'].map((q) => `route.request.querystring.${q}`),
        AuthorizerUri: Match.objectLike({
          'Fn::Join': ['', Match.arrayWith([{ 'Fn::GetAtt': [logicalId(synth.stack.webSocketApi.functions[authorizerSpec.entry]!), 'Arn'] }])],
        }),
      });
    });

    test('THEN the authorizer guards $connect and no other route', () => {
      const authorizerId = Object.keys(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Authorizer'))[0];
      for (const route of Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Route'))) {
        const { RouteKey, AuthorizationType, AuthorizerId } = route.Properties as Record<string, unknown>;
        if (RouteKey === '$connect') {
          expect([RouteKey, AuthorizationType, AuthorizerId]).toEqual([RouteKey, 'CUSTOM', { Ref: authorizerId }]);
        } else {
          expect([RouteKey, AuthorizationType, AuthorizerId]).toEqual([RouteKey, 'NONE', undefined]);
        }
      }
    });

    test('THEN API Gateway may invoke the authorizer and every route function', () => {
      synth.template.resourcePropertiesCountIs(
        'AWS::Lambda::Permission',
        { Action: 'lambda:InvokeFunction', Principal: 'apigateway.amazonaws.com' },
        Handlers.length,
      );
    });

    test('THEN there is one function per handler, each nodejs22.x on arm64 with 256 MB', () => {
      // Beside them: the push construct's sender, its setup function and the custom resource framework's function.
      synth.template.resourceCountIs('AWS::Lambda::Function', Handlers.length + ScheduledHandlers.length + 3);
      for (const spec of Handlers) {
        expect(functionProps(spec.entry)).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          MemorySize: 256,
          Handler: 'index.handler',
          Timeout: spec === authorizerSpec ? 5 : 10,
        });
      }
    });

    test('THEN every function logs JSON to its own log group with a retention', () => {
      const logGroups = resourcesOfType(synth.template, 'AWS::Logs::LogGroup');
      for (const spec of Handlers) {
        const { LoggingConfig } = functionProps(spec.entry) as { LoggingConfig: { LogFormat: string; LogGroup: { Ref: string } } };
        expect(LoggingConfig.LogFormat).toBe('JSON');
        expect(logGroups[LoggingConfig.LogGroup.Ref]?.Properties?.RetentionInDays).toBe(30);
      }
    });

    test('THEN every function gets the resolved config and exactly the table names it uses', () => {
      const expectedConfig = JSON.stringify(resolveConfig(cdkJsonContext().ebb));
      for (const spec of Handlers) {
        const variables = (functionProps(spec.entry).Environment as { Variables: Record<string, unknown> }).Variables;
        expect(variables[LambdaEnv.config]).toBe(expectedConfig);
        const tableVariables = Object.keys(variables).filter((name) => name.startsWith('EBB_TABLE_'));
        const used = Object.keys(spec.tables) as TableKey[];
        expect(tableVariables.sort()).toEqual(used.map((key) => Tables[key].envVar).sort());
        for (const key of used) {
          expect(variables[Tables[key].envVar]).toEqual({ Ref: logicalId(synth.stack.tables.table(key)) });
        }
        // SDK v3 keeps connections alive by itself; the v2-era switch would only be noise.
        expect(variables.AWS_NODEJS_CONNECTION_REUSE_ENABLED).toBeUndefined();
      }
    });

    test('THEN exactly the handlers that manage connections get the stage callback URL', () => {
      const apiId = logicalId(synth.stack.webSocketApi.api);
      for (const spec of Handlers) {
        const variables = (functionProps(spec.entry).Environment as { Variables: Record<string, unknown> }).Variables;
        if (spec.manageConnections) {
          expect(variables[LambdaEnv.callbackUrl]).toEqual({
            'Fn::Join': ['', ['https://', { Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/prod']],
          });
        } else {
          expect(variables[LambdaEnv.callbackUrl]).toBeUndefined();
        }
      }
    });

    test('THEN the prod stage auto-deploys, throttles by default and writes JSON access logs to a retained-for-30-days group', () => {
      synth.template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
      const stage = Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Stage'))[0]!;
      expect(stage.Properties).toMatchObject({
        StageName: 'prod',
        AutoDeploy: true,
        DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 1000 },
      });
      const { Format, DestinationArn } = stage.Properties!.AccessLogSettings as {
        Format: string;
        DestinationArn: { 'Fn::GetAtt': [string, string] };
      };
      const format = JSON.parse(Format) as Record<string, string>;
      expect(format).toMatchObject({ requestId: '$context.requestId', routeKey: '$context.routeKey', status: '$context.status' });
      // Connection metadata of a private messenger stays out of the logs.
      expect(Format).not.toMatch(/sourceIp|querystring|principalId|userAgent/);
      const logGroupId = DestinationArn['Fn::GetAtt'][0];
      expect(resourcesOfType(synth.template, 'AWS::Logs::LogGroup')[logGroupId]?.Properties?.RetentionInDays).toBe(30);
    });

    test('THEN the stage waits for the account-level CloudWatch role that WebSocket access logging requires', () => {
      const [accountId] = Object.keys(resourcesOfType(synth.template, 'AWS::ApiGateway::Account'));
      expect(accountId).toBeDefined();
      const stage = Object.values(resourcesOfType(synth.template, 'AWS::ApiGatewayV2::Stage'))[0]!;
      expect(stage.DependsOn).toContain(accountId);
      synth.template.hasResource('AWS::ApiGateway::Account', { DeletionPolicy: 'Retain' });
      synth.template.hasResourceProperties('AWS::IAM::Role', {
        AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'apigateway.amazonaws.com' } })] },
        ManagedPolicyArns: [
          Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs'])] }),
        ],
      });
    });

    test('THEN the outputs carry the wss:// URL and the https:// callback URL of the prod stage', () => {
      const apiId = logicalId(synth.stack.webSocketApi.api);
      synth.template.hasOutput('WebSocketUrl', {
        Value: { 'Fn::Join': ['', ['wss://', { Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/prod']] },
      });
      synth.template.hasOutput('CallbackUrl', {
        Value: { 'Fn::Join': ['', ['https://', { Ref: apiId }, '.execute-api.', { Ref: 'AWS::Region' }, '.', { Ref: 'AWS::URLSuffix' }, '/prod']] },
      });
    });
  });

  describe('GIVEN options overriding the defaults', () => {
    test('WHEN throttle, stage, timeouts and the account role are set THEN the template follows them', () => {
      const { stack, template } = synthWithoutBundling({
        props: {
          webSocketApi: {
            stageName: 'beta',
            throttle: { rateLimit: 50 },
            routeTimeout: Duration.seconds(20),
            authorizerTimeout: Duration.seconds(3),
            memorySize: 512,
            configureAccountLogRole: false,
          },
        },
      });
      template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
        StageName: 'beta',
        DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 1000 },
      });
      template.resourceCountIs('AWS::ApiGateway::Account', 0);
      const functions = resourcesOfType(template, 'AWS::Lambda::Function');
      const routeFunctions = Handlers.map((spec) => functions[logicalId(stack.webSocketApi.functions[spec.entry]!)]!);
      expect(routeFunctions.map((fn) => fn.Properties!.MemorySize)).toEqual(Handlers.map(() => 512));
      const timeouts = routeFunctions.map((fn) => fn.Properties!.Timeout);
      expect(timeouts.sort()).toEqual([...Array<number>(Handlers.length - 1).fill(20), 3].sort());
    });

    test.each<[string, EbbWebSocketApiOptions, RegExp]>([
      ['a zero rate limit', { throttle: { rateLimit: 0 } }, /throttle\.rateLimit must be a number from 1/],
      ['a fractional burst', { throttle: { burstLimit: 1.5 } }, /throttle\.burstLimit must be a whole number/],
      ['a stage name with spaces', { stageName: 'no spaces' }, /stageName must be/],
      ['64 MB of memory', { memorySize: 64 }, /memorySize must be a whole number from 128 to 10240, got 64/],
      [
        "a route timeout beyond API Gateway's 29 s",
        { routeTimeout: Duration.seconds(30) },
        /timeout in seconds must be a number from 1 to 29, got 30/,
      ],
      ['no authorizer', { handlers: Handlers.filter((spec) => spec !== authorizerSpec) }, /exactly one handler without a route key/],
      ['a route key twice', { handlers: [...Handlers, { ...routeSpecs[1]!, entry: 'other' }] }, /route key "[^"]+" appears twice/],
      [
        'a table listed without actions',
        { handlers: Handlers.map((spec) => (spec.entry === 'hello' ? { ...spec, tables: { accounts: [] } } : spec)) },
        /handler hello lists table accounts without any action/,
      ],
      ['a missing handler module', { handlersDir: '/nonexistent' }, /handler module .*authorize\.ts does not exist/],
    ])('WHEN given %s THEN synthesis fails naming the problem', (_label, webSocketApi, message) => {
      expect(() => synthWithoutBundling({ props: { webSocketApi } })).toThrow(message);
    });
  });
});
