import { randomBytes } from 'node:crypto';
import { EbbClient } from '../client-sdk/src';
import { diffUsage } from './dynamo-meter';
import { quantile, sampleRss, sleep } from './measure';
import { startMeteredStack } from './stack';

export interface LoadPoint {
  /** Offered load as a fraction of the measured maximum (open loop), or 'max' (closed loop). */
  readonly load: number | 'max';
  readonly offeredPerSecond: number | null;
  readonly deliveredPerSecond: number;
  readonly delivered: number;
  readonly failed: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

export interface DeliveryResult {
  readonly clients: number;
  readonly maxPerSecond: number;
  readonly points: LoadPoint[];
  /** DynamoDB requests the handlers made per delivered message during the closed-loop run (send + ack + any fetch). */
  readonly dynamoRequestsPerMessage: number;
  readonly dynamoRequestsByOperation: Record<string, number>;
  /** Peak RSS of this process (stack + all clients) during the run, bytes. */
  readonly peakRssBytes: number;
  readonly setupSeconds: number;
}

/**
 * Half the clients send 1 KiB texts to the other half, all in this process with the local stack.
 * First a closed loop (each sender sends the next message once the previous one is acknowledged, as a
 * person types) finds the maximum delivered rate;
 * then open-loop runs offer 25 %, 50 % and 100 % of it, sends scheduled at fixed intervals whatever
 * the replies. Latency is from the send's scheduled time (so a backlog shows, rather than being hidden by
 * waiting) to the recipient's `message` event.
 */
export async function measureDelivery(options: DeliveryOptions): Promise<DeliveryResult> {
  const rss = sampleRss();
  // Sampled through setup, the runs and shutdown: the whole life of the stack and its clients.
  const result = await run(options).finally(() => rss.stop());
  return { ...result, peakRssBytes: rss.stop() };
}

interface DeliveryOptions {
  readonly clients: number;
  readonly seconds: number;
  readonly messageBytes: number;
  readonly loads: readonly number[];
}

async function run(options: DeliveryOptions): Promise<Omit<DeliveryResult, 'peakRssBytes'>> {
  const setupStarted = performance.now();
  const { stack, dynamo } = await startMeteredStack();
  const clients: EbbClient[] = [];
  try {
    // A few at a time: one source IP's connect bucket refuses a request that loses its conditional-write race.
    for (let i = 0; i < options.clients; i += CONNECT_BATCH) {
      clients.push(...(await Promise.all(Array.from({ length: Math.min(CONNECT_BATCH, options.clients - i) }, () => connectedClient(stack.url)))));
    }
    const pairs = options.clients / 2;
    const pending = new Map<string, number>();
    let received: number[] = [];
    for (let p = 0; p < pairs; p++) {
      clients[pairs + p]!.on('message', (m) => {
        const tag = m.text?.slice(0, 16) ?? '';
        const t0 = pending.get(tag);
        if (t0 === undefined) return;
        pending.delete(tag);
        received.push(performance.now() - t0);
      });
    }
    // First contact fetches the bundle and sets up the session; the runs measure steady delivery.
    await Promise.all(Array.from({ length: pairs }, (_, p) => clients[p]!.send(clients[pairs + p]!.userId, 'warm-up')));
    const setupSeconds = (performance.now() - setupStarted) / 1000;
    const padding = 'x'.repeat(Math.max(0, options.messageBytes - 16));
    const sendTagged = async (p: number, at: number): Promise<boolean> => {
      const tag = randomBytes(12).toString('base64url');
      pending.set(tag, at);
      try {
        await clients[p]!.send(clients[pairs + p]!.userId, tag + padding);
        return true;
      } catch {
        pending.delete(tag);
        return false;
      }
    };
    const settle = async () => {
      const until = performance.now() + 10_000;
      while (pending.size > 0 && performance.now() < until) await sleep(5);
      pending.clear();
    };

    // Closed loop: the maximum.
    received = [];
    const before = dynamo.snapshot();
    let failed = 0;
    const begin = performance.now();
    const deadline = begin + options.seconds * 1000;
    await Promise.all(
      Array.from({ length: pairs }, async (_, p) => {
        while (performance.now() < deadline) if (!(await sendTagged(p, performance.now()))) failed++;
      }),
    );
    await settle();
    const elapsed = (performance.now() - begin) / 1000;
    await sleep(300); // the SDK batches acks: let the last ones land before reading the meter
    const usage = diffUsage(dynamo.snapshot().total, before.total);
    const maxPoint = point('max', null, received, elapsed, failed);
    const points: LoadPoint[] = [maxPoint];

    // Open loop at fractions of the maximum.
    for (const load of options.loads) {
      const rate = maxPoint.deliveredPerSecond * load;
      received = [];
      failed = 0;
      const start = performance.now();
      const total = Math.max(1, Math.round(rate * options.seconds));
      const sends: Promise<void>[] = [];
      for (let i = 0; i < total; i++) {
        const at = start + (i * 1000) / rate;
        const wait = at - performance.now();
        if (wait > 1) await sleep(wait);
        sends.push(sendTagged(i % pairs, at).then((ok) => void (ok || failed++)));
      }
      await Promise.all(sends);
      await settle();
      const took = Math.max(options.seconds, (performance.now() - start) / 1000);
      points.push(point(load, rate, received, took, failed));
    }
    return {
      clients: options.clients,
      maxPerSecond: maxPoint.deliveredPerSecond,
      points,
      dynamoRequestsPerMessage: usage.requests / Math.max(1, maxPoint.delivered),
      dynamoRequestsByOperation: Object.fromEntries(Object.entries(usage.byOperation).map(([op, n]) => [op, n / Math.max(1, maxPoint.delivered)])),
      setupSeconds,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await stack.stop();
  }
}

const CONNECT_BATCH = 4;

async function connectedClient(url: string): Promise<EbbClient> {
  for (let attempt = 1; ; attempt++) {
    const client = await EbbClient.create({ url });
    try {
      await client.connect();
      return client;
    } catch (error) {
      await client.close().catch(() => undefined);
      if (attempt >= 5) throw error;
      await sleep(20 * attempt);
    }
  }
}

function point(load: LoadPoint['load'], offered: number | null, latencies: number[], seconds: number, failed: number): LoadPoint {
  const sorted = [...latencies].sort((a, b) => a - b);
  return {
    load,
    offeredPerSecond: offered,
    deliveredPerSecond: sorted.length / seconds,
    delivered: sorted.length,
    failed,
    p50: quantile(sorted, 0.5),
    p95: quantile(sorted, 0.95),
    p99: quantile(sorted, 0.99),
  };
}
