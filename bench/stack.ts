import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { EbbConfigInput } from '../protocol';
import { startLocalStack, type LocalStack } from '../local';
import { DynamoMeter } from './dynamo-meter';
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

/**
 * A local stack whose handlers' DynamoDB requests, API Gateway messages and handler durations are all counted.
 * `instrument` adds a section's own middleware to the handlers' DynamoDB client; `config` is laid over the
 * unthrottled rate limits.
 */
export async function startMeteredStack(
  options: { instrument?: (client: DynamoDBClient) => void; config?: EbbConfigInput } = {},
): Promise<MeteredStack> {
  const dynamo = new DynamoMeter();
  const instrumentDynamo = (client: DynamoDBClient) => {
    dynamo.instrument(client);
    options.instrument?.(client);
  };
  const stack = await startLocalStack({ port: 0, config: { ...options.config, rateLimits: UNTHROTTLED }, instrumentDynamo, sweepIntervalMs: 60_000 });
  return { stack, dynamo, timer: new RouteTimer(stack) };
}
