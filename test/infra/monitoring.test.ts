import { Match } from 'aws-cdk-lib/assertions';
import { Tables, type TableKey } from '../../lambdas/adapters/table-definitions';
import { Handlers, QueueHandlers, ScheduledHandlers } from '../../lambdas/routes';
import { logicalId, resourcesOfType, synthWithoutBundling, type Resources, type Synthesized } from './fixture';

const ENTRIES = [...Handlers, ...ScheduledHandlers, ...QueueHandlers].map((spec) => spec.entry);
const tableKeys = Object.keys(Tables) as TableKey[];

interface AlarmProps {
  readonly Namespace?: string;
  readonly MetricName?: string;
  readonly Dimensions?: { Name: string; Value: unknown }[];
  readonly Metrics?: {
    Id: string;
    Expression?: string;
    MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions: { Name: string; Value: unknown }[] } };
  }[];
  readonly Threshold: number;
  readonly ComparisonOperator: string;
  readonly TreatMissingData: string;
  readonly AlarmActions?: unknown[];
  readonly OKActions?: unknown[];
}

const alarmsOf = (resources: Resources) => Object.values(resources).map((alarm) => alarm.Properties as unknown as AlarmProps);

describe('EbbMonitoring', () => {
  describe('GIVEN the stack synthesized from cdk.json', () => {
    let synth: Synthesized;
    let alarms: AlarmProps[];
    let topicRef: { Ref: string };
    beforeAll(() => {
      synth = synthWithoutBundling();
      alarms = alarmsOf(resourcesOfType(synth.template, 'AWS::CloudWatch::Alarm'));
      topicRef = { Ref: logicalId(synth.stack.monitoring.alarmTopic!) };
    });

    function functionOf(entry: string) {
      const fn =
        entry === 'lifecycle'
          ? synth.stack.sunsetSchedules.function
          : entry === 'push-wake'
            ? synth.stack.push.function
            : synth.stack.webSocketApi.functions[entry];
      if (!fn) throw new Error(`no function ${entry}`);
      return fn;
    }

    const lambdaAlarm = (entry: string, metricName: string) =>
      alarms.filter(
        (a) =>
          a.Namespace === 'AWS/Lambda' &&
          a.MetricName === metricName &&
          JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: logicalId(functionOf(entry)) } }]),
      );

    test.each(ENTRIES)('THEN the %s Lambda has an Errors and a Throttles alarm', (entry) => {
      const errors = lambdaAlarm(entry, 'Errors');
      const throttles = lambdaAlarm(entry, 'Throttles');
      expect([errors.length, throttles.length]).toEqual([1, 1]);
      // The authorizer refuses by throwing, so its errors alarm only on a surge.
      expect(errors[0]!.Threshold).toBe(entry === 'authorize' ? 50 : 1);
      expect(throttles[0]!.Threshold).toBe(1);
    });

    test.each(tableKeys)('THEN the %s table has an alarm on its read and write throttle events', (key) => {
      const tableRef = { Ref: logicalId(synth.stack.tables.table(key)) };
      const matching = alarms.filter((a) => {
        const names = (a.Metrics ?? [])
          .filter((m) => m.MetricStat?.Metric.Namespace === 'AWS/DynamoDB')
          .filter((m) => JSON.stringify(m.MetricStat!.Metric.Dimensions) === JSON.stringify([{ Name: 'TableName', Value: tableRef }]))
          .map((m) => m.MetricStat!.Metric.MetricName);
        return names.sort().join() === 'ReadThrottleEvents,WriteThrottleEvents';
      });
      expect(matching).toHaveLength(1);
      expect(matching[0]!.Metrics!.filter((m) => m.Expression !== undefined)).toHaveLength(1);
    });

    test('THEN the wake-up queue alarms on any message in its dead-letter queue and on its oldest message passing five minutes', () => {
      const queueAlarm = (queue: object, metricName: string) =>
        alarms.filter(
          (a) =>
            a.Namespace === 'AWS/SQS' &&
            a.MetricName === metricName &&
            JSON.stringify(a.Dimensions) ===
              JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(queue as never), 'QueueName'] } }]),
        );
      const deadLetters = queueAlarm(synth.stack.push.deadLetterQueue, 'ApproximateNumberOfMessagesVisible');
      const age = queueAlarm(synth.stack.push.queue, 'ApproximateAgeOfOldestMessage');
      expect(deadLetters.map((a) => a.Threshold)).toEqual([1]);
      expect(age.map((a) => a.Threshold)).toEqual([300]);
    });

    test.each(['IntegrationError', 'ExecutionError'])('THEN the WebSocket stage has an alarm on %s', (metricName) => {
      const matching = alarms.filter((a) => a.Namespace === 'AWS/ApiGateway' && a.MetricName === metricName);
      expect(matching).toHaveLength(1);
      expect(matching[0]!.Dimensions).toEqual([
        { Name: 'ApiId', Value: { Ref: logicalId(synth.stack.webSocketApi.api) } },
        { Name: 'Stage', Value: 'prod' },
      ]);
    });

    test('THEN there are exactly those alarms, each treating missing data as fine and notifying the topic on ALARM and OK', () => {
      // Two per function, one per table, two on the stage, two on the wake-up queue.
      expect(alarms).toHaveLength(ENTRIES.length * 2 + tableKeys.length + 2 + 2);
      for (const alarm of alarms) {
        expect(alarm.TreatMissingData).toBe('notBreaching');
        expect(alarm.ComparisonOperator).toBe('GreaterThanOrEqualToThreshold');
        expect(alarm.AlarmActions).toEqual([topicRef]);
        expect(alarm.OKActions).toEqual([topicRef]);
      }
    });

    test('THEN the alarm topic accepts TLS only, from CloudWatch alarms of this account, and is the AlarmTopicArn output', () => {
      synth.template.resourceCountIs('AWS::SNS::Topic', 1);
      synth.template.hasOutput('AlarmTopicArn', { Value: topicRef });
      synth.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: 'sns:Publish',
              Condition: Match.objectLike({ StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } }),
            }),
          ]),
        },
      });
    });

    test('THEN one dashboard shows messages, connections, handler durations and errors, DynamoDB capacity and throttles', () => {
      synth.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      const body = JSON.stringify(Object.values(resourcesOfType(synth.template, 'AWS::CloudWatch::Dashboard'))[0]!.Properties!.DashboardBody);
      for (const metric of [
        'ConnectCount',
        'MessageCount',
        'IntegrationError',
        'Duration',
        'Errors',
        'ConsumedReadCapacityUnits',
        'ConsumedWriteCapacityUnits',
        'ReadThrottleEvents',
        'WriteThrottleEvents',
      ]) {
        expect(body).toContain(`\\"${metric}\\"`);
      }
      synth.template.hasOutput('DashboardName', { Value: { Ref: logicalId(synth.stack.monitoring.dashboard) } });
    });
  });

  describe('GIVEN createAlarmTopic false', () => {
    test('WHEN synthesized THEN there is no topic and no topic output, and the alarms stay', () => {
      const { template } = synthWithoutBundling({ props: { monitoring: { createAlarmTopic: false } } });
      template.resourceCountIs('AWS::SNS::Topic', 0);
      expect(Object.keys(template.toJSON().Outputs)).not.toContain('AlarmTopicArn');
      for (const alarm of alarmsOf(resourcesOfType(template, 'AWS::CloudWatch::Alarm'))) expect(alarm.AlarmActions).toBeUndefined();
      expect(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).not.toEqual({});
    });
  });

  describe('GIVEN thresholds that are not whole numbers of at least 1', () => {
    test.each([
      [{ functionErrorThreshold: 0 }, /functionErrorThreshold must be a whole number from 1/],
      [{ apiErrorThreshold: 2.5 }, /apiErrorThreshold must be a whole number from 1/],
    ])('WHEN given %j THEN synthesis fails naming the prop', (monitoring, message) => {
      expect(() => synthWithoutBundling({ props: { monitoring } })).toThrow(message);
    });
  });
});
