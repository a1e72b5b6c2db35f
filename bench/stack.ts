import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EbbConfigInput } from '../protocol';
import { startLocalStack, type LocalStack } from '../local';
import { DynamoMeter } from './dynamo-meter';
import { sleep } from './measure';
import { RouteTimer } from './route-timer';

/** Every client is 127.0.0.1 here, and the bench measures delivery, not throttling. */
export const UNTHROTTLED = {
  sendPerMinute: 100_000,
  sendCopiesPerMinute: 100_000,
  connectPerMinute: 100_000,
  bundlePerMinute: 100_000,
  registerPerMinute: 100_000,
  // A benchmark client sends far faster than any person: the per-connection frame budget would close it.
  framesPerSecond: 10_000,
  frameBurst: 100_000,
  // Shared by every device of the asking account: a sixth device's first bundle of a contact would be refused.
  bundlePerPairPerHour: 100_000,
  attachmentUploadPerMinute: 100_000,
  attachmentDownloadPerMinute: 100_000,
};

export interface MeteredStack {
  readonly stack: LocalStack;
  readonly dynamo: DynamoMeter;
  readonly timer: RouteTimer;
}

export interface MeteredStackOptions {
  /** Milliseconds waited before every DynamoDB request a handler makes, as each costs a few ms on AWS. */
  readonly dynamoDelayMs?: number;
  /** The stack's clock (e.g. advanced a second per message, as a person types). */
  readonly now?: () => number;
  /** A section's own middleware on the handlers' DynamoDB client. */
  readonly instrument?: (client: DynamoDBClient) => void;
  /** Laid over the unthrottled rate limits. */
  readonly config?: EbbConfigInput;
}

/** Waits `delayMs` before every request `client` makes, as each DynamoDB call from Lambda costs a few ms on AWS. */
export function delayDynamo(client: DynamoDBClient, delayMs: number): void {
  if (delayMs <= 0) return;
  client.middlewareStack.add(
    (next) => async (args) => {
      await sleep(delayMs);
      return next(args);
    },
    { step: 'initialize', name: 'benchLatency' },
  );
}

/** A local stack whose handlers' DynamoDB requests, API Gateway messages and handler durations are all counted. */
export async function startMeteredStack(options: MeteredStackOptions = {}): Promise<MeteredStack> {
  const dynamo = new DynamoMeter();
  const delayMs = options.dynamoDelayMs ?? 0;
  const stack = await startLocalStack({
    port: 0,
    config: { ...options.config, rateLimits: UNTHROTTLED },
    ...(options.now && { now: options.now }),
    instrumentDynamo: (client: DynamoDBClient) => {
      dynamo.instrument(client);
      options.instrument?.(client);
      delayDynamo(client, delayMs);
    },
    sweepIntervalMs: 60_000,
  });
  return { stack, dynamo, timer: new RouteTimer(stack) };
}
