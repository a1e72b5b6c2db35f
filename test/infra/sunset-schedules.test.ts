import { Annotations, Match, type Template } from 'aws-cdk-lib/assertions';
import { App, Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Tables, type TableKey } from '../../lambdas/adapters/table-definitions';
import { LambdaEnv, ScheduledHandlers } from '../../lambdas/routes';
import { ConfigError, DEFAULT_CONFIG, type SunsetConfig } from '../../protocol/config';
import { EbbStack } from '../../infra/ebb-stack';
import type { EbbSunsetSchedulesOptions } from '../../infra/sunset-schedules';
import { cdkJsonContext, logicalId, resourcesOfType, synthWithoutBundling, type Synthesized } from './fixture';

/** Before every date below, so the test never depends on today's date. */
const BEFORE_ALL = new Date('2029-06-01T00:00:00Z');

const DATES = {
  signupsCloseAt: '2030-01-01T00:00:00Z',
  readOnlyAt: '2030-02-01T12:30:00Z',
  shutdownAt: '2030-03-01T08:15:00Z',
  purgeAt: '2030-04-01T00:00:05Z',
} as const;

function synthSunset(sunset: Partial<SunsetConfig>, now = BEFORE_ALL): Synthesized {
  return synthWithoutBundling({
    ebb: { ...DEFAULT_CONFIG, sunset: { ...DEFAULT_CONFIG.sunset, ...sunset } },
    props: { sunsetSchedules: { now } },
  });
}

interface ScheduleSummary {
  readonly expression: string;
  readonly timezone: string | undefined;
  readonly task: string;
}

/** Every schedule's expression and the task its input asks for, sorted by expression. */
function schedules(template: Template): ScheduleSummary[] {
  return Object.values(resourcesOfType(template, 'AWS::Scheduler::Schedule'))
    .map((schedule) => {
      const props = schedule.Properties as { ScheduleExpression: string; ScheduleExpressionTimezone?: string; Target: { Input: string } };
      return {
        expression: props.ScheduleExpression,
        timezone: props.ScheduleExpressionTimezone,
        task: (JSON.parse(props.Target.Input) as { task: string }).task,
      };
    })
    .sort((a, b) => a.expression.localeCompare(b.expression));
}

const tableDeletionPolicies = (template: Template) =>
  Object.values(resourcesOfType(template, 'AWS::DynamoDB::Table')).map((table) => (table as { DeletionPolicy?: string }).DeletionPolicy);

describe('EbbSunsetSchedules', () => {
  describe('GIVEN cdk.json, which schedules no sunset', () => {
    let synth: Synthesized;
    beforeAll(() => {
      synth = synthWithoutBundling();
    });

    test('THEN there is no schedule and no scheduler role, and the tables are retained', () => {
      synth.template.resourceCountIs('AWS::Scheduler::Schedule', 0);
      expect(synth.stack.sunsetSchedules.schedulerRole).toBeUndefined();
      expect(new Set(tableDeletionPolicies(synth.template))).toEqual(new Set(['Retain']));
    });

    test('THEN the lifecycle function still exists, nodejs22.x on arm64 with 15 minutes for a purge', () => {
      const fn = resourcesOfType(synth.template, 'AWS::Lambda::Function')[logicalId(synth.stack.sunsetSchedules.function)]!;
      expect(fn.Properties).toMatchObject({ Runtime: 'nodejs22.x', Architectures: ['arm64'], Timeout: 900, Handler: 'index.handler' });
      const variables = (fn.Properties!.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables[LambdaEnv.config]).toBe(JSON.stringify(DEFAULT_CONFIG));
      expect(variables[LambdaEnv.callbackUrl]).toEqual(expect.objectContaining({ 'Fn::Join': expect.any(Array) }));
      for (const key of Object.keys(Tables) as TableKey[]) {
        expect(variables[Tables[key].envVar]).toEqual({ Ref: logicalId(synth.stack.tables.table(key)) });
      }
      synth.template.hasOutput('LifecycleFunctionName', { Value: { Ref: logicalId(synth.stack.sunsetSchedules.function) } });
    });
  });

  describe('GIVEN every sunset date in the future', () => {
    let synth: Synthesized;
    beforeAll(() => {
      synth = synthSunset(DATES);
    });

    test('THEN each date has a one-time UTC schedule running its task (seconds rounded up to the minute), plus the daily countdown at shutdown time', () => {
      expect(schedules(synth.template)).toEqual([
        { expression: 'at(2030-01-01T00:00:00)', timezone: 'Etc/UTC', task: 'phase-change' },
        { expression: 'at(2030-02-01T12:30:00)', timezone: 'Etc/UTC', task: 'phase-change' },
        { expression: 'at(2030-03-01T08:15:00)', timezone: 'Etc/UTC', task: 'shutdown' },
        { expression: 'at(2030-04-01T00:01:00)', timezone: 'Etc/UTC', task: 'purge' },
        { expression: 'cron(15 8 * * ? *)', timezone: 'Etc/UTC', task: 'countdown' },
      ]);
    });

    test('THEN every schedule targets the lifecycle function through the scheduler role, with no end date', () => {
      const functionArn = { 'Fn::GetAtt': [logicalId(synth.stack.sunsetSchedules.function), 'Arn'] };
      const roleArn = { 'Fn::GetAtt': [logicalId(synth.stack.sunsetSchedules.schedulerRole!), 'Arn'] };
      synth.template.allResourcesProperties('AWS::Scheduler::Schedule', {
        State: 'ENABLED',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: Match.objectLike({ Arn: functionArn, RoleArn: roleArn }),
      });
      // After purgeAt the countdown retries an unfinished purge, so it never stops by itself.
      synth.template.allResourcesProperties('AWS::Scheduler::Schedule', { EndDate: Match.absent(), StartDate: Match.absent() });
    });

    test("THEN the scheduler role trusts only this account's schedules and may invoke only the lifecycle function", () => {
      const roleId = logicalId(synth.stack.sunsetSchedules.schedulerRole!);
      const role = resourcesOfType(synth.template, 'AWS::IAM::Role')[roleId]!;
      const trust = (role.Properties!.AssumeRolePolicyDocument as { Statement: Record<string, unknown>[] }).Statement;
      expect(trust).toEqual([
        expect.objectContaining({
          Action: 'sts:AssumeRole',
          Principal: { Service: 'scheduler.amazonaws.com' },
          Condition: { StringEquals: expect.objectContaining({ 'aws:SourceAccount': { Ref: 'AWS::AccountId' } }) },
        }),
      ]);
      const policies = Object.values(resourcesOfType(synth.template, 'AWS::IAM::Policy')).filter((policy) =>
        (policy.Properties!.Roles as unknown[]).some((ref) => JSON.stringify(ref) === JSON.stringify({ Ref: roleId })),
      );
      const statements = policies.flatMap((policy) => (policy.Properties!.PolicyDocument as { Statement: Record<string, unknown>[] }).Statement);
      const fnId = logicalId(synth.stack.sunsetSchedules.function);
      expect(statements).toEqual([
        {
          Effect: 'Allow',
          Action: 'lambda:InvokeFunction',
          Resource: [{ 'Fn::GetAtt': [fnId, 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': [fnId, 'Arn'] }, ':*']] }],
        },
      ]);
      expect(role.Properties!.ManagedPolicyArns).toBeUndefined();
    });

    test('THEN with a purge scheduled the tables are destroyed with the stack', () => {
      expect(new Set(tableDeletionPolicies(synth.template))).toEqual(new Set(['Delete']));
    });
  });

  test('GIVEN only a shutdownAt, with seconds THEN the shutdown and countdown schedules run from the next whole minute and the tables are retained', () => {
    const { template } = synthSunset({ shutdownAt: '2030-03-01T23:59:30Z' });
    expect(schedules(template)).toEqual([
      { expression: 'at(2030-03-02T00:00:00)', timezone: 'Etc/UTC', task: 'shutdown' },
      { expression: 'cron(0 0 * * ? *)', timezone: 'Etc/UTC', task: 'countdown' },
    ]);
    expect(new Set(tableDeletionPolicies(template))).toEqual(new Set(['Retain']));
  });

  test('GIVEN signups closing and read-only at the same instant THEN one phase-change schedule and no countdown', () => {
    const { stack, template } = synthSunset({ signupsCloseAt: DATES.readOnlyAt, readOnlyAt: DATES.readOnlyAt });
    expect(schedules(template)).toEqual([{ expression: 'at(2030-02-01T12:30:00)', timezone: 'Etc/UTC', task: 'phase-change' }]);
    expect(Object.keys(stack.sunsetSchedules.schedules)).toEqual(['readOnlyAt']);
  });

  test('GIVEN a moved date WHEN synthesized again THEN the same schedule resource carries the new date', () => {
    const before = synthSunset({ readOnlyAt: DATES.readOnlyAt });
    const after = synthSunset({ readOnlyAt: '2030-02-09T10:00:00Z' });
    const [beforeId, afterId] = [before, after].map(({ stack }) => logicalId(stack.sunsetSchedules.schedules.readOnlyAt!));
    expect(afterId).toBe(beforeId);
    after.template.hasResourceProperties('AWS::Scheduler::Schedule', { ScheduleExpression: 'at(2030-02-09T10:00:00)' });
  });

  test('GIVEN dates already past at synth THEN they get no one-time schedule but a warning naming the key, and the countdown stays', () => {
    const { stack, template } = synthSunset(DATES, new Date('2030-03-15T00:00:00Z'));
    expect(schedules(template)).toEqual([
      { expression: 'at(2030-04-01T00:01:00)', timezone: 'Etc/UTC', task: 'purge' },
      { expression: 'cron(15 8 * * ? *)', timezone: 'Etc/UTC', task: 'countdown' },
    ]);
    const warnings = Annotations.fromStack(stack)
      .findWarning('*', Match.anyValue())
      .map((w) => String(w.entry.data));
    for (const key of ['signupsCloseAt', 'readOnlyAt', 'shutdownAt']) {
      expect(warnings).toContainEqual(
        expect.stringContaining(`sunset.${key} (${DATES[key as keyof typeof DATES]}) is not after 2030-03-15T00:00:00.000Z`),
      );
    }
    expect(warnings.some((w) => w.includes('purgeAt'))).toBe(false);
  });

  test('GIVEN an explicit table removal policy THEN it wins over the purge default', () => {
    const { template } = synthWithoutBundling({
      ebb: { sunset: { ...DEFAULT_CONFIG.sunset, shutdownAt: DATES.shutdownAt, purgeAt: DATES.purgeAt } },
      props: { tables: { removalPolicy: RemovalPolicy.RETAIN }, sunsetSchedules: { now: BEFORE_ALL } },
    });
    expect(new Set(tableDeletionPolicies(template))).toEqual(new Set(['Retain']));
  });

  test.each<[string, Partial<SunsetConfig>, string]>([
    ['a purgeAt without shutdownAt', { purgeAt: DATES.purgeAt }, 'ebb.sunset.purgeAt: needs shutdownAt'],
    [
      'a shutdownAt before readOnlyAt',
      { readOnlyAt: DATES.readOnlyAt, shutdownAt: DATES.signupsCloseAt },
      'ebb.sunset.shutdownAt: must not be before readOnlyAt',
    ],
    ['a purgeAt before shutdownAt', { shutdownAt: DATES.purgeAt, purgeAt: DATES.shutdownAt }, 'ebb.sunset.purgeAt: must not be before shutdownAt'],
    ['a date without its zone', { shutdownAt: '2030-03-01T08:15:00' }, 'ebb.sunset.shutdownAt: must be an ISO-8601 UTC date'],
  ])('GIVEN %s THEN synthesis fails naming the key, from cdk.json and from props alike', (_label, sunset, message) => {
    expect(() => synthSunset(sunset)).toThrow(message);
    // Handed straight to the stack, bypassing the context resolver: the construct checks it again.
    process.env.CDK_VALIDATION = 'false';
    const app = new App({ context: { ...cdkJsonContext(), 'aws:cdk:bundling-stacks': [] } });
    const config = { ...DEFAULT_CONFIG, sunset: { ...DEFAULT_CONFIG.sunset, ...sunset } };
    let thrown: unknown;
    try {
      new EbbStack(app, 'Ebb', { config, sunsetSchedules: { now: BEFORE_ALL } });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain(message);
  });

  test.each<[string, EbbSunsetSchedulesOptions, RegExp]>([
    [
      "a timeout beyond Lambda's 15 minutes",
      { timeout: Duration.minutes(16) },
      /Ebb\/Sunset\/Lifecycle: timeout in seconds must be a number from 1 to 900, got 960/,
    ],
    [
      'a handler with a route key',
      { handler: { ...ScheduledHandlers[0]!, routeKey: 'purge' } },
      /Ebb\/Sunset: handler lifecycle has route key "purge"/,
    ],
    ['an invalid now', { now: new Date('not a date') }, /Ebb\/Sunset: now must be a valid date/],
  ])('GIVEN %s THEN synthesis fails naming the construct and the prop', (_label, sunsetSchedules, message) => {
    expect(() => synthWithoutBundling({ props: { sunsetSchedules } })).toThrow(message);
  });
});
