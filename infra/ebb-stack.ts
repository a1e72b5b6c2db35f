import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { ConfigError, resolveConfig, type EbbConfig } from '../protocol/config';
import { Handlers } from '../lambdas/routes';
import { Tables, type TableKey } from '../lambdas/adapters/table-definitions';
import { EbbAttachmentsBucket } from './attachments-bucket';
import { EbbFrankingKeyring, type EbbFrankingKeyringProps } from './franking-keyring';
import { EbbMonitoring, type EbbMonitoringOptions } from './monitoring';
import { StackOutputs } from './outputs';
import { EbbPush } from './push';
import { EbbSunsetSchedules, type EbbSunsetSchedulesOptions } from './sunset-schedules';
import { EbbTables, type EbbTablesProps } from './tables';
import { EbbWebSocketApi, type EbbWebSocketApiOptions } from './websocket-api';

/** Context key holding the operator's config, `context.ebb` in cdk.json (ARCH §3.1). */
export const CONFIG_CONTEXT_KEY = 'ebb';

export interface EbbStackProps extends StackProps {
  /**
   * The resolved config.
   * @default - `context.ebb` of the app, resolved with `resolveConfig` (throws `ConfigError` naming the bad key)
   */
  readonly config?: EbbConfig;

  /**
   * `removalPolicy` defaults by the sunset: with a `purgeAt` date the data is deleted on schedule, so the
   * tables are `DESTROY` and `cdk destroy` removes them afterwards; without one they are `RETAIN`.
   * @default - see `EbbTablesProps`, with `removalPolicy` following `sunset.purgeAt`
   */
  readonly tables?: EbbTablesProps;

  /**
   * `removalPolicy` follows the tables': the keyring verifies the reports they hold.
   * @default - see `EbbFrankingKeyringProps`, with `removalPolicy` following `sunset.purgeAt`
   */
  readonly frankingKeyring?: EbbFrankingKeyringProps;

  /**
   * @default - see `EbbWebSocketApiOptions`
   */
  readonly webSocketApi?: EbbWebSocketApiOptions;

  /**
   * @default - see `EbbSunsetSchedulesOptions`
   */
  readonly sunsetSchedules?: EbbSunsetSchedulesOptions;

  /**
   * @default - see `EbbMonitoringOptions`
   */
  readonly monitoring?: EbbMonitoringOptions;
}

/**
 * Everything one ebb deployment needs: its tables, the franking keyring, the WebSocket API in front of
 * its handlers, its sunset schedules, and the alarms and dashboard that watch them.
 */
export class EbbStack extends Stack {
  readonly config: EbbConfig;
  readonly tables: EbbTables;
  readonly frankingKeyring: EbbFrankingKeyring;
  readonly attachmentsBucket: EbbAttachmentsBucket;
  readonly webSocketApi: EbbWebSocketApi;
  readonly sunsetSchedules: EbbSunsetSchedules;
  readonly push: EbbPush;
  readonly monitoring: EbbMonitoring;

  constructor(scope: Construct, id: string, props: EbbStackProps = {}) {
    super(scope, id, { description: 'ebb: serverless end-to-end-encrypted messaging', ...props });
    this.config = props.config ?? configFromContext(this);

    this.tables = new EbbTables(this, 'Tables', {
      ...props.tables,
      removalPolicy: props.tables?.removalPolicy ?? tableRemovalPolicy(this.config),
    });
    this.frankingKeyring = new EbbFrankingKeyring(this, 'FrankingKeyring', {
      ...props.frankingKeyring,
      removalPolicy: props.frankingKeyring?.removalPolicy ?? tableRemovalPolicy(this.config),
    });
    // Destroyable like the tables once a purge is scheduled: the purge empties it, S3 deletes only an empty bucket.
    this.attachmentsBucket = new EbbAttachmentsBucket(this, 'Attachments', {
      retentionDays: this.config.retentionDays,
      webOrigins: this.config.webOrigins,
      removalPolicy: tableRemovalPolicy(this.config),
    });
    this.webSocketApi = new EbbWebSocketApi(this, 'WebSocket', {
      ...props.webSocketApi,
      tables: this.tables.tables,
      config: this.config,
      frankingKeyring: this.frankingKeyring,
      attachmentsBucket: this.attachmentsBucket,
    });
    this.sunsetSchedules = new EbbSunsetSchedules(this, 'Sunset', {
      ...props.sunsetSchedules,
      tables: this.tables.tables,
      config: this.config,
      stage: this.webSocketApi.stage,
      frankingKeyring: this.frankingKeyring,
      attachmentsBucket: this.attachmentsBucket,
    });
    this.push = new EbbPush(this, 'Push', {
      tables: this.tables.tables,
      config: this.config,
      removalPolicy: tableRemovalPolicy(this.config),
      defaultVapidSubject: `https://${this.webSocketApi.api.apiId}.execute-api.${this.region}.${this.urlSuffix}`,
    });
    this.push.connectRoutes(Handlers, this.webSocketApi.functions);
    this.monitoring = new EbbMonitoring(this, 'Monitoring', {
      ...props.monitoring,
      functions: { ...this.webSocketApi.functions, lifecycle: this.sunsetSchedules.function, 'push-wake': this.push.function },
      queues: [{ name: 'wakeups', queue: this.push.queue, deadLetterQueue: this.push.deadLetterQueue, maxAge: Duration.minutes(5) }],
      authorizerEntry: this.webSocketApi.authorizerEntry,
      tables: this.tables.tables,
      stage: this.webSocketApi.stage,
    });

    new CfnOutput(this, StackOutputs.webSocketUrl, { value: this.webSocketApi.url, description: 'URL clients connect to' });
    new CfnOutput(this, StackOutputs.callbackUrl, { value: this.webSocketApi.callbackUrl, description: 'Management API of the stage' });
    for (const key of Object.keys(Tables) as TableKey[]) {
      new CfnOutput(this, StackOutputs.tableName(key), {
        value: this.tables.table(key).tableName,
        description: `Deployed name of the ${key} table (${Tables[key].envVar})`,
      });
    }
    new CfnOutput(this, StackOutputs.lifecycleFunctionName, {
      value: this.sunsetSchedules.function.functionName,
      description: 'Runs the sunset tasks; invoke with {"task":"phase-change"|"countdown"|"shutdown"|"purge"}',
    });
    new CfnOutput(this, StackOutputs.frankingSecretArn, {
      value: this.frankingKeyring.secret.secretArn,
      description: 'Secrets Manager secret holding the franking keyring; rotate with `ebb-admin franking rotate`',
    });
    new CfnOutput(this, StackOutputs.attachmentsBucketName, {
      value: this.attachmentsBucket.bucket.bucketName,
      description: 'S3 bucket of attachment ciphertexts (expired by lifecycle rules, emptied by the purge)',
    });
    if (this.monitoring.alarmTopic) {
      new CfnOutput(this, StackOutputs.alarmTopicArn, {
        value: this.monitoring.alarmTopic.topicArn,
        description: 'SNS topic every alarm notifies: subscribe to it',
      });
    }
    new CfnOutput(this, StackOutputs.dashboardName, {
      value: this.monitoring.dashboard.dashboardName,
      description: 'CloudWatch dashboard of this deployment',
    });
  }
}

/** Tables outlive the stack unless the operator has scheduled the purge of their data. */
export function tableRemovalPolicy(config: EbbConfig): RemovalPolicy {
  return config.sunset.purgeAt === null ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
}

/**
 * The app's `context.ebb`, merged over the defaults and validated.
 * @throws ConfigError naming every offending key, e.g. `ebb.retentionDays: must be at least 1`.
 */
export function configFromContext(scope: Construct): EbbConfig {
  let value: unknown = scope.node.tryGetContext(CONFIG_CONTEXT_KEY);
  // `cdk synth -c ebb='{…}'` hands the object over as a string.
  if (typeof value === 'string') {
    try {
      value = JSON.parse(value);
    } catch {
      throw new ConfigError(`${CONFIG_CONTEXT_KEY}: must be an object (or, with -c, its JSON)`);
    }
  }
  return resolveConfig(value);
}
