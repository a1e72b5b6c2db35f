import { ArnFormat, type CfnElement, CustomResource, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { TableKey } from '../lambdas/adapters/table-definitions';
import { WAKEUP_MAX_RECEIVES } from '../lambdas/core/push-wake';
import { PushSenderEnv } from '../lambdas/adapters/push-services';
import { LambdaEnv } from '../lambdas/lambda-env';
import { QueueHandlers, type HandlerSpec } from '../lambdas/routes';
import type { EbbConfig } from '../protocol/config';
import { EbbHandlerFunction } from './handler-function';
import { requireWholeNumber } from './validate';

/** The platforms SNS carries for ebb, by config key: SNS's platform name and the application's name suffix. */
const PLATFORMS = {
  apns: { sns: (sandbox: boolean) => (sandbox ? 'APNS_SANDBOX' : 'APNS'), suffix: 'apns' },
  fcm: { sns: () => 'GCM', suffix: 'fcm' },
} as const;

export type PushPlatform = keyof typeof PLATFORMS;

/** The deploy-time setup function: no tables; its grants are the secrets and platform applications below. */
const SETUP_SPEC: HandlerSpec = { entry: 'push-setup', tables: {}, manageConnections: false, returnsResponse: false };

export interface EbbPushProps {
  /** Tables by key, as created by `EbbTables`: the sender reads and deletes push subscriptions. */
  readonly tables: Readonly<Record<TableKey, dynamodb.ITable>>;

  /** Resolved `context.ebb`; `push` names the platforms and the VAPID subject. */
  readonly config: EbbConfig;

  /**
   * What happens to the VAPID key secret when it leaves the stack. Browser subscriptions are bound to its key,
   * so it should live as long as the subscriptions do.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;

  /**
   * The sender's timeout; the queue's visibility timeout is six times it, as Lambda recommends for SQS sources.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;

  /**
   * Receives of one wake-up before it moves to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;

  /**
   * @default - see `EbbHandlerFunctionProps`
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The VAPID `sub` claim when `push.vapidSubject` is null: an https URL of the deployment (RFC 8292 §2.1 allows
   * an https contact).
   */
  readonly defaultVapidSubject: string;
}

/**
 * Push wake-ups from the queue outward (ARCH §6.13): the wake-up queue (SSE, TLS only) and its dead-letter queue,
 * the sender Lambda behind it with partial batch failures, the VAPID key pair generated at deploy into a Secrets
 * Manager secret, and an SNS platform application for each of APNs and FCM that `push` in the config names.
 * Only the VAPID public key leaves the setup function, as an attribute the routes' environment takes.
 */
export class EbbPush extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** The sender, triggered by `queue`. */
  readonly function: NodejsFunction;
  /** Holds `{"publicKey","privateKey"}`; only the sender and the setup function may read it. */
  readonly vapidSecret: secretsmanager.Secret;
  /** The VAPID public key (a deploy-time attribute): `status` announces it for `PushManager.subscribe`. */
  readonly vapidPublicKey: string;
  /** ARNs of the SNS platform applications, for the platforms the config names. */
  readonly platformApplications: Readonly<Partial<Record<PushPlatform, string>>>;

  constructor(scope: Construct, id: string, props: EbbPushProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const timeout = props.timeout ?? Duration.seconds(30);
    const maxReceiveCount = props.maxReceiveCount ?? WAKEUP_MAX_RECEIVES;
    requireWholeNumber(this, 'maxReceiveCount', maxReceiveCount, 1, 1000);

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason: 'This is the dead-letter queue of the wake-up queue; its depth alarms, and an operator redrives or drops what it holds.',
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      // SQS-managed keys: the routes that send and the function that receives need no KMS grant, and a message
      // holds a user id and a device number only.
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      visibilityTimeout: Duration.seconds(timeout.toSeconds() * 6),
      // A wake-up older than a day wakes a device for a message that has long had other chances.
      retentionPeriod: Duration.days(1),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount },
    });

    this.vapidSecret = new secretsmanager.Secret(this, 'VapidKeys', {
      description:
        'ebb VAPID key pair for Web Push (RFC 8292), {"publicKey","privateKey"} in base64url, written once by the push setup function. Replacing it orphans every browser subscription.',
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    Validations.of(this.vapidSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Browsers bind each push subscription to the VAPID public key; rotating the pair would silently orphan every subscription, so it is not rotated on a schedule.',
    });

    const setupFunction = new EbbHandlerFunction(this, 'Setup', {
      spec: SETUP_SPEC,
      tables: props.tables,
      config: props.config,
      timeout: Duration.seconds(60),
      maxTimeout: Duration.minutes(5),
      logRetention: props.logRetention,
    }).function;
    // Read to keep a pair already made, written once with the new pair.
    setupFunction.addToRolePolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:PutSecretValue'],
        resources: [this.vapidSecret.secretArn],
      }),
    );
    const provider = new cr.Provider(this, 'SetupProvider', { onEventHandler: setupFunction });
    acknowledgeProvider(provider, setupFunction);

    const vapid = new CustomResource(this, 'VapidKeyPair', {
      serviceToken: provider.serviceToken,
      resourceType: 'Custom::EbbVapidKeys',
      properties: { SecretId: this.vapidSecret.secretArn },
    });
    this.vapidPublicKey = vapid.getAttString('PublicKey');

    const applications: Partial<Record<PushPlatform, string>> = {};
    const senderSns: iam.PolicyStatement[] = [];
    for (const platform of Object.keys(PLATFORMS) as PushPlatform[]) {
      const settings = props.config.push[platform];
      if (!settings) continue;
      const snsPlatform = PLATFORMS[platform].sns('sandbox' in settings && settings.sandbox);
      const name = `${stack.stackName}-${PLATFORMS[platform].suffix}`;
      const credential = secretsmanager.Secret.fromSecretNameV2(this, `${pascal(platform)}Credential`, settings.secretName);
      const appArn = stack.formatArn({
        service: 'sns',
        resource: 'app',
        resourceName: `${snsPlatform}/${name}`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
      const endpointArns = stack.formatArn({
        service: 'sns',
        resource: 'endpoint',
        resourceName: `${snsPlatform}/${name}/*`,
        arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
      });
      setupFunction.addToRolePolicy(
        new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [`${credential.secretArn}-??????`] }),
      );
      setupFunction.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ['sns:CreatePlatformApplication', 'sns:SetPlatformApplicationAttributes', 'sns:DeletePlatformApplication'],
          resources: [appArn],
        }),
      );
      const application = new CustomResource(this, `${pascal(platform)}Application`, {
        serviceToken: provider.serviceToken,
        resourceType: 'Custom::EbbPlatformApplication',
        properties: {
          Name: name,
          Platform: snsPlatform,
          CredentialSecret: settings.secretName,
          ...('keyId' in settings && { KeyId: settings.keyId, TeamId: settings.teamId, BundleId: settings.bundleId }),
        },
      });
      applications[platform] = application.getAttString('Arn');
      senderSns.push(
        new iam.PolicyStatement({ actions: ['sns:CreatePlatformEndpoint'], resources: [appArn] }),
        new iam.PolicyStatement({ actions: ['sns:Publish', 'sns:DeleteEndpoint'], resources: [endpointArns] }),
      );
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:sns:<AWS::Region>:<AWS::AccountId>:endpoint/${snsPlatform}/${name}/*]`,
        reason: `Platform endpoints are made per device token at run time; the grant covers the endpoints of this stack's ${platform} application only.`,
      });
      Validations.of(this).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:secretsmanager:<AWS::Region>:<AWS::AccountId>:secret:${settings.secretName}-??????]`,
        reason:
          'Secrets Manager appends six random characters to a secret name in its ARN; the grant is the one secret the operator named in push config.',
      });
    }
    this.platformApplications = applications;

    const [senderSpec] = QueueHandlers;
    const subject = props.config.push.vapidSubject ?? props.defaultVapidSubject;
    this.function = new EbbHandlerFunction(this, 'Sender', {
      spec: senderSpec!,
      tables: props.tables,
      config: props.config,
      timeout,
      maxTimeout: Duration.minutes(15),
      logRetention: props.logRetention,
      environment: {
        [PushSenderEnv.vapidSecret]: this.vapidSecret.secretArn,
        [PushSenderEnv.vapidSubject]: subject,
        ...(applications.apns && { [PushSenderEnv.apnsApplication]: applications.apns }),
        ...(applications.fcm && { [PushSenderEnv.fcmApplication]: applications.fcm }),
      },
    }).function;
    // Not Secret.grantRead, which adds DescribeSecret: the sender only reads the value.
    this.function.addToRolePolicy(new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [this.vapidSecret.secretArn] }));
    for (const statement of senderSns) this.function.addToRolePolicy(statement);
    this.function.addEventSource(new SqsEventSource(this.queue, { batchSize: 10, reportBatchItemFailures: true }));
  }

  /**
   * Wires the route functions to push: the ones whose manifest entry has `wakeups` may queue wake-ups
   * (`sqs:SendMessage` on the wake-up queue alone, its URL in `EBB_WAKEUP_QUEUE_URL`), and every route learns the
   * VAPID public key (`EBB_VAPID_PUBLIC_KEY`) that `status` announces.
   */
  connectRoutes(specs: readonly HandlerSpec[], functions: Readonly<Record<string, lambda.Function>>): void {
    for (const spec of specs) {
      const fn = functions[spec.entry];
      if (!fn || spec.routeKey === undefined) continue;
      fn.addEnvironment(LambdaEnv.vapidPublicKey, this.vapidPublicKey);
      if (!spec.wakeups) continue;
      fn.addToRolePolicy(new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.queue.queueArn] }));
      fn.addEnvironment(LambdaEnv.wakeupQueueUrl, this.queue.queueUrl);
    }
  }
}

/** The provider framework's own function: its runtime and role are CDK's, reviewed here once. */
function acknowledgeProvider(provider: cr.Provider, onEvent: NodejsFunction): void {
  const onEventId = Stack.of(onEvent).getLogicalId(onEvent.node.defaultChild as CfnElement);
  Validations.of(provider).acknowledge(
    {
      id: `AwsSolutions-IAM5[Resource::<${onEventId}.Arn>:*]`,
      reason: 'The custom resource framework invokes the setup function by any version or alias of that one function, as CDK grants it.',
    },
    {
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
      reason: 'The custom resource framework function writes its own logs with the AWS-documented minimum policy.',
    },
    {
      id: 'AwsSolutions-L1',
      reason: "The custom resource framework function's runtime is chosen by the CDK release this stack pins, and moves with it.",
    },
  );
}

function pascal(name: string): string {
  return name.charAt(0).toUpperCase() + name.slice(1);
}
