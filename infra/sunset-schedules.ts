import { Annotations, type CfnElement, Duration, Stack, TimeZone, Validations } from 'aws-cdk-lib';
import type * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import type * as logs from 'aws-cdk-lib/aws-logs';
import { Schedule, ScheduleExpression, ScheduleTargetInput } from 'aws-cdk-lib/aws-scheduler';
import { LambdaInvoke } from 'aws-cdk-lib/aws-scheduler-targets';
import { Construct } from 'constructs';
import { resolveConfig, type EbbConfig } from '../protocol/config';
import type { TableKey } from '../lambdas/adapters/table-definitions';
import type { LifecycleTask } from '../lambdas/core/lifecycle';
import { LambdaEnv, ScheduledHandlers, type HandlerSpec } from '../lambdas/routes';
import type { EbbAttachmentsBucket } from './attachments-bucket';
import type { EbbFrankingKeyring } from './franking-keyring';
import { EbbHandlerFunction } from './handler-function';
import { grantConnectionManagement } from './websocket-api';
import { invalid } from './validate';

/** The sunset dates of `context.ebb.sunset`, each with the task that runs when it arrives (ARCH §10.4). */
export const SunsetDateTasks = {
  signupsCloseAt: 'phase-change',
  readOnlyAt: 'phase-change',
  shutdownAt: 'shutdown',
  purgeAt: 'purge',
} as const satisfies Record<string, LifecycleTask>;

export type SunsetDateKey = keyof typeof SunsetDateTasks;

/** Construct id of each schedule: one per date key, so moving a date updates its schedule in place. */
const SCHEDULE_IDS = {
  signupsCloseAt: 'SignupsCloseAt',
  readOnlyAt: 'ReadOnlyAt',
  shutdownAt: 'ShutdownAt',
  purgeAt: 'PurgeAt',
  countdown: 'Countdown',
} as const satisfies Record<SunsetDateKey | 'countdown', string>;

export interface EbbSunsetSchedulesOptions {
  /**
   * The lifecycle function's manifest entry.
   * @default the `lifecycle` entry of ScheduledHandlers in lambdas/routes.ts
   */
  readonly handler?: HandlerSpec;

  /**
   * Directory holding the handler module.
   * @default lambdas/handlers
   */
  readonly handlersDir?: string;

  /**
   * A purge walks every table, so the function gets Lambda's longest timeout.
   * @default Duration.minutes(15)
   */
  readonly timeout?: Duration;

  /**
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;

  /**
   * The moment sunset dates are compared with. A date at or before it gets no schedule (EventBridge
   * Scheduler would never run it) and a synth warning instead; the phase itself still follows the clock.
   * @default - the time of synthesis
   */
  readonly now?: Date;
}

export interface EbbSunsetSchedulesProps extends EbbSunsetSchedulesOptions {
  /** Tables by key, as created by `EbbTables`. */
  readonly tables: Readonly<Record<TableKey, dynamodb.ITable>>;

  /** Resolved `context.ebb`: its sunset dates become schedules, and the function gets it as `EBB_CONFIG`. */
  readonly config: EbbConfig;

  /** The stage whose connections the function sends notices to and closes. */
  readonly stage: apigwv2.WebSocketStage;

  /**
   * The franking keyring, for a lifecycle handler whose spec says `frankingKeys: true`.
   * @default - none
   */
  readonly frankingKeyring?: EbbFrankingKeyring;

  /**
   * The attachments bucket, which the purge empties (ARCH §6.12).
   * @default - none; the lifecycle spec's `attachments` actions then fail synthesis
   */
  readonly attachmentsBucket?: EbbAttachmentsBucket;
}

/**
 * The sunset lifecycle on AWS: the scheduled lifecycle Lambda and one EventBridge Scheduler one-time
 * schedule per sunset date (`signupsCloseAt`, `readOnlyAt` → `phase-change`, `shutdownAt` → `shutdown`,
 * `purgeAt` → `purge`), plus a daily `countdown` whenever `shutdownAt` is set. The function decides
 * which day deserves a notice (the last 30 before shutdown) and, after `purgeAt`, finishes an unfinished
 * purge; the schedules only say when to ask.
 *
 * Two dates at the same instant that run the same task (`signupsCloseAt` = `readOnlyAt`) share the later
 * date's schedule, so clients get one notice, not two.
 */
export class EbbSunsetSchedules extends Construct {
  /** The lifecycle function, invoked with `{ task }`. */
  readonly function: NodejsFunction;
  /** The schedules synthesized, by date key and `countdown`. */
  readonly schedules: Readonly<Partial<Record<SunsetDateKey | 'countdown', Schedule>>>;
  /** The role EventBridge Scheduler assumes to invoke the function; absent when nothing is scheduled. */
  readonly schedulerRole?: iam.Role;

  constructor(scope: Construct, id: string, props: EbbSunsetSchedulesProps) {
    super(scope, id);
    // Props may come from code rather than cdk.json: the same schema, the same key-naming errors.
    const { sunset } = resolveConfig(props.config);
    const spec = props.handler ?? ScheduledHandlers.find((candidate) => candidate.entry === 'lifecycle');
    if (!spec) throw invalid(this, 'lambdas/routes.ts has no scheduled handler named lifecycle');
    if (spec.routeKey !== undefined)
      throw invalid(this, `handler ${spec.entry} has route key "${spec.routeKey}": a scheduled handler is reached by no client`);
    const now = props.now ?? new Date();
    if (Number.isNaN(now.getTime())) throw invalid(this, 'now must be a valid date');

    const lifecycle = new EbbHandlerFunction(this, 'Lifecycle', {
      spec,
      tables: props.tables,
      config: props.config,
      frankingKeyring: props.frankingKeyring,
      attachmentsBucket: props.attachmentsBucket,
      handlersDir: props.handlersDir,
      timeout: props.timeout ?? Duration.minutes(15),
      maxTimeout: Duration.minutes(15),
      memorySize: props.memorySize,
      logRetention: props.logRetention,
      environment: spec.manageConnections ? { [LambdaEnv.callbackUrl]: props.stage.callbackUrl } : undefined,
    });
    this.function = lifecycle.function;
    if (spec.manageConnections) grantConnectionManagement(props.stage, this.function);

    const due = dueDates(this, sunset, now);
    const schedules: Partial<Record<SunsetDateKey | 'countdown', Schedule>> = {};
    const shutdownAt = sunset.shutdownAt === null ? undefined : wholeMinuteFrom(new Date(sunset.shutdownAt));
    if (due.length === 0 && !shutdownAt) {
      this.schedules = schedules;
      return;
    }

    const stack = Stack.of(this);
    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      description: 'Lets EventBridge Scheduler invoke the ebb lifecycle function, and nothing else',
      // Only schedules of this account's default group may assume it (confused-deputy guard).
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: {
          StringEquals: {
            'aws:SourceAccount': stack.account,
            'aws:SourceArn': stack.formatArn({ service: 'scheduler', resource: 'schedule-group', resourceName: 'default' }),
          },
        },
      }),
    });
    Validations.of(this.schedulerRole).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.function.node.defaultChild as CfnElement)}.Arn>:*]`,
      reason:
        'The LambdaInvoke target grants lambda:InvokeFunction on the lifecycle function and its versions (`:*`); the role can invoke nothing else.',
    });
    const target = (task: LifecycleTask) =>
      new LambdaInvoke(this.function, { role: this.schedulerRole, input: ScheduleTargetInput.fromObject({ task }) });

    for (const { key, at } of due) {
      schedules[key] = new Schedule(this, SCHEDULE_IDS[key], {
        // Scheduler reads at() in the given zone: UTC keeps it equal to the configured ISO date.
        schedule: ScheduleExpression.at(wholeMinuteFrom(at), TimeZone.ETC_UTC),
        target: target(SunsetDateTasks[key]),
        description: `ebb sunset: ${SunsetDateTasks[key]} at ${key} ${at.toISOString()}`,
      });
    }
    if (shutdownAt) {
      // Daily at shutdown's time of day, so each countdown notice falls a whole number of days before it.
      // No end date: after purgeAt the countdown runs the purge again, finishing one that ran out of time.
      schedules.countdown = new Schedule(this, SCHEDULE_IDS.countdown, {
        schedule: ScheduleExpression.cron({
          minute: String(shutdownAt.getUTCMinutes()),
          hour: String(shutdownAt.getUTCHours()),
          timeZone: TimeZone.ETC_UTC,
        }),
        target: target('countdown'),
        description: `ebb sunset: daily countdown to shutdownAt ${shutdownAt.toISOString()}, then purge retries`,
      });
    }
    this.schedules = schedules;
  }
}

/**
 * Scheduler fires anywhere within the minute of its expression, so a date with seconds is scheduled at
 * the next whole minute: a task never runs before its date and never sees the previous phase.
 */
function wholeMinuteFrom(date: Date): Date {
  return new Date(Math.ceil(date.getTime() / 60_000) * 60_000);
}

/**
 * The configured dates still ahead of `now`, one per task and instant. A date already reached gets a
 * synth warning instead: redeploying after a transition is normal (that schedule has run), but a date
 * set in the past by mistake should not pass silently.
 */
function dueDates(scope: Construct, sunset: EbbConfig['sunset'], now: Date): { key: SunsetDateKey; at: Date }[] {
  const due: { key: SunsetDateKey; at: Date }[] = [];
  for (const key of Object.keys(SunsetDateTasks) as SunsetDateKey[]) {
    const iso = sunset[key];
    if (iso === null) continue;
    const at = new Date(iso);
    if (at.getTime() <= now.getTime()) {
      // purgeAt needs shutdownAt, so the daily countdown exists and purges on its next run.
      const hint = key === 'purgeAt' ? ' The daily countdown purges on its next run.' : '';
      Annotations.of(scope).addWarningV2(
        `@ebb/sunset:${key}Passed`,
        `sunset.${key} (${iso}) is not after ${now.toISOString()}: no ${SunsetDateTasks[key]} schedule is created.${hint}`,
      );
      continue;
    }
    const same = due.findIndex((other) => SunsetDateTasks[other.key] === SunsetDateTasks[key] && other.at.getTime() === at.getTime());
    if (same >= 0) due.splice(same, 1);
    due.push({ key, at });
  }
  return due;
}
