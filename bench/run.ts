/**
 * `npm run bench` — every figure of BENCHMARKS.md in one process and one run (< 5 min on 2 cores);
 * prints tables and writes bench/results.json. `npm run bench -- --quick` is the smoke run CI uses
 * (every section, shorter and smaller, < 60 s; it asserts nothing about speed and writes bench/.tmp/).
 * `--only devices` (section 7), `--only latency` (section 9), `--only groups` (section 11) or `--only browserBundle`
 * (the SDK's browser bundle) runs that section alone and replaces only its key of the results file.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureAttachments } from './attachments';
import { measureAuth } from './auth';
import { measureBrowserBundle } from './browser-bundle';
import { measureColdStarts, awsSdkRequireMs } from './cold-start';
import {
  ackOperations,
  addOperations,
  connectedUserMonth,
  dollarsPerMillion,
  wakeupDollarsPerMillion,
  type AckCosts,
  type MessageOperations,
} from './cost';
import { measureCrypto } from './crypto';
import { measureDelivery, type DeliveryResult } from './delivery';
import { measureDeviceCost } from './devices';
import { measureFanout, type FanoutResult } from './fanout';
import { measureFlatCost, perMessage } from './flat-cost';
import { measureGroups } from './groups';
import { measureLatency } from './latency';
import { measureRealPace, type RealPaceRun } from './real-pace';
import { capacityAt, hotPartitions, Quotas, Usage } from './capacity';
import { DEFAULT_CONFIG } from '../protocol/config-defaults';
import { median, round } from './measure';
import { Prices } from './prices';
import { measurePutItem } from './storage';
import { operationsOf, type Counted } from './window';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const Goals = {
  steadyChainRatio: 0.8,
  senderKeyRatio: 0.9,
  deliveryVsPutItem: 0.5,
  dollarsPerMillion: 5,
  bundleBytes: 50 * 1024,
  coldInitMs: 100,
  roundTripsToRecipient: 3,
  attachmentPeakMiB: 64,
} as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean', default: false }, out: { type: 'string' }, only: { type: 'string' } } });
  const quick = values.quick!;
  const plan = quick
    ? {
        crypto: 1.5,
        auth: 1,
        storage: 1,
        clients: [2, 20],
        deliverySeconds: 1,
        idle: [10, 100, 1000],
        messages: 10,
        broadcasts: 1,
        coldRuns: 1,
        fanout: [100],
        deviceMessages: 3,
        deviceReceipts: false,
        latency: { delaysMs: [0, 10], messages: 10 },
        attachmentMiB: 4,
        attachmentRounds: 3,
        groups: { sizes: [10, 100], cryptoSeconds: 1 },
        realPace: { conversations: 4, rounds: 4, deviceMessages: 2 },
      }
    : {
        crypto: 15,
        auth: 6,
        storage: 5,
        clients: [2, 20, 200],
        deliverySeconds: 4,
        idle: [10, 100, 1000],
        messages: 50,
        broadcasts: 3,
        coldRuns: 5,
        fanout: [100, 1000],
        deviceMessages: 20,
        deviceReceipts: true,
        latency: { delaysMs: [0, 10, 20], messages: 200 },
        attachmentMiB: 100,
        attachmentRounds: 5,
        groups: { sizes: [10, 1000], cryptoSeconds: 8 },
        realPace: { conversations: 8, rounds: 12, deviceMessages: 4 },
      };
  const out = values.out ?? join(__dirname, quick ? '.tmp/results.quick.json' : 'results.json');
  if (values.only !== undefined) {
    const alone: Record<string, () => Promise<unknown>> = {
      devices: () => devicesSection(plan.deviceMessages, plan.deviceReceipts),
      latency: () => latencySection(plan.latency.delaysMs, plan.latency.messages),
      groups: () => groupsSection(plan.groups.sizes, plan.groups.cryptoSeconds),
      attachments: () => attachmentsSection(plan.attachmentMiB, plan.attachmentRounds),
      browserBundle: () => measureBrowserBundle(),
    };
    alone.realPace = async () => undefined;
    const section = alone[values.only];
    if (!section) throw new Error(`--only: the sections that run alone are: ${Object.keys(alone).join(', ')} (not ${values.only})`);
    // Only this section: its figures replace its key of the results file, the rest is kept.
    const previous = existsSync(out) ? (JSON.parse(readFileSync(out, 'utf8')) as Record<string, unknown>) : {};
    let merged: Record<string, unknown>;
    if (values.only === 'realPace') {
      // cost.realPace and the capacity model built on it; the fan-out figures it reads are the file's own.
      const realPace = await realPaceSection(plan.realPace);
      const capacity = capacitySection(realPace, (previous.fanout as FanoutResult[] | undefined) ?? []);
      merged = { ...previous, cost: { ...(previous.cost as object), realPace }, capacity };
    } else {
      merged = { ...previous, [values.only]: await section() };
    }
    mkdirSync(join(out, '..'), { recursive: true });
    writeFileSync(out, `${JSON.stringify(merged, null, 2)}\n`);
    console.log(`\nwrote the ${values.only} section of ${out}`);
    return;
  }
  const t0 = performance.now();
  const lap = (name: string) => console.log(`  (${name} done at ${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  const machine = {
    node: process.version,
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? 'unknown',
    platform: process.platform,
    memoryBytes: totalmem(),
  };
  console.log(`ebb bench (${quick ? 'quick' : 'full'}): node ${machine.node}, ${machine.cores} cores, ${machine.cpu}`);

  // 1. SDK crypto
  const crypto = measureCrypto({ seconds: plan.crypto });
  console.log('\n1. SDK crypto (each beside the same tweetnacl calls replayed raw, interleaved in this process)');
  console.table({
    'session setup (X3DH + ratchet init, both sides)': cryptoRow(crypto.sessionSetup),
    'steady chain, 1 KiB encrypt + decrypt': { ...cryptoRow(crypto.steadyChain), goal: `≥ ${Goals.steadyChainRatio}` },
    '1 KiB message with a DH-ratchet step': cryptoRow(crypto.ratchetStepMessage),
    'sender-key group message, 1 KiB encrypt + sign + verify + decrypt': { ...cryptoRow(crypto.senderKeyMessage), goal: `≥ ${Goals.senderKeyRatio}` },
  });
  console.log(
    `   DH-ratchet step adds ${crypto.dhRatchetStepMicros.toFixed(0)} µs (its primitives: ${crypto.dhRatchetStepPrimitivesMicros.toFixed(0)} µs); raw scalarMult ${crypto.raw.scalarMultPerSecond.toFixed(0)}/s, secretbox 1 KiB ${crypto.raw.secretbox1kPerSecond.toFixed(0)}/s, SHA-512 1 KiB ${crypto.raw.hash1kPerSecond.toFixed(0)}/s (noble; tweetnacl's ${crypto.raw.naclHash1kPerSecond.toFixed(0)}/s)`,
  );
  lap('crypto');

  // 2. Connect authentication
  const auth = await measureAuth({ seconds: plan.auth });
  console.log('\n2. Connect authentication');
  console.table({
    'verifyEd25519 (node:crypto)': { 'ops/s': auth.nodeVerifyPerSecond.toFixed(0), 'vs nacl verify': auth.nodeVsNacl.toFixed(1) },
    'authorizeConnect minus DynamoDB': {
      'ops/s': auth.authorizeConnectPerSecond.toFixed(0),
      'vs nacl verify': auth.authorizeVsNaclVerify.toFixed(1),
    },
    'nacl.sign.detached.verify': { 'ops/s': auth.naclVerifyPerSecond.toFixed(0), 'vs nacl verify': '1' },
  });
  lap('auth');

  // 3. Local end-to-end delivery
  const storage = await measurePutItem({ seconds: plan.storage, concurrency: 16, itemBytes: 1024 });
  const delivery: DeliveryResult[] = [];
  for (const clients of plan.clients) {
    delivery.push(await measureDelivery({ clients, seconds: plan.deliverySeconds, messageBytes: 1024, loads: [0.25, 0.5, 1] }));
  }
  console.log(`\n3. Local end-to-end delivery (storage bound: dynalite PutItem ${storage.perSecond.toFixed(0)}/s, 1 KiB items, concurrency 16)`);
  console.table(
    delivery.flatMap((d) =>
      d.points.map((p) => ({
        clients: d.clients,
        load: p.load === 'max' ? 'max (closed loop)' : `${p.load * 100} % open loop`,
        'msgs/s': p.deliveredPerSecond.toFixed(1),
        'p50 ms': p.p50.toFixed(1),
        'p95 ms': p.p95.toFixed(1),
        'p99 ms': p.p99.toFixed(1),
      })),
    ),
  );
  console.table(
    Object.fromEntries(
      delivery.map((d) => [
        `${d.clients} clients`,
        {
          'max msgs/s': d.maxPerSecond.toFixed(1),
          'vs PutItem/s (goal ≥ 0.5)': (d.maxPerSecond / storage.perSecond).toFixed(3),
          'DynamoDB req/msg': d.dynamoRequestsPerMessage.toFixed(2),
          'vs PutItem/s ÷ req/msg': ((d.maxPerSecond * d.dynamoRequestsPerMessage) / storage.perSecond).toFixed(3),
          'peak RSS MB': (d.peakRssBytes / 2 ** 20).toFixed(0),
        },
      ]),
    ),
  );
  lap('delivery');

  // 4. Flat cost as users grow, beside a scan-per-message broadcast
  const flat = await measureFlatCost({ idleLevels: plan.idle, messages: plan.messages, broadcasts: plan.broadcasts });
  console.log('\n4. Per delivered message, with N idle connected users (ebb) and the scan-per-message broadcast baseline');
  console.table(
    flat.ebb.flatMap((e, i) => [
      { idle: e.idle, design: 'ebb', ...perMessageRow(e.perMessage) },
      { idle: e.idle, design: 'scan + broadcast', ...perMessageRow(flat.scanBroadcast[i]!.perMessage) },
    ]),
  );
  lap('flat cost');

  // 5. Cost model
  const memoryMb = configuredMemoryMb();
  const online = operationsOf(flat.online, memoryMb);
  const offline = operationsOf(flat.offline, memoryMb);
  const ack = ackCostsOf(flat.online, memoryMb);
  const sendShare = withoutAck(flat.online, memoryMb);
  const ackBatching = Object.fromEntries(
    [1, 10, 100].map((k) => [k, dollarsPerMillion(addOperations(sendShare, ackOperations(ack, k, memoryMb)), Prices)]),
  );
  const costOnline = dollarsPerMillion(online, Prices);
  const costOffline = dollarsPerMillion(offline, Prices);
  console.log(
    `\n5. Dollars per million 1 KiB messages (us-east-1 list prices, Lambda arm64 ${memoryMb} MB, handler durations measured locally; goal ≤ $${Goals.dollarsPerMillion})`,
  );
  console.table({
    'online → online (acks as the SDK sent them)': costRow(costOnline),
    'to an offline user (queued, fetched, acked)': costRow(costOffline),
    'online, ack per message': costRow(ackBatching[1]!),
    'online, acks batched by 10': costRow(ackBatching[10]!),
    'online, acks batched by 100': costRow(ackBatching[100]!),
  });
  console.log(`   plus connection minutes: $${connectedUserMonth(Prices).toFixed(4)} per user connected all month`);
  const wakeups = wakeupCosts(memoryMb);
  console.log(
    `   push wake-ups add, per million messages to an offline device with a subscription (sender ${WAKE_SENDER_MS} ms assumed: a push service round trip, not measured locally):`,
  );
  console.table(
    Object.fromEntries(wakeups.map((w) => [w.label, { web: `$${w.web.total.toFixed(2)}`, 'APNs/FCM via SNS': `$${w.sns.total.toFixed(2)}` }])),
  );
  lap('cost model');

  // 6. Cold start
  const cold = await measureColdStarts({ runs: plan.coldRuns, outDir: join(__dirname, '.tmp', 'bundles') });
  const sdkMs = await awsSdkRequireMs(plan.coldRuns);
  console.log(
    `\n6. Handler bundles and cold init (goal ≤ ${Goals.bundleBytes / 1024} KB, ≤ ${Goals.coldInitMs} ms; requiring the AWS SDK clients alone: ${sdkMs.toFixed(0)} ms)`,
  );
  console.table(
    Object.fromEntries(
      cold.map((h) => [
        h.handler,
        {
          KB: (h.bundleBytes / 1024).toFixed(1),
          'init ms': h.initMs.toFixed(0),
          largest: h.largest.map((l) => `${l.input} ${(l.bytes / 1024).toFixed(1)}K`).join(', '),
        },
      ]),
    ),
  );
  lap('cold start');

  const devices = await devicesSection(plan.deviceMessages, plan.deviceReceipts);
  lap('devices');

  const browser = await measureBrowserBundle();
  console.log(
    `\n   SDK browser bundle: ${(browser.minifiedBytes / 1024).toFixed(1)} KB minified, ${(browser.gzippedBytes / 1024).toFixed(1)} KB gzipped`,
  );

  // 8. Fan-out: one group message to many single-device recipients
  const fanout: FanoutResult[] = [];
  for (const recipients of plan.fanout) fanout.push(await measureFanout({ recipients, ciphertextBytes: 1024 }));
  console.log('\n8. One 1 KiB group message by `fanout` to N offline single-device recipients (each with a delivery token)');
  console.table(
    Object.fromEntries(
      fanout.map((f) => [
        `${f.recipients} recipients`,
        {
          frames: f.frames,
          'KB uploaded': (f.bytesUploaded / 1024).toFixed(1),
          'KB as pairwise sends': (f.pairwiseCiphertextBytes / 1024).toFixed(1),
          'DynamoDB req/copy': f.dynamoRequestsPerCopy.toFixed(2),
          'ms to last queue write': f.millisToLastWrite.toFixed(0),
        },
      ]),
    ),
  );
  lap('fan-out');

  const latency = await latencySection(plan.latency.delaysMs, plan.latency.messages);
  lap('latency');
  const realPace = await realPaceSection(plan.realPace);
  const capacity = capacitySection(realPace, fanout);
  lap('real pace and capacity');
  const attachments = await attachmentsSection(plan.attachmentMiB, plan.attachmentRounds);
  lap('attachments');

  const groups = await groupsSection(plan.groups.sizes, plan.groups.cryptoSeconds);
  lap('groups');

  const results = {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    seconds: round((performance.now() - t0) / 1000),
    machine,
    goals: Goals,
    crypto: {
      sessionSetup: cryptoJson(crypto.sessionSetup),
      steadyChain: cryptoJson(crypto.steadyChain),
      ratchetStepMessage: cryptoJson(crypto.ratchetStepMessage),
      senderKeyMessage: cryptoJson(crypto.senderKeyMessage),
      dhRatchetStepMicros: round(crypto.dhRatchetStepMicros),
      dhRatchetStepPrimitivesMicros: round(crypto.dhRatchetStepPrimitivesMicros),
      raw: mapValues(crypto.raw, (v) => Math.round(v)),
    },
    auth: { ...mapValues(auth, (v) => round(v, 2)) },
    storage: { putItemPerSecond: Math.round(storage.perSecond), itemBytes: 1024, concurrency: 16 },
    delivery: delivery.map((d) => ({
      clients: d.clients,
      maxMessagesPerSecond: round(d.maxPerSecond),
      ratioToPutItem: round(d.maxPerSecond / storage.perSecond, 3),
      dynamoRequestsPerMessage: round(d.dynamoRequestsPerMessage, 2),
      dynamoRequestsByOperation: mapValues(d.dynamoRequestsByOperation, (v) => round(v, 2)),
      opsNormalisedBound: round(storage.perSecond / d.dynamoRequestsPerMessage),
      ratioToOpsNormalisedBound: round((d.maxPerSecond * d.dynamoRequestsPerMessage) / storage.perSecond, 3),
      peakRssMB: round(d.peakRssBytes / 2 ** 20),
      points: d.points.map((p) => ({
        ...p,
        deliveredPerSecond: round(p.deliveredPerSecond),
        offeredPerSecond: p.offeredPerSecond === null ? null : round(p.offeredPerSecond),
        p50: round(p.p50),
        p95: round(p.p95),
        p99: round(p.p99),
      })),
    })),
    flatCost: {
      ebb: flat.ebb.map((e) => ({ idle: e.idle, perMessage: mapValues(e.perMessage, (v) => round(v, 2)) })),
      scanBroadcast: flat.scanBroadcast.map((e) => ({
        idle: e.idle,
        connections: e.connections,
        perMessage: mapValues(e.perMessage, (v) => round(v, 2)),
      })),
      byRoute: { online: routeTable(flat.online), offline: routeTable(flat.offline) },
    },
    cost: {
      prices: Prices,
      memoryMb,
      online: { operations: online, dollarsPerMillion: mapValues(costOnline, (v) => round(v, 3)) },
      offline: { operations: offline, dollarsPerMillion: mapValues(costOffline, (v) => round(v, 3)) },
      wakeups: wakeups.map((w) => ({
        label: w.label,
        senderDurationMs: WAKE_SENDER_MS,
        web: mapValues(w.web, (v) => round(v, 3)),
        sns: mapValues(w.sns, (v) => round(v, 3)),
      })),
      ackCosts: ack,
      ackBatching: mapValues(ackBatching, (c) => mapValues(c, (v) => round(v, 3))),
      connectedUserMonthDollars: round(connectedUserMonth(Prices), 4),
      realPace,
    },
    capacity,
    coldStart: { awsSdkRequireMs: round(sdkMs), handlers: cold.map((h) => ({ ...h, initMs: round(h.initMs) })) },
    browserBundle: browser,
    fanout: fanout.map((f) => ({
      ...f,
      dynamoRequestsPerCopy: round(f.dynamoRequestsPerCopy, 2),
      millisToLastWrite: round(f.millisToLastWrite),
    })),
    devices,
    latency,
    attachments,
    groups,
  };
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`\nwrote ${out} in ${results.seconds} s`);
}

/**
 * 10. Attachments: one file through send() and back through downloadTo() and download(), in rounds, each path
 * between two raw secretbox passes over the same bytes, the stack in a child process (peaks are the bench
 * process's, the SDK's, alone); ratios to 2 decimals, the rest to 1.
 */
async function attachmentsSection(megabytes: number, rounds: number) {
  const a = await measureAttachments({ megabytes, rounds });
  console.log(
    `\n10. Attachments: a ${a.megabytes} MiB file, SDK to the local bucket (its own process) and back, ${a.rounds} rounds, each path between two raw nacl.secretbox passes (64 KiB chunks) over the same bytes`,
  );
  const ratio = (median: number, min: number, max: number) => `${median.toFixed(2)} (${min.toFixed(2)}–${max.toFixed(2)})`;
  console.table({
    'send (encrypt + PUT)': {
      'median MiB/s': a.uploadMiBps.toFixed(1),
      'ratio to raw: median (range)': ratio(a.uploadRatio, a.uploadRatioMin, a.uploadRatioMax),
      'peak MiB above baseline (SDK process)': a.uploadPeakAboveBaselineMiB.toFixed(1),
    },
    'downloadTo (GET + open, kept nowhere)': {
      'median MiB/s': a.downloadToMiBps.toFixed(1),
      'ratio to raw: median (range)': ratio(a.downloadToRatio, a.downloadToRatioMin, a.downloadToRatioMax),
      'peak MiB above baseline (SDK process)': a.downloadToPeakAboveBaselineMiB.toFixed(1),
    },
    'download (the whole file returned)': {
      'median MiB/s': a.downloadMiBps.toFixed(1),
      'ratio to raw: median (range)': ratio(a.downloadRatio, a.downloadRatioMin, a.downloadRatioMax),
      'peak MiB above baseline (SDK process)': a.downloadPeakAboveBaselineMiB.toFixed(1),
    },
    'raw nacl.secretbox': {
      'median MiB/s': `${a.rawSecretboxMiBps.toFixed(1)} (${a.rawSecretboxMinMiBps.toFixed(1)}–${a.rawSecretboxMaxMiBps.toFixed(1)})`,
      'ratio to raw: median (range)': '',
      'peak MiB above baseline (SDK process)': '',
    },
  });
  console.log(
    `   opener alone in memory: ${a.openerNodeMiBps.toFixed(1)} MiB/s with node:crypto's SHA-256, ${a.openerNobleMiBps.toFixed(1)} with @noble/hashes (browsers)`,
  );
  console.log(
    `   goals: each ratio ≥ 0.8; peak under ${Goals.attachmentPeakMiB} MiB above baseline for 100 MiB on the streaming paths (send, downloadTo)`,
  );
  return Object.fromEntries(Object.entries(a).map(([k, v]: [string, number]) => [k, round(v, k.includes('Ratio') ? 2 : 1)])) as unknown as typeof a;
}

/** 9. Latency on the critical path: sequential DynamoDB round trips from the slope over injected delay. */
async function latencySection(delaysMs: readonly number[], messages: number) {
  const latency = await measureLatency(delaysMs, messages);
  console.log(
    `\n9. Sequential 1:1 messages with a delay before every DynamoDB request (shipped rate limits, one message a second of stack time; ${messages} a run)`,
  );
  console.table(
    Object.fromEntries(
      latency.runs.map((r) => [
        `${r.delayMs} ms per request`,
        {
          'to recipient p50 ms': r.toRecipient.p50Ms,
          'p95 ms': r.toRecipient.p95Ms,
          'to result p50 ms': r.toResult.p50Ms,
          'result p95 ms': r.toResult.p95Ms,
        },
      ]),
    ),
  );
  console.log(
    `   slope: ${latency.roundTripsToRecipient} sequential round trips to the recipient, ${latency.roundTripsToResult} to the sender's result (goal ≤ 3)`,
  );
  return latency;
}

/**
 * 11. Groups through the SDK: one 1 KiB text to a group of each size (members with 1, 2, 3 devices in turn), after
 * the group was set up; and the sender-key encryption per message beside its primitives.
 */
async function groupsSection(sizes: readonly number[], cryptoSeconds: number) {
  const started = performance.now();
  const result = await measureGroups({ sizes, cryptoSeconds, memoryMb: configuredMemoryMb() });
  console.log(
    `\n11. One 1 KiB text to a group through the SDK (members with 1, 2, 3 devices in turn, offline but for ${result.sizes[0]!.watcherDevices} watching devices; set-up not measured)`,
  );
  console.table(
    Object.fromEntries(
      result.sizes.map((g) => [
        `${g.members} members`,
        {
          copies: g.copies,
          frames: Object.entries(g.framesByAction)
            .map(([action, n]) => `${n} ${action}`)
            .join(', '),
          'KB uploaded': (g.bytesUploaded / 1024).toFixed(1),
          'KB as pairwise': (g.pairwiseCiphertextBytes / 1024).toFixed(1),
          'DynamoDB req/copy': g.dynamoRequestsPerCopy.toFixed(2),
          '$ / million copies': g.dollarsPerMillionCopies.total.toFixed(2),
          'ms to last queue write': g.millisToLastQueueWrite.toFixed(0),
          'ms to last event': g.millisToLastWatcherEvent.toFixed(0),
          'set-up s': (g.setupSeconds.members + g.setupSeconds.create + g.setupSeconds.firstMessage).toFixed(0),
        },
      ]),
    ),
  );
  const c = result.crypto;
  console.log(
    `   sender-key encryption of one 1 KiB text: ${c.encrypt.perSecond.toFixed(0)}/s, its primitives ${c.encrypt.primitivesPerSecond.toFixed(0)}/s, ratio ${c.encrypt.ratio.toFixed(3)} (goal ≥ ${Goals.senderKeyRatio}); as sendToGroup stores it: ${Object.entries(
      c.asSent,
    )
      .map(([size, f]) => `${size} members ${f.perSecond.toFixed(0)}/s (${f.ratio.toFixed(3)})`)
      .join(', ')}`,
  );
  console.log(`  (groups done in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  const bySize = <T>(f: (g: (typeof result.sizes)[number]) => T) => Object.fromEntries(result.sizes.map((g) => [String(g.members), f(g)]));
  return {
    date: new Date().toISOString(),
    uploadBytesPerMessage: bySize((g) => g.bytesUploaded),
    framesPerMessage: bySize((g) => g.framesByAction),
    copiesPerMessage: bySize((g) => g.copies),
    ciphertextBytes: bySize((g) => g.ciphertextBytes),
    pairwiseCiphertextBytes: bySize((g) => g.pairwiseCiphertextBytes),
    dynamoRequestsPerCopy: bySize((g) => round(g.dynamoRequestsPerCopy, 2)),
    dynamoRequestsByOperation: bySize((g) => g.dynamoRequestsByOperation),
    dynamoRequestsByRoute: bySize((g) => g.dynamoRequestsByRoute),
    dollarsPerMillionCopies: bySize((g) => mapValues(g.dollarsPerMillionCopies, (v) => round(v, 3))),
    millisToLastQueueWrite: bySize((g) => round(g.millisToLastQueueWrite)),
    millisToResult: bySize((g) => round(g.millisToResult)),
    millisToLastWatcherEvent: bySize((g) => round(g.millisToLastWatcherEvent)),
    watcherDevices: result.sizes[0]!.watcherDevices,
    setupSeconds: bySize((g) => mapValues(g.setupSeconds, (v) => round(v))),
    senderKeyEncrypt: cryptoJson(c.encrypt),
    senderKeyEncryptAsSent: mapValues(c.asSent, (f) => ({ perSecond: round(f.perSecond), ratio: round(f.ratio, 3) })),
  };
}

/** The injected DynamoDB latency of the real-pace section: a few ms per request from Lambda, as on AWS. */
const REAL_PACE_DELAY_MS = 10;

/**
 * The floor of one delivered message in this architecture: the send frame in and the push out (one API
 * Gateway message each), one invocation, the queue item's put and its delete (the item's write units each).
 * The invocation's duration is assumed, not measured: one sequential DynamoDB round trip (the injected delay)
 * plus 1 ms for the push, rounded up to the millisecond as Lambda bills.
 */
function floorOperations(itemWriteUnits: number, memoryMb: number): MessageOperations {
  return {
    apiGatewayUnits: 2,
    invocations: [{ route: 'send (floor)', perMessage: 1, durationMs: REAL_PACE_DELAY_MS + 1 }],
    memoryMb,
    readUnits: 0,
    writeUnits: 2 * itemWriteUnits,
  };
}

/** 12. Cost at human pace with DynamoDB latency, beside the floor; per device; the quiet-ack lever before/after. */
async function realPaceSection(plan: { conversations: number; rounds: number; deviceMessages: number }) {
  const started = performance.now();
  const memoryMb = configuredMemoryMb();
  const common = { conversations: plan.conversations, rounds: plan.rounds, dynamoDelayMs: REAL_PACE_DELAY_MS };
  const shipped = await measureRealPace({ ...common, textBytes: [1024, 140] });
  // The SDK before riding receipts (ARCH §8.6): each receipt alone, 300 ms after its message, carrying its ack.
  const [aloneReceipts] = await measureRealPace({ ...common, textBytes: [1024], receiptWaitMs: 300, ridingReceipts: false });
  // The SDK before each lever: acks in frames of their own (not riding on sends), then also every ack answered.
  const [unridden] = await measureRealPace({ ...common, textBytes: [1024], ridingAcks: false });
  const [answered] = await measureRealPace({ ...common, textBytes: [1024], ridingAcks: false, quietAcks: false });
  const price = (r: RealPaceRun) => {
    const ops = operationsOf({ ...r.counted, messages: r.messages }, memoryMb);
    const cost = dollarsPerMillion(ops, Prices);
    const floor = dollarsPerMillion(floorOperations(Math.round(r.itemWriteUnits), memoryMb), Prices);
    return { run: r, ops, cost, floor, ratio: cost.total / floor.total };
  };
  const [kib, text140] = shipped.map(price) as [ReturnType<typeof price>, ReturnType<typeof price>];
  // The lever changes counts, not durations: the run without it is priced at the shipped run's durations
  // (measured durations on a shared machine drift between runs by more than the lever moves them).
  const durations = new Map(kib.ops.invocations.map((i) => [i.route, i.durationMs]));
  const atShippedDurations = (p: ReturnType<typeof price>) =>
    dollarsPerMillion(
      { ...p.ops, invocations: p.ops.invocations.map((i) => ({ ...i, durationMs: durations.get(i.route) ?? i.durationMs })) },
      Prices,
    );
  const receiptsAlone = price(aloneReceipts!);
  const receiptsAloneCost = atShippedDurations(receiptsAlone);
  const before = price(answered!);
  const beforeCost = atShippedDurations(before);
  const noRide = price(unridden!);
  const noRideCost = atShippedDurations(noRide);
  const devices = await measureDeviceCost({
    recipientDevices: [1, 2, 6],
    messages: plan.deviceMessages,
    withReceipts: true,
    dynamoDelayMs: REAL_PACE_DELAY_MS,
    paceMs: 1000,
  });
  const perDevice = devices
    .filter((c) => c.receipts && c.senderDevices === 1)
    .map((c) => {
      const cost = dollarsPerMillion(operationsOf({ ...c.counted, messages: c.messages }, memoryMb), Prices);
      return {
        recipientDevices: c.recipientDevices,
        dollarsPerMillion: round(cost.total, 2),
        perMessage: mapValues(perMessage(c.counted, c.messages), (v) => round(v, 2)),
      };
    });
  console.log(
    `\n12. Real pace: ${plan.conversations} conversations × ${plan.rounds} texts, one a second each (real time), ${REAL_PACE_DELAY_MS} ms before every DynamoDB request, receipts and acks as the SDK ships them`,
  );
  const row = (label: string, p: ReturnType<typeof price>) =>
    [label, { ...costRow(p.cost), floor: p.floor.total.toFixed(2), ratio: p.ratio.toFixed(2) }] as const;
  console.table(
    Object.fromEntries([
      row('1 KiB texts (quiet acks)', kib),
      row('140-byte texts (quiet acks)', text140),
      row('1 KiB texts, each receipt alone after 300 ms (before)', {
        ...receiptsAlone,
        cost: receiptsAloneCost,
        ratio: receiptsAloneCost.total / receiptsAlone.floor.total,
      }),
      row('1 KiB texts, acks not riding on sends (before)', { ...noRide, cost: noRideCost, ratio: noRideCost.total / noRide.floor.total }),
      row('1 KiB texts, every ack answered, none riding (before)', { ...before, cost: beforeCost, ratio: beforeCost.total / before.floor.total }),
    ]),
  );
  console.log(
    `   floor: 2 API Gateway messages, 1 invocation of ${REAL_PACE_DELAY_MS + 1} ms (assumed), put + delete at ${Math.round(kib.run.itemWriteUnits)} WRU (1 KiB) / ${Math.round(text140.run.itemWriteUnits)} WRU (140 B)`,
  );
  console.table(
    Object.fromEntries(
      perDevice.map((d) => [
        `recipient with ${d.recipientDevices} device(s)`,
        { '$ / million': d.dollarsPerMillion.toFixed(2), ...perMessageRow(d.perMessage) },
      ]),
    ),
  );
  console.log(`  (real pace done in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  const figures = (p: ReturnType<typeof price>) => ({
    dollarsPerMillion: round(p.cost.total, 3),
    floorDollarsPerMillion: round(p.floor.total, 3),
    ratioToFloor: round(p.ratio, 2),
    breakdown: mapValues(p.cost, (v) => round(v, 3)),
    floorBreakdown: mapValues(p.floor, (v) => round(v, 3)),
    itemWriteUnits: round(p.run.itemWriteUnits, 2),
    missing: p.run.missing,
    perMessage: mapValues(perMessage(p.run.counted, p.run.messages), (v) => round(v, 2)),
    byTable: mapValues(p.run.byTable, (u) => mapValues(u, (v) => round(v, 3))),
    byRoute: routeTable({ ...p.run.counted, messages: p.run.messages }),
  });
  const k = figures(kib);
  const t = figures(text140);
  return {
    date: new Date().toISOString(),
    dynamoDelayMs: REAL_PACE_DELAY_MS,
    conversations: plan.conversations,
    messagesPerConversation: plan.rounds,
    memoryMb,
    floorInvocationMsAssumed: REAL_PACE_DELAY_MS + 1,
    dollarsPerMillion: k.dollarsPerMillion,
    floorDollarsPerMillion: k.floorDollarsPerMillion,
    ratioToFloor: k.ratioToFloor,
    text140: { dollarsPerMillion: t.dollarsPerMillion, floorDollarsPerMillion: t.floorDollarsPerMillion, ratioToFloor: t.ratioToFloor },
    kib: k,
    bytes140: t,
    perDevice,
    levers: {
      ridingReceipts: {
        beforeDollarsPerMillion: round(receiptsAloneCost.total, 3),
        afterDollarsPerMillion: k.dollarsPerMillion,
        beforePerMessage: mapValues(perMessage(receiptsAlone.run.counted, receiptsAlone.run.messages), (v) => round(v, 2)),
        beforeRatioToFloor: round(receiptsAloneCost.total / receiptsAlone.floor.total, 2),
        beforeAtItsOwnDurationsDollarsPerMillion: round(receiptsAlone.cost.total, 3),
        beforeMissing: receiptsAlone.run.missing,
      },
      quietAcks: {
        beforeDollarsPerMillion: round(beforeCost.total, 3),
        afterDollarsPerMillion: round(noRideCost.total, 3),
        beforeApiGatewayUnitsPerMessage: round(before.ops.apiGatewayUnits, 2),
        afterApiGatewayUnitsPerMessage: round(noRide.ops.apiGatewayUnits, 2),
        beforeRatioToFloor: round(beforeCost.total / before.floor.total, 2),
        /** The run without the lever at its own measured durations. */
        beforeAtItsOwnDurationsDollarsPerMillion: round(before.cost.total, 3),
      },
      ridingAcks: {
        beforeDollarsPerMillion: round(noRideCost.total, 3),
        afterDollarsPerMillion: k.dollarsPerMillion,
        beforeApiGatewayUnitsPerMessage: round(noRide.ops.apiGatewayUnits, 2),
        afterApiGatewayUnitsPerMessage: round(kib.ops.apiGatewayUnits, 2),
        beforePerMessage: mapValues(perMessage(noRide.run.counted, noRide.run.messages), (v) => round(v, 2)),
        beforeRatioToFloor: round(noRideCost.total / noRide.floor.total, 2),
        beforeAtItsOwnDurationsDollarsPerMillion: round(noRide.cost.total, 3),
      },
    },
  };
}

type RealPaceFigures = Awaited<ReturnType<typeof realPaceSection>>;

/** 13. Capacity on paper for 1 M and 10 M daily active users, from the real-pace counts (bench/capacity.ts). */
function capacitySection(realPace: RealPaceFigures, fanout: readonly FanoutResult[]) {
  const k = realPace.kib;
  const measured = {
    apiGatewayUnits: k.perMessage.apiGatewayUnits,
    inboundFrames: k.perMessage.inboundFrames,
    outboundFrames: k.perMessage.outboundFrames,
    invocations: Object.entries(k.byRoute).map(([route, r]) => ({ route, perMessage: r.invocationsPerMessage, durationMs: r.medianMs })),
    byTable: k.byTable,
    itemWriteUnits: Math.round(k.itemWriteUnits),
    dollarsPerMillion: k.dollarsPerMillion,
  };
  const largest = [...fanout].sort((a, b) => b.recipients - a.recipients)[0];
  const limits = { sendPerMinute: DEFAULT_CONFIG.rateLimits.sendPerMinute, sendCopiesPerMinute: DEFAULT_CONFIG.rateLimits.sendCopiesPerMinute };
  const levels = [1e6, 1e7].map((users) => capacityAt(users, measured, Prices));
  const hot = hotPartitions(measured, limits, largest);
  console.log(`\n13. Capacity on paper (${Usage.messagesPerDay} messages a day per user, peak hour ${Usage.peakToMean}× the mean)`);
  console.table(
    Object.fromEntries(
      levels.map((l) => [
        `${l.dailyActiveUsers / 1e6} M DAU`,
        {
          'peak msgs/s': l.messagesPerSecond.peak,
          'Lambda concurrency': `${l.lambdaConcurrency.peak} / ${l.lambdaConcurrency.quota}`,
          'API GW req/s': `${l.apiGateway.requestsPerSecond} / ${l.apiGateway.requestQuota}`,
          'new conn/s': `${l.apiGateway.newConnectionsPerSecond} / ${l.apiGateway.newConnectionQuota}`,
          'queue WRU/s': l.dynamodb.queue?.writeUnitsPerSecond ?? 0,
          '$ / month': l.monthlyDollars.total,
        },
      ]),
    ),
  );
  if (!largest) console.log('   (no fan-out figures in this results file: the group-message row is empty)');
  console.log(
    `   hottest partitions: one device's queue takes ${hot.queuePartitionMessagesPerSecond} texts/s before 1 000 WRU/s; a chatty sender at the send limit uses ${(hot.chattySender.shareOfPartition * 100).toFixed(2)} % of one; a ${hot.groupMessage.recipients}-member group message spreads ${hot.groupMessage.writesPerCopy} writes per copy over as many partitions`,
  );
  return { usage: Usage, quotas: Quotas, measured, levels, hotPartitions: hot };
}

/** 7. Cost per message to a user with 1, 2 and 6 devices, from a sender with 1 and with 2 devices. */
async function devicesSection(messages: number, withReceipts: boolean) {
  const started = performance.now();
  const cases = await measureDeviceCost({ recipientDevices: [1, 2, 6], messages, withReceipts });
  const memoryMb = configuredMemoryMb();
  const priced = cases.map((c) => ({
    ...c,
    perMessage: perMessage(c.counted, c.messages),
    cost: dollarsPerMillion(operationsOf({ ...c.counted, messages: c.messages }, memoryMb), Prices),
  }));
  console.log(
    `\n7. Per message to a user with 1, 2 and 6 devices (SDK clients, 1 KiB texts one at a time, every copy delivered and acked; ${messages} messages a case)`,
  );
  console.table(
    priced.map((c) => ({
      sender: `${c.senderDevices} device${c.senderDevices > 1 ? 's' : ''}`,
      recipient: `${c.recipientDevices} device${c.recipientDevices > 1 ? 's' : ''}`,
      receipts: c.receipts ? 'delivered' : 'off',
      copies: c.copiesPerMessage,
      ...perMessageRow(c.perMessage),
      '$ / million': c.cost.total.toFixed(2),
    })),
  );
  console.log(`  (devices done in ${((performance.now() - started) / 1000).toFixed(1)} s)`);
  return {
    date: new Date().toISOString(),
    messagesPerCase: messages,
    memoryMb,
    cases: priced.map((c) => ({
      senderDevices: c.senderDevices,
      recipientDevices: c.recipientDevices,
      receipts: c.receipts,
      copiesPerMessage: c.copiesPerMessage,
      perMessage: mapValues(c.perMessage, (v) => round(v, 2)),
      dollarsPerMillion: mapValues(c.cost, (v) => round(v, 3)),
      byRoute: routeTable({ ...c.counted, messages: c.messages }),
    })),
  };
}

type Figure = ReturnType<typeof measureCrypto>['steadyChain'];
const cryptoRow = (f: Figure) => ({
  'ops/s': f.perSecond.toFixed(0),
  'primitives ops/s': f.primitivesPerSecond.toFixed(0),
  ratio: f.ratio.toFixed(3),
});
const cryptoJson = (f: Figure) => ({
  perSecond: round(f.perSecond),
  primitivesPerSecond: round(f.primitivesPerSecond),
  ratio: round(f.ratio, 3),
  calls: f.calls,
});

function perMessageRow(p: { dynamoRequests: number; readUnits: number; writeUnits: number; apiGatewayUnits: number; lambdaInvocations: number }) {
  return {
    'DynamoDB req': p.dynamoRequests.toFixed(2),
    RRU: p.readUnits.toFixed(2),
    WRU: p.writeUnits.toFixed(2),
    'API GW msgs (32 KB units)': p.apiGatewayUnits.toFixed(2),
    'Lambda inv': p.lambdaInvocations.toFixed(2),
  };
}

const costRow = (c: ReturnType<typeof dollarsPerMillion>) => ({
  'API GW': c.apiGateway.toFixed(3),
  'Lambda req': c.lambdaRequests.toFixed(3),
  'Lambda GB-s': c.lambdaCompute.toFixed(3),
  RRU: c.dynamoReads.toFixed(3),
  WRU: c.dynamoWrites.toFixed(3),
  '$ / million': c.total.toFixed(2),
});

/** Per ack request and per acked message, from the online window's ack invocations. */
function ackCostsOf(c: Counted & { messages: number }, memoryMb: number): AckCosts {
  void memoryMb;
  const requests = c.invocations.get('ack') ?? 0;
  const usage = c.dynamoByRoute.get('ack');
  const per = (op: string) => usage?.unitsByOperation[op] ?? 0;
  return {
    perRequest: {
      apiGatewayUnits: 2, // the ack frame and its result, each well under 32 KB
      durationMs: median(c.durations.get('ack') ?? [0]),
      readUnits: requests ? per('GetItem') / requests : 0,
      writeUnits: requests ? per('UpdateItem') / requests : 0,
    },
    perMessage: { readUnits: 0, writeUnits: per('DeleteItem') / c.messages },
  };
}

/** The online window's operations without the ack route's. */
function withoutAck(c: Counted & { messages: number }, memoryMb: number): MessageOperations {
  const all = operationsOf(c, memoryMb);
  const acks = c.invocations.get('ack') ?? 0;
  const usage = c.dynamoByRoute.get('ack');
  return {
    apiGatewayUnits: all.apiGatewayUnits - (2 * acks) / c.messages,
    invocations: all.invocations.filter((i) => i.route !== 'ack'),
    memoryMb,
    readUnits: all.readUnits - (usage?.readUnits ?? 0) / c.messages,
    writeUnits: all.writeUnits - (usage?.writeUnits ?? 0) / c.messages,
  };
}

function routeTable(c: Counted & { messages: number }) {
  return Object.fromEntries(
    [...c.invocations]
      .filter(([, n]) => n > 0)
      .map(([route, n]) => {
        const u = c.dynamoByRoute.get(route);
        return [
          route,
          {
            invocationsPerMessage: round(n / c.messages, 3),
            medianMs: round(median(c.durations.get(route) ?? [NaN]), 2),
            dynamoRequestsPerMessage: round((u?.requests ?? 0) / c.messages, 2),
            readUnitsPerMessage: round((u?.readUnits ?? 0) / c.messages, 2),
            writeUnitsPerMessage: round((u?.writeUnits ?? 0) / c.messages, 2),
            byOperation: mapValues(u?.byOperation ?? {}, (v) => round(v / c.messages, 2)),
          },
        ];
      }),
  );
}

/** The default memory of every handler, read from infra/handler-function.ts (importing it would load aws-cdk-lib). */
function configuredMemoryMb(): number {
  const source = readFileSync(join(__dirname, '..', 'infra', 'handler-function.ts'), 'utf8');
  const match = /props\.memorySize \?\? (\d+)/.exec(source);
  if (!match) throw new Error('bench: could not find the default memorySize in infra/handler-function.ts');
  return Number(match[1]);
}

function mapValues<T extends object, R>(o: T, f: (v: T[keyof T]) => R): Record<keyof T, R> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, f(v as T[keyof T])])) as Record<keyof T, R>;
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`bench failed: ${(error as Error)?.stack ?? error}`);
    process.exit(1);
  },
);

/** The push wake-up sender's invocation time the cost model assumes: dominated by the push service's answer. */
const WAKE_SENDER_MS = 100;

/** What wake-ups add to a million offline messages, as traffic to a sleeping device coalesces (ARCH §6.12). */
function wakeupCosts(memoryMb: number) {
  const cases = [
    { label: '1 message a minute (a wake-up each)', messagesPerWakeup: 1, batch: 1 },
    { label: '10 messages a minute', messagesPerWakeup: 10, batch: 1 },
    { label: '100 messages a minute, batches of 10', messagesPerWakeup: 100, batch: 10 },
  ];
  return cases.map(({ label, messagesPerWakeup, batch }) => {
    const profile = { messagesPerWakeup, batch, senderDurationMs: WAKE_SENDER_MS, memoryMb };
    return {
      label,
      web: wakeupDollarsPerMillion({ ...profile, service: 'web' }, Prices),
      sns: wakeupDollarsPerMillion({ ...profile, service: 'sns' }, Prices),
    };
  });
}
