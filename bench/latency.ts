import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EbbClient, MemoryStore } from '../client-sdk/src';
import { startLocalStack } from '../local';
import { quantile, round, sleep } from './measure';
import { delayDynamo } from './stack';

/** Sequential 1:1 messages at one injected DynamoDB latency. */
export interface LatencyRun {
  /** Milliseconds waited before every DynamoDB request a handler makes. */
  readonly delayMs: number;
  readonly messages: number;
  /** From `send()` to the recipient's 'message' event. */
  readonly toRecipient: { readonly p50Ms: number; readonly p95Ms: number };
  /** From `send()` to its promise resolving (the `send` result frame). */
  readonly toResult: { readonly p50Ms: number; readonly p95Ms: number };
}

export interface LatencyResult {
  readonly runs: readonly LatencyRun[];
  /** Least-squares slope of the p50 to the recipient over the injected delay: sequential DynamoDB round trips. */
  readonly roundTripsToRecipient: number;
  /** The same for the sender's result. */
  readonly roundTripsToResult: number;
  /** p50 from send() to the recipient's event with 10 ms per DynamoDB request; NaN when 10 ms was not run. */
  readonly p50MsAt10ms: number;
}

/**
 * Issue 18 §1: what a user feels when every DynamoDB request from a handler takes `delayMs`, as on AWS
 * where each call from Lambda costs several ms. For each delay, a fresh local stack with the shipped rate
 * limits, two connected clients that have exchanged one message (sessions made, not measured), then
 * `messages` 1 KiB texts one at a time, each sent once the previous one arrived. The stack clock advances
 * one second per message (one message a second, as a person types), so the shipped 120/min send limit is
 * on and never refuses. Receipts are off: they are traffic of their own, not on this path.
 */
export async function measureLatency(delaysMs: readonly number[], messages: number): Promise<LatencyResult> {
  const runs: LatencyRun[] = [];
  for (const delayMs of delaysMs) runs.push(await run(delayMs, messages));
  const toRecipient = slope(runs.map((r) => [r.delayMs, r.toRecipient.p50Ms]));
  const toResult = slope(runs.map((r) => [r.delayMs, r.toResult.p50Ms]));
  return {
    runs,
    roundTripsToRecipient: round(toRecipient, 2),
    roundTripsToResult: round(toResult, 2),
    p50MsAt10ms: runs.find((r) => r.delayMs === 10)?.toRecipient.p50Ms ?? NaN,
  };
}

async function run(delayMs: number, messages: number): Promise<LatencyRun> {
  let offsetMs = 0;
  const stack = await startLocalStack({
    port: 0,
    now: () => Date.now() + offsetMs,
    sweepIntervalMs: 3_600_000,
    instrumentDynamo: (client: DynamoDBClient) => delayDynamo(client, delayMs),
  });
  const clients: EbbClient[] = [];
  try {
    const make = async () => {
      const client = await EbbClient.create({ url: stack.url, store: new MemoryStore(), receipts: false, timeoutMs: 30_000 });
      clients.push(client);
      await client.connect();
      return client;
    };
    const alice = await make();
    const bob = await make();
    let arrived: (() => void) | undefined;
    bob.on('message', () => arrived?.());
    const once = async (text: string) => {
      const received = new Promise<void>((resolve) => (arrived = resolve));
      const t0 = performance.now();
      let resultMs = NaN;
      const sent = alice.send(bob.userId, text).then(() => (resultMs = performance.now() - t0));
      await received;
      const recipientMs = performance.now() - t0;
      await sent;
      return { recipientMs, resultMs };
    };
    await once('first contact'); // bundles and sessions: not measured
    await sleep(300); // the first exchange's acks settle
    const toRecipient: number[] = [];
    const toResult: number[] = [];
    const body = 'x'.repeat(1024);
    for (let i = 0; i < messages; i++) {
      offsetMs += 1000;
      const { recipientMs, resultMs } = await once(body);
      toRecipient.push(recipientMs);
      toResult.push(resultMs);
    }
    return { delayMs, messages, toRecipient: percentiles(toRecipient), toResult: percentiles(toResult) };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stack.stop();
  }
}

function percentiles(values: readonly number[]): { p50Ms: number; p95Ms: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { p50Ms: round(quantile(sorted, 0.5), 1), p95Ms: round(quantile(sorted, 0.95), 1) };
}

/** Least-squares slope of y over x. */
function slope(points: readonly (readonly [number, number])[]): number {
  if (points.length < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / points.length;
  const my = points.reduce((s, [, y]) => s + y, 0) / points.length;
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  return sxy / sxx;
}
