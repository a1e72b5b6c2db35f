import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { TableKey } from '../lambdas/adapters/table-definitions';
import { requireWholeNumber } from './validate';

/** Every alarm and graph sums over five minutes: the shortest period standard Lambda and DynamoDB metrics fill reliably. */
const PERIOD = Duration.minutes(5);

export interface EbbMonitoringOptions {
  /**
   * The topic every alarm notifies, on ALARM and on OK.
   * @default - a topic created by the stack (output as `AlarmTopicArn`) unless `createAlarmTopic` is false
   */
  readonly alarmTopic?: sns.ITopic;

  /**
   * Whether to create a topic when `alarmTopic` is not given. Without a topic, alarms still show in the
   * console and on the dashboard, but notify nobody.
   * @default true
   */
  readonly createAlarmTopic?: boolean;

  /**
   * Errors per five minutes of a handler that alarm. Handlers answer every expected failure with a typed
   * error frame, so a Lambda error is an unhandled exception or a timeout: one is worth a look.
   * @default 1
   */
  readonly functionErrorThreshold?: number;

  /**
   * Errors per five minutes of the `$connect` authorizer that alarm. It refuses a bad signature, a stale
   * timestamp or a reused nonce by throwing `Unauthorized`, so its errors count refusals too; a surge is
   * an attack or a client clock bug.
   * @default 50
   */
  readonly authorizerErrorThreshold?: number;

  /**
   * `IntegrationError` or `ExecutionError` per five minutes of the stage that alarm. Routes answer 200
   * with an error frame, so these are invocation failures (permissions, throttling, crashes) across routes.
   * @default 5
   */
  readonly apiErrorThreshold?: number;
}

export interface EbbMonitoringProps extends EbbMonitoringOptions {
  /** Every Lambda of the stack, by manifest entry (`authorize`, `send`, …, `lifecycle`). */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;

  /**
   * The entry in `functions` of the `$connect` authorizer, alarmed at `authorizerErrorThreshold`.
   * @default - none: every function alarms at `functionErrorThreshold`
   */
  readonly authorizerEntry?: string;

  /** Tables by key, as created by `EbbTables`. */
  readonly tables: Readonly<Record<TableKey, dynamodb.ITable>>;

  /** The WebSocket stage clients connect to. */
  readonly stage: apigwv2.WebSocketStage;

  /**
   * Queues a function works off, each alarmed when its dead-letter queue holds anything and when its oldest
   * message is older than `maxAge` (the function is failing or throttled).
   * @default - none
   */
  readonly queues?: readonly EbbWatchedQueue[];
}

/** A queue and its dead-letter queue, by a name used in alarm ids and descriptions. */
export interface EbbWatchedQueue {
  /** `wakeups` → alarms `WakeupsDeadLetters` and `WakeupsAge`. */
  readonly name: string;
  readonly queue: sqs.IQueue;
  readonly deadLetterQueue: sqs.IQueue;
  /** The age of the oldest message that alarms. */
  readonly maxAge: Duration;
}

/**
 * What an operator watches: an alarm on each Lambda's errors and throttles, on each table's throttled
 * reads and writes, and on the stage's integration and execution errors, all notifying one SNS topic;
 * and a dashboard of connections, messages, handler durations and errors, and DynamoDB capacity.
 * Missing data never alarms: an idle deployment emits no metrics, and that is not an outage.
 */
export class EbbMonitoring extends Construct {
  /** The topic alarms notify; subscribe to it (email, chat, pager). Absent when `createAlarmTopic` is false. */
  readonly alarmTopic?: sns.ITopic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: readonly cloudwatch.Alarm[];

  constructor(scope: Construct, id: string, props: EbbMonitoringProps) {
    super(scope, id);
    const functionErrorThreshold = props.functionErrorThreshold ?? 1;
    const authorizerErrorThreshold = props.authorizerErrorThreshold ?? 50;
    const apiErrorThreshold = props.apiErrorThreshold ?? 5;
    requireWholeNumber(this, 'functionErrorThreshold', functionErrorThreshold, 1, 1_000_000);
    requireWholeNumber(this, 'authorizerErrorThreshold', authorizerErrorThreshold, 1, 1_000_000);
    requireWholeNumber(this, 'apiErrorThreshold', apiErrorThreshold, 1, 1_000_000);
    if (props.authorizerEntry !== undefined && !props.functions[props.authorizerEntry]) {
      throw new Error(`${this.node.path}: authorizerEntry "${props.authorizerEntry}" is not one of the functions`);
    }

    this.alarmTopic = props.alarmTopic ?? ((props.createAlarmTopic ?? true) ? alarmTopic(this) : undefined);
    const alarms: cloudwatch.Alarm[] = [];
    const alarm = (alarmId: string, metric: cloudwatch.IMetric, threshold: number, description: string) => {
      const created = new cloudwatch.Alarm(this, alarmId, {
        metric,
        threshold,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        alarmDescription: description,
      });
      if (this.alarmTopic) {
        created.addAlarmAction(new SnsAction(this.alarmTopic));
        created.addOkAction(new SnsAction(this.alarmTopic));
      }
      alarms.push(created);
    };

    const entries = Object.keys(props.functions);
    for (const entry of entries) {
      const fn = props.functions[entry]!;
      const threshold = entry === props.authorizerEntry ? authorizerErrorThreshold : functionErrorThreshold;
      alarm(
        `${pascal(entry)}Errors`,
        fn.metricErrors({ period: PERIOD, statistic: 'Sum' }),
        threshold,
        `ebb ${entry} Lambda: ${threshold}+ errors (exceptions or timeouts) in 5 minutes`,
      );
      alarm(
        `${pascal(entry)}Throttles`,
        fn.metricThrottles({ period: PERIOD, statistic: 'Sum' }),
        1,
        `ebb ${entry} Lambda: invocations throttled (account concurrency exhausted)`,
      );
    }
    const tableKeys = Object.keys(props.tables) as TableKey[];
    for (const key of tableKeys) {
      alarm(`${pascal(key)}TableThrottles`, throttleEvents(props.tables[key], key), 1, `ebb ${key} table: reads or writes throttled by DynamoDB`);
    }
    alarm(
      'ApiIntegrationErrors',
      props.stage.metric('IntegrationError', { period: PERIOD, statistic: 'Sum' }),
      apiErrorThreshold,
      `ebb WebSocket API: ${apiErrorThreshold}+ integration errors (4XX/5XX from a handler) in 5 minutes`,
    );
    alarm(
      'ApiExecutionErrors',
      props.stage.metric('ExecutionError', { period: PERIOD, statistic: 'Sum' }),
      apiErrorThreshold,
      `ebb WebSocket API: ${apiErrorThreshold}+ errors calling handlers in 5 minutes`,
    );
    for (const watched of props.queues ?? []) {
      alarm(
        `${pascal(watched.name)}DeadLetters`,
        watched.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ period: PERIOD, statistic: 'Maximum' }),
        1,
        `ebb ${watched.name} queue: messages in its dead-letter queue (retries exhausted); inspect, then redrive or purge`,
      );
      alarm(
        `${pascal(watched.name)}Age`,
        watched.queue.metricApproximateAgeOfOldestMessage({ period: PERIOD, statistic: 'Maximum' }),
        watched.maxAge.toSeconds(),
        `ebb ${watched.name} queue: oldest message over ${watched.maxAge.toSeconds()} s old (its function failing or throttled)`,
      );
    }
    this.alarms = alarms;

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', { defaultInterval: Duration.hours(3) });
    const stageMetric = (name: string, statistic = 'Sum') => props.stage.metric(name, { period: PERIOD, statistic, label: name });
    const perFunction = (metric: (fn: lambda.IFunction) => cloudwatch.Metric) =>
      entries.map((entry) => metric(props.functions[entry]!).with({ label: entry }));
    const perTable = (metric: (table: dynamodb.ITable, key: TableKey) => cloudwatch.Metric | cloudwatch.MathExpression) =>
      tableKeys.map((key) => metric(props.tables[key], key).with({ label: key }));
    const graph = (title: string, left: cloudwatch.IMetric[]) => new cloudwatch.GraphWidget({ title, left, width: 8, height: 6 });
    this.dashboard.addWidgets(
      graph('Connections and messages', [stageMetric('ConnectCount'), stageMetric('MessageCount')]),
      graph('API errors', [stageMetric('ClientError'), stageMetric('IntegrationError'), stageMetric('ExecutionError')]),
      graph('Integration latency p99 (ms)', [stageMetric('IntegrationLatency', 'p99')]),
    );
    this.dashboard.addWidgets(
      graph(
        'Handler duration p99 (ms)',
        perFunction((fn) => fn.metricDuration({ period: PERIOD, statistic: 'p99' })),
      ),
      graph(
        'Handler errors',
        perFunction((fn) => fn.metricErrors({ period: PERIOD, statistic: 'Sum' })),
      ),
      graph(
        'Handler throttles',
        perFunction((fn) => fn.metricThrottles({ period: PERIOD, statistic: 'Sum' })),
      ),
    );
    this.dashboard.addWidgets(
      graph(
        'DynamoDB consumed read capacity',
        perTable((table) => table.metricConsumedReadCapacityUnits({ period: PERIOD, statistic: 'Sum' })),
      ),
      graph(
        'DynamoDB consumed write capacity',
        perTable((table) => table.metricConsumedWriteCapacityUnits({ period: PERIOD, statistic: 'Sum' })),
      ),
      graph('DynamoDB throttled reads and writes', perTable(throttleEvents)),
    );
    this.dashboard.addWidgets(new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 4 }));
  }
}

/**
 * One topic for every alarm. TLS-only; CloudWatch alarms of this account alone may publish.
 * Not KMS-encrypted: CloudWatch cannot publish to a topic under the AWS-managed `aws/sns` key, and
 * notifications carry alarm names and metric values, never user data.
 */
function alarmTopic(scope: Construct): sns.Topic {
  const stack = Stack.of(scope);
  const topic = new sns.Topic(scope, 'AlarmTopic', { displayName: 'ebb alarms', enforceSSL: true });
  topic.addToResourcePolicy(
    new iam.PolicyStatement({
      principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
      actions: ['sns:Publish'],
      resources: [topic.topicArn],
      conditions: {
        StringEquals: { 'aws:SourceAccount': stack.account },
        ArnLike: {
          'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }),
        },
      },
    }),
  );
  return topic;
}

/**
 * Read and write throttle events of a table, summed: on-demand tables throttle only past twice their
 * previous peak. Metric ids carry the table key, since one graph holds every table's expression.
 */
function throttleEvents(table: dynamodb.ITable, key: TableKey): cloudwatch.MathExpression {
  return new cloudwatch.MathExpression({
    expression: `${key}Reads + ${key}Writes`,
    usingMetrics: {
      [`${key}Reads`]: table.metric('ReadThrottleEvents', { period: PERIOD, statistic: 'Sum' }),
      [`${key}Writes`]: table.metric('WriteThrottleEvents', { period: PERIOD, statistic: 'Sum' }),
    },
    period: PERIOD,
    label: 'throttle events',
  });
}

/** `keys-publish` → `KeysPublish`, `rateLimits` → `RateLimits`: stable construct ids. */
function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}
