import { randomBytes } from 'node:crypto';
import { EbbClient } from '../client-sdk/src';
import { startLocalStack } from '../local';

export interface DeliveryResult {
  readonly clients: number;
  readonly perSecond: number;
  readonly delivered: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
}

/**
 * Half the clients send to the other half, each sender one message at a time (as a person types: the next
 * after the previous is acknowledged). Latency is send() called → recipient's `message` event.
 */
export async function measureDelivery(options: { clients: number; seconds: number; messageBytes: number }): Promise<DeliveryResult> {
  // Every client is 127.0.0.1 here, and this measures delivery, not throttling.
  const unthrottled = { sendPerMinute: 100_000, connectPerMinute: 100_000, bundlePerMinute: 100_000, registerPerMinute: 100_000 };
  const stack = await startLocalStack({ port: 0, config: { rateLimits: unthrottled } });
  const clients: EbbClient[] = [];
  try {
    for (let i = 0; i < options.clients; i++) {
      const client = await EbbClient.create({ url: stack.url });
      await client.connect();
      clients.push(client);
    }
    const pairs = options.clients / 2;
    const started = new Map<string, number>();
    const latencies: number[] = [];
    for (let p = 0; p < pairs; p++) {
      clients[pairs + p]!.on('message', (m) => {
        const t0 = started.get(m.text!.slice(0, 16));
        if (t0 !== undefined) latencies.push(performance.now() - t0);
      });
    }
    // Warm-up: first contact fetches the bundle and caches the peer.
    await Promise.all(Array.from({ length: pairs }, (_, p) => clients[p]!.send(clients[pairs + p]!.userId, 'warm-up')));

    const padding = 'x'.repeat(Math.max(0, options.messageBytes - 16));
    const begin = performance.now();
    const deadline = begin + options.seconds * 1000;
    let sent = 0;
    await Promise.all(
      Array.from({ length: pairs }, async (_, p) => {
        while (performance.now() < deadline) {
          const tag = randomBytes(12).toString('base64url');
          started.set(tag, performance.now());
          await clients[p]!.send(clients[pairs + p]!.userId, tag + padding);
          sent++;
        }
      }),
    );
    const drainDeadline = performance.now() + 10_000;
    while (latencies.length < sent && performance.now() < drainDeadline) await new Promise((r) => setTimeout(r, 5));
    const elapsed = (performance.now() - begin) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
    return { clients: options.clients, perSecond: latencies.length / elapsed, delivered: latencies.length, p50: pct(0.5), p95: pct(0.95), p99: pct(0.99) };
  } finally {
    await Promise.all(clients.map((c) => c.close()));
    await stack.stop();
  }
}
