import { Match } from 'aws-cdk-lib/assertions';
import { PushSenderEnv } from '../../lambdas/adapters/push-services';
import { LambdaEnv } from '../../lambdas/lambda-env';
import { Handlers } from '../../lambdas/routes';
import { DEFAULT_CONFIG } from '../../protocol/config';
import { logicalId, resourcesOfType, synthWithoutBundling, type Synthesized } from './fixture';

interface Statement {
  readonly Effect: string;
  readonly Action: string | string[];
  readonly Resource: unknown;
}

const asList = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

const APNS = { secretName: 'ebb/apns-key', keyId: 'ABCDE12345', teamId: 'VWXYZ67890', bundleId: 'org.example.chat', sandbox: false };
const BOTH = { ...DEFAULT_CONFIG, push: { vapidSubject: 'mailto:ops@example.org', apns: APNS, fcm: { secretName: 'ebb/fcm-key' } } };

/** `arn:{AWS::Partition}:sns:…` from a `Fn::Join`, to compare grants by eye. */
function flatten(value: unknown): string {
  if (typeof value === 'string') return value;
  const object = value as Record<string, unknown>;
  if ('Ref' in object) return `{${String(object.Ref)}}`;
  if ('Fn::GetAtt' in object) return `{${(object['Fn::GetAtt'] as string[]).join('.')}}`;
  const [separator, parts] = object['Fn::Join'] as [string, unknown[]];
  return parts.map(flatten).join(separator);
}

function statementsOf(synth: Synthesized, fn: { role?: unknown }): { actions: string[]; resources: string[] }[] {
  const roleId = logicalId(fn.role as never);
  return Object.values(resourcesOfType(synth.template, 'AWS::IAM::Policy'))
    .filter((policy) => JSON.stringify(policy.Properties!.Roles).includes(`"${roleId}"`))
    .flatMap((policy) => (policy.Properties!.PolicyDocument as { Statement: Statement[] }).Statement)
    .map((s) => {
      expect(s.Effect).toBe('Allow');
      return { actions: asList(s.Action).sort(), resources: asList(s.Resource).map(flatten) };
    });
}

describe('EbbPush', () => {
  describe('GIVEN the stack synthesized from cdk.json (no APNs, no FCM)', () => {
    let synth: Synthesized;
    beforeAll(() => {
      synth = synthWithoutBundling();
    });

    test('THEN the wake-up queue is SSE-encrypted, outlives six sender timeouts of visibility, and redrives to a 14-day dead-letter queue after 5 receives', () => {
      const queue = resourcesOfType(synth.template, 'AWS::SQS::Queue')[logicalId(synth.stack.push.queue)]!.Properties!;
      expect(queue).toEqual({
        SqsManagedSseEnabled: true,
        VisibilityTimeout: 180,
        MessageRetentionPeriod: 86_400,
        RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(synth.stack.push.deadLetterQueue), 'Arn'] }, maxReceiveCount: 5 },
      });
      const dlq = resourcesOfType(synth.template, 'AWS::SQS::Queue')[logicalId(synth.stack.push.deadLetterQueue)]!.Properties!;
      expect(dlq).toEqual({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 86_400 });
      expect(synth.stack.push.function.timeout?.toSeconds()).toBe(30);
    });

    test('THEN both queues refuse every request not made over TLS', () => {
      for (const queue of [synth.stack.push.queue, synth.stack.push.deadLetterQueue]) {
        synth.template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: logicalId(queue) }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            ]),
          },
        });
      }
    });

    test('THEN the sender takes batches of ten from the queue and reports partial batch failures', () => {
      synth.template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      synth.template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [logicalId(synth.stack.push.queue), 'Arn'] },
        FunctionName: { Ref: logicalId(synth.stack.push.function) },
        BatchSize: 10,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
      });
    });

    test('THEN the sender may read and delete push subscriptions, read the VAPID secret, and take from its queue: nothing else, no SNS', () => {
      expect(statementsOf(synth, synth.stack.push.function)).toEqual([
        { actions: ['dynamodb:DeleteItem', 'dynamodb:GetItem'], resources: [`{${logicalId(synth.stack.tables.table('pushTokens'))}.Arn}`] },
        { actions: ['secretsmanager:GetSecretValue'], resources: [`{${logicalId(synth.stack.push.vapidSecret)}}`] },
        {
          actions: ['sqs:ChangeMessageVisibility', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:ReceiveMessage'],
          resources: [`{${logicalId(synth.stack.push.queue)}.Arn}`],
        },
      ]);
    });

    test('THEN no SNS platform application is made, and the sender is told of none', () => {
      expect(Object.keys(resourcesOfType(synth.template, 'Custom::EbbPlatformApplication'))).toEqual([]);
      const env = resourcesOfType(synth.template, 'AWS::Lambda::Function')[logicalId(synth.stack.push.function)]!.Properties!.Environment as {
        Variables: Record<string, unknown>;
      };
      expect(Object.keys(env.Variables).sort()).toEqual(
        [LambdaEnv.config, 'EBB_TABLE_PUSH_TOKENS', PushSenderEnv.vapidSecret, PushSenderEnv.vapidSubject].sort(),
      );
      // No vapidSubject in the config: the deployment's own https URL.
      expect(flatten(env.Variables[PushSenderEnv.vapidSubject])).toBe(
        `https://{${logicalId(synth.stack.webSocketApi.api)}}.execute-api.{AWS::Region}.{AWS::URLSuffix}`,
      );
    });

    test('THEN exactly send and fanout may queue wake-ups (SendMessage on that queue alone, and its URL); every route gets the VAPID public key', () => {
      const queueArn = `{${logicalId(synth.stack.push.queue)}.Arn}`;
      for (const spec of Handlers) {
        const fn = synth.stack.webSocketApi.functions[spec.entry]!;
        const sqs = statementsOf(synth, fn).filter((s) => s.actions.some((a) => a.startsWith('sqs:')));
        const env = resourcesOfType(synth.template, 'AWS::Lambda::Function')[logicalId(fn)]!.Properties!.Environment as {
          Variables: Record<string, unknown>;
        };
        if (spec.entry === 'send' || spec.entry === 'fanout') {
          expect(sqs).toEqual([{ actions: ['sqs:SendMessage'], resources: [queueArn] }]);
          expect(env.Variables[LambdaEnv.wakeupQueueUrl]).toEqual({ Ref: logicalId(synth.stack.push.queue) });
        } else {
          expect(sqs).toEqual([]);
          expect(env.Variables[LambdaEnv.wakeupQueueUrl]).toBeUndefined();
        }
        if (spec.routeKey !== undefined) {
          expect(env.Variables[LambdaEnv.vapidPublicKey]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PushVapidKeyPair/), 'PublicKey'] });
        }
      }
    });

    test('THEN the VAPID pair is made at deploy into a secret of its own: the template holds a placeholder, the custom resource answers the public key only', () => {
      const secret = resourcesOfType(synth.template, 'AWS::SecretsManager::Secret')[logicalId(synth.stack.push.vapidSecret)]!;
      expect(secret.Properties!.SecretString).toBeUndefined();
      expect(secret.Properties!.GenerateSecretString).toEqual({});
      const pairs = Object.values(resourcesOfType(synth.template, 'Custom::EbbVapidKeys'));
      expect(pairs.map((p) => Object.keys(p.Properties!).sort())).toEqual([['SecretId', 'ServiceToken']]);
      // The setup function may read and write that one secret, and touches nothing in SNS without platforms.
      const setup = synth.stack.node.findChild('Push').node.findChild('Setup').node.findChild('Function') as never;
      expect(statementsOf(synth, setup)).toEqual([
        { actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'], resources: [`{${logicalId(synth.stack.push.vapidSecret)}}`] },
      ]);
    });

    test('THEN nothing in the template looks like a key: no PEM, no P-256 scalar or point, no platform credential', () => {
      const strings: string[] = [];
      const walk = (value: unknown): void => {
        if (typeof value === 'string') strings.push(value);
        else if (value && typeof value === 'object') Object.values(value).forEach(walk);
      };
      const template = synth.template.toJSON() as { Resources: Record<string, unknown> };
      walk(template);
      // Logical ids (`WebSocketConnectFunctionServiceRole68DD13D0`) can have a scalar's length; they are not keys.
      const logicalIds = new Set(Object.keys(template.Resources));
      const keyLike = strings.filter(
        (s) =>
          !logicalIds.has(s) &&
          (/BEGIN [A-Z ]*PRIVATE KEY/.test(s) || /^[A-Za-z0-9_-]{43}$/.test(s) || /^B[A-Za-z0-9_-]{86}$/.test(s) || s === 'PlatformCredential'),
      );
      expect(keyLike).toEqual([]);
      expect(strings.length).toBeGreaterThan(100);
    });

    test('THEN, without a purgeAt date, the VAPID secret is retained: subscriptions outlive a redeploy', () => {
      expect(resourcesOfType(synth.template, 'AWS::SecretsManager::Secret')[logicalId(synth.stack.push.vapidSecret)]).toMatchObject({
        DeletionPolicy: 'Retain',
      });
    });
  });

  describe('GIVEN push names APNs and FCM, each with the secret of its credential', () => {
    let synth: Synthesized;
    beforeAll(() => {
      synth = synthWithoutBundling({ ebb: BOTH });
    });

    test('THEN one platform application each is made from the named secret, carrying only names and ids in the template', () => {
      const apps = Object.values(resourcesOfType(synth.template, 'Custom::EbbPlatformApplication')).map((r) => {
        const { ServiceToken: _token, ...rest } = r.Properties!;
        return rest;
      });
      expect(apps).toEqual([
        {
          Name: 'Ebb-apns',
          Platform: 'APNS',
          CredentialSecret: 'ebb/apns-key',
          KeyId: 'ABCDE12345',
          TeamId: 'VWXYZ67890',
          BundleId: 'org.example.chat',
        },
        { Name: 'Ebb-fcm', Platform: 'GCM', CredentialSecret: 'ebb/fcm-key' },
      ]);
    });

    test('THEN the sender may make endpoints on those applications and publish to and delete their endpoints only, and learns their ARNs', () => {
      const sns = statementsOf(synth, synth.stack.push.function).filter((s) => s.actions.some((a) => a.startsWith('sns:')));
      const arn = (rest: string) => `arn:{AWS::Partition}:sns:{AWS::Region}:{AWS::AccountId}:${rest}`;
      expect(sns).toEqual([
        { actions: ['sns:CreatePlatformEndpoint'], resources: [arn('app/APNS/Ebb-apns')] },
        { actions: ['sns:DeleteEndpoint', 'sns:Publish'], resources: [arn('endpoint/APNS/Ebb-apns/*')] },
        { actions: ['sns:CreatePlatformEndpoint'], resources: [arn('app/GCM/Ebb-fcm')] },
        { actions: ['sns:DeleteEndpoint', 'sns:Publish'], resources: [arn('endpoint/GCM/Ebb-fcm/*')] },
      ]);
      const env = resourcesOfType(synth.template, 'AWS::Lambda::Function')[logicalId(synth.stack.push.function)]!.Properties!.Environment as {
        Variables: Record<string, unknown>;
      };
      expect(env.Variables[PushSenderEnv.apnsApplication]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PushApnsApplication/), 'Arn'] });
      expect(env.Variables[PushSenderEnv.fcmApplication]).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^PushFcmApplication/), 'Arn'] });
      expect(env.Variables[PushSenderEnv.vapidSubject]).toBe('mailto:ops@example.org');
    });

    test('THEN the setup function may read exactly the two named secrets and manage exactly the two applications', () => {
      const setup = synth.stack.node.findChild('Push').node.findChild('Setup').node.findChild('Function') as never;
      const arn = (service: string, rest: string) => `arn:{AWS::Partition}:${service}:{AWS::Region}:{AWS::AccountId}:${rest}`;
      const manage = ['sns:CreatePlatformApplication', 'sns:DeletePlatformApplication', 'sns:SetPlatformApplicationAttributes'];
      expect(statementsOf(synth, setup).slice(1)).toEqual([
        { actions: ['secretsmanager:GetSecretValue'], resources: [arn('secretsmanager', 'secret:ebb/apns-key-??????')] },
        { actions: manage, resources: [arn('sns', 'app/APNS/Ebb-apns')] },
        { actions: ['secretsmanager:GetSecretValue'], resources: [arn('secretsmanager', 'secret:ebb/fcm-key-??????')] },
        { actions: manage, resources: [arn('sns', 'app/GCM/Ebb-fcm')] },
      ]);
    });

    test('THEN an APNs sandbox key targets the APNS_SANDBOX platform', () => {
      const sandbox = synthWithoutBundling({ ebb: { ...BOTH, push: { ...BOTH.push, fcm: null, apns: { ...APNS, sandbox: true } } } });
      const apps = Object.values(resourcesOfType(sandbox.template, 'Custom::EbbPlatformApplication'));
      expect(apps.map((a) => a.Properties!.Platform)).toEqual(['APNS_SANDBOX']);
    });
  });
});
