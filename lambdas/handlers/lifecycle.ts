import * as v from 'valibot';
import { portsFromEnv } from '../adapters/env';
import { s3AttachmentObjects } from '../adapters/attachment-objects';
import { dynamoConnections, dynamoSweeper, gatewayNotifier } from '../adapters/port-adapters';
import type { PortAdapters } from '../adapters/wiring';
import { LifecycleTasks, runLifecycle, type LifecycleEvent, type LifecycleOutcome } from '../core/lifecycle';

export type { LifecycleEvent, LifecycleOutcome, LifecycleSkip, LifecycleTask } from '../core/lifecycle';

/** The ports the sunset jobs use: the sweeper walks every table, the attachment objects are emptied, the rest close connections. */
export const adapters = {
  sweeper: dynamoSweeper,
  attachmentObjects: s3AttachmentObjects,
  connections: dynamoConnections,
  notifier: gatewayNotifier,
} satisfies PortAdapters;

const Event = v.object({ task: v.picklist(LifecycleTasks) });

/** The part of the Lambda context the purge uses to stop before its timeout. */
export interface LifecycleContext {
  getRemainingTimeInMillis(): number;
}

/**
 * The scheduled sunset job (ARCH §10.4): EventBridge Scheduler invokes it asynchronously with `{ "task": … }`,
 * one one-time schedule per configured date plus a daily `countdown`. A failed run throws, so the
 * asynchronous invocation is retried; every task may safely run again.
 * @throws Error when the event names no known task.
 */
export async function handler(event: LifecycleEvent, context?: LifecycleContext): Promise<LifecycleOutcome> {
  const ports = portsFromEnv(adapters);
  const parsed = v.safeParse(Event, event);
  if (!parsed.success) {
    ports.logger.error('lifecycle event refused', { task: typeof event?.task === 'string' ? event.task.slice(0, 32) : typeof event?.task });
    throw new Error('lifecycle event: task must be one of ' + LifecycleTasks.join(', '));
  }
  try {
    return await runLifecycle(ports, parsed.output.task, context ? { remainingMs: () => context.getRemainingTimeInMillis() } : {});
  } catch (error) {
    ports.logger.error('lifecycle failed', { task: parsed.output.task, error: (error as Error)?.name ?? 'unknown' });
    throw error;
  }
}
