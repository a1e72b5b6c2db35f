/**
 * `npm run bench` — local end-to-end delivery against the storage bound, measured in one process and run.
 * `npm run bench -- --quick` is the smoke run CI uses (it asserts nothing about speed).
 */
import { writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureCrypto } from './crypto';
import { measureDelivery, type DeliveryResult } from './delivery';
import { measurePutItem, type PutItemResult } from './storage';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } } });
  const quick = values.quick!;
  const seconds = quick ? 1 : 6;

  console.log(`ebb bench (${quick ? 'quick' : 'full'}): node ${process.version}, ${cpus().length} cores`);
  const storage: PutItemResult = await measurePutItem({ seconds, concurrency: 16, itemBytes: 1024 });
  console.log(`storage bound   dynalite PutItem  ${storage.perSecond.toFixed(0)}/s (1 KiB items, concurrency 16)`);

  const crypto = await measureCrypto({ seconds });
  console.table({
    'session setup (X3DH + ratchet init, both sides)': { 'ops/s': crypto.sessionSetupPerSecond.toFixed(0), 'vs primitives': crypto.ratios.setupVsPrimitives.toFixed(2) },
    'steady chain, 1 KiB encrypt + decrypt': { 'ops/s': crypto.steadyChainPerSecond.toFixed(0), 'vs primitives': crypto.ratios.steadyVsPrimitives.toFixed(2) },
    'tweetnacl scalarMult': { 'ops/s': crypto.primitives.scalarMultPerSecond.toFixed(0), 'vs primitives': '' },
    'tweetnacl secretbox 1 KiB': { 'ops/s': crypto.primitives.secretboxPerSecond1k.toFixed(0), 'vs primitives': '' },
  });

  const delivery: DeliveryResult[] = [];
  for (const clients of [2, 20]) {
    const result = await measureDelivery({ clients, seconds, messageBytes: 1024 });
    delivery.push(result);
  }

  const rows = delivery.map((d) => ({
    clients: d.clients,
    'messages/s': d.perSecond.toFixed(0),
    'p50 ms': d.p50.toFixed(1),
    'p99 ms': d.p99.toFixed(1),
    'vs PutItem/s': (d.perSecond / storage.perSecond).toFixed(3),
    delivered: d.delivered,
  }));
  console.table(rows);

  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    machine: { node: process.version, cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', platform: process.platform },
    crypto: {
      sessionSetupPerSecond: Math.round(crypto.sessionSetupPerSecond),
      steadyChainPerSecond: Math.round(crypto.steadyChainPerSecond),
      primitives: crypto.primitives,
      ratios: { setupVsPrimitives: round(crypto.ratios.setupVsPrimitives, 3), steadyVsPrimitives: round(crypto.ratios.steadyVsPrimitives, 3) },
      perOp: crypto.perOp,
    },
    storage: { putItemPerSecond: Math.round(storage.perSecond), itemBytes: 1024, concurrency: 16 },
    delivery: delivery.map((d) => ({
      clients: d.clients,
      messagesPerSecond: Math.round(d.perSecond),
      latencyMs: { p50: round(d.p50), p95: round(d.p95), p99: round(d.p99) },
      delivered: d.delivered,
      ratioToPutItem: round(d.perSecond / storage.perSecond, 3),
    })),
  };
  const out = values.out ?? join(__dirname, quick ? '.tmp/results.quick.json' : 'results.json');
  if (quick) (await import('node:fs')).mkdirSync(join(__dirname, '.tmp'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${(error as Error)?.message ?? error}`);
    process.exit(1);
  },
);
