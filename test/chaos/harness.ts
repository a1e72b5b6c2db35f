import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EbbClient, EbbError, FileStore, type ReceivedMessage } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { LOCAL_AWS } from '../../local/dynamo';
import { UNTHROTTLED } from '../support/local-stack';

/**
 * The chaos harness (issue #6): SDK clients on FileStores exchange messages through the local stack
 * while connections are cut, pushes fail, DynamoDB throttles or errors and clients restart. Every
 * random choice of the harness comes from one seeded PRNG, so `CHAOS_SEED` replays the same schedule
 * of faults and sends; timing (and the SDK's own randomness: ids, jitter) still varies between runs.
 *
 * App-level retry: a send that rejects with a retryable EbbError is sent again with
 * `{ id: err.messageId }`, up to MAX_SEND_ATTEMPTS times. The server queues an id once per recipient
 * device and the recipient drops a repeated id, so a retry can never duplicate the message.
 */

export interface ChaosOptions {
  readonly seed: number;
  readonly clients: number;
  /** How long clients keep sending while faults are on. */
  readonly trafficMs: number;
  /** How long the calm end may take to deliver everything. */
  readonly settleMs: number;
  readonly log?: (line: string) => void;
}

export interface SentMessage {
  readonly sender: number;
  readonly recipient: number;
  /** The sender's n-th send, counted over all its peers: send order. */
  readonly n: number;
  readonly id: string;
  readonly attempts: number;
  readonly outcome: 'resolved' | 'rejected';
  readonly error?: string;
}

export interface Delivery {
  readonly recipient: number;
  readonly sender: number;
  readonly n: number;
  readonly id: string;
}

export interface ChaosResult {
  readonly seed: number;
  readonly sent: SentMessage[];
  readonly deliveries: Delivery[];
  /** Envelopes the SDKs recognised as already seen and did not hand to the app again. */
  readonly duplicatesSuppressed: number;
  readonly faults: Record<string, number>;
  /** `m#` items left in the queue table after every client drained and closed. */
  readonly queuedLeft: number;
  /** Times a client stopped reconnecting by itself ('error' event) or connect() gave up. */
  readonly connectFailures: Record<string, number>;
  readonly runtimeMs: number;
}

const MAX_SEND_ATTEMPTS = 4;
/**
 * Short enough that sends caught in a storm reject and exercise the app-level retry, long enough for a
 * connect: its whole setup (hello, prekeys, pruning the FileStore, draining the queue) runs in the one
 * process all apps share, and a connect that runs out of time starts over on the next attempt.
 */
const CLIENT_TIMEOUT_MS = 10_000;
/** Between connect() calls of an app whose connect failed: it waits longer each time, as an app would. */
const CONNECT_RETRY = { baseDelayMs: 100, maxDelayMs: 2000 } as const;
const RECONNECT = { baseDelayMs: 20, maxDelayMs: 400 } as const;

/** mulberry32: a tiny, fast, seedable PRNG, plenty for choosing faults. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function internals(client: EbbClient): { duplicates: number } {
  return (client as unknown as { inbox: { duplicates: number } }).inbox;
}

/** When a run gives up on a client that cannot connect while the stack is calm: that is a failure, not chaos. */
const CALM_CONNECT_MS = 60_000;

/**
 * One simulated app: an EbbClient on a FileStore it restarts from. Like an app, it calls connect() again
 * after each failure (the SDK gives a first connect `timeoutMs`, which a storm can outlast), for as long as
 * that client is its current one and the run lasts.
 */
class ChaosApp {
  /** The client in use; undefined while it is being replaced or after close(). */
  private current: EbbClient | undefined;
  private last!: EbbClient;
  userId = '';
  /** Duplicates suppressed by clients of this app that were closed already. */
  closedDuplicates = 0;

  constructor(
    readonly index: number,
    readonly dir: string,
    private readonly url: string,
    private readonly onMessage: (app: ChaosApp, m: ReceivedMessage) => void,
    private readonly failures: Record<string, number>,
    /** Whether the run still wants clients to connect (false once it ends or is aborted). */
    private readonly running: () => boolean,
  ) {}

  get client(): EbbClient {
    return this.last;
  }

  get duplicates(): number {
    return this.closedDuplicates + (this.current ? internals(this.current).duplicates : 0);
  }

  /** A new client on the app's store, connected; rejects only when `deadline` passes first. */
  async start(deadline: number): Promise<void> {
    const client = await EbbClient.create({ url: this.url, store: new FileStore(this.dir), timeoutMs: CLIENT_TIMEOUT_MS, reconnect: RECONNECT });
    this.current = this.last = client;
    this.userId = client.userId;
    client.on('message', (m) => this.onMessage(this, m));
    client.on('error', (e) => {
      count(this.failures, `stopped:${e.code}`);
      // An app would connect again: the harness does too, while this client is the app's.
      void this.connect(client, Infinity).catch(() => undefined);
    });
    await this.connect(client, deadline);
  }

  async restart(deadline: number): Promise<void> {
    await this.close();
    await this.start(deadline);
  }

  async close(): Promise<void> {
    const client = this.current;
    this.current = undefined;
    if (!client) return;
    await client.close();
    this.closedDuplicates += internals(client).duplicates;
  }

  private async connect(client: EbbClient, deadline: number): Promise<void> {
    for (let failures = 0; ; failures++) {
      try {
        await client.connect();
        return;
      } catch (err) {
        if (this.current !== client || !this.running()) return;
        count(this.failures, `connect:${EbbError.is(err) ? err.code : 'other'}`);
        if (Date.now() > deadline) throw err;
        await sleep(Math.min(CONNECT_RETRY.maxDelayMs, CONNECT_RETRY.baseDelayMs * 2 ** failures));
      }
    }
  }
}

function count(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const started = Date.now();
  const random = prng(options.seed);
  const chance = (p: number) => random() < p;
  const log = options.log ?? (() => undefined);
  const faults: Record<string, number> = {};
  const connectFailures: Record<string, number> = {};
  // Refused connects and handler errors are counted by reason: they explain a client that stopped.
  const logger = {
    info: (message: string, fields?: Record<string, unknown>) => {
      if (message === 'connect' && fields?.allow === false) count(connectFailures, `refused:${String(fields.reason)}`);
    },
    warn: () => undefined,
    error: (message: string) => count(connectFailures, `handler-error:${message}`),
  };
  const stack: LocalStack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED }, logger });
  const root = mkdtempSync(join(tmpdir(), 'ebb-chaos-'));
  const deliveries: Delivery[] = [];
  const sent: SentMessage[] = [];
  const byUser = new Map<string, number>();
  const apps: ChaosApp[] = [];
  const onMessage = (app: ChaosApp, m: ReceivedMessage) => {
    const [sender, n] = (m.text ?? '').split(':').map(Number);
    deliveries.push({ recipient: app.index, sender: sender!, n: n!, id: m.id });
    if (byUser.get(m.from) !== sender) count(faults, 'bad-sender');
  };
  // False once the run ends or an app fails: every loop and reconnect stops before the stack does.
  let running = true;
  let ticker: ReturnType<typeof setInterval> | undefined;
  try {
    for (let i = 0; i < options.clients; i++) {
      const app = new ChaosApp(i, join(root, `c${i}`), stack.url, onMessage, connectFailures, () => running);
      await app.start(Date.now() + CALM_CONNECT_MS);
      byUser.set(app.userId, i);
      apps.push(app);
    }

    // Faults. Connection ids are learnt from the replies the gateway sends (every socket gets one to hello).
    const connections = new Set<string>();
    let on = true;
    let storm = false;
    stack.gateway.faults.beforeReply = (_route, connectionId) => {
      connections.add(connectionId);
      if (on && chance(0.01)) {
        count(faults, 'sever-before-reply');
        return 'sever';
      }
      return 'deliver';
    };
    stack.faults.management = (method) => {
      if (method !== 'POST') return undefined;
      if (chance(0.05)) return (count(faults, 'push-500'), 500);
      if (chance(0.03)) return (count(faults, 'push-410'), 410);
      return undefined;
    };
    stack.faults.dynamodb = () => {
      // Calm: retries absorb it. Storm: about one call in eight fails all three attempts.
      if (!chance(storm ? 0.5 : 0.04)) return undefined;
      const kind = chance(0.5) ? 'throttle' : 'error';
      count(faults, `dynamodb-${kind}`);
      return kind;
    };
    ticker = setInterval(() => {
      storm = storm ? !chance(0.3) : chance(0.05);
      if (chance(0.15)) {
        const ids = [...connections];
        const id = ids[Math.floor(random() * ids.length)];
        if (id !== undefined && stack.gateway.sever(id)) count(faults, 'sever');
        else if (id !== undefined) connections.delete(id);
      }
    }, 100);

    const trafficEnd = Date.now() + options.trafficMs;
    const traffic = await Promise.allSettled(
      apps.map(async (app) => {
        let n = 0;
        try {
          while (Date.now() < trafficEnd && running) {
            if (chance(0.02)) {
              count(faults, 'restart');
              // Through the storm until traffic ends; a client still not connected a while after is a failure.
              await app.restart(trafficEnd + CALM_CONNECT_MS);
              continue;
            }
            let recipient = Math.floor(random() * (apps.length - 1));
            if (recipient >= app.index) recipient++;
            n++;
            sent.push(await sendWithRetry(app, apps[recipient]!, n, faults));
            await sleep(Math.floor(random() * 20));
          }
        } catch (error) {
          running = false;
          throw error;
        }
      }),
    );
    const failed = traffic.find((outcome) => outcome.status === 'rejected');
    if (failed) throw failed.reason;

    // Calm: no more faults; every client reconnects (and drains) once, then waits for what is due.
    on = false;
    clearInterval(ticker);
    stack.faults.dynamodb = undefined;
    stack.faults.management = undefined;
    stack.gateway.faults = {};
    for (const id of connections) stack.gateway.sever(id);
    const due = sent.filter((s) => s.outcome === 'resolved');
    const settleEnd = Date.now() + options.settleMs;
    const has = () => {
      const got = new Set(deliveries.map((d) => `${d.recipient}/${d.id}`));
      return due.every((s) => got.has(`${s.recipient}/${s.id}`));
    };
    while (!has() && Date.now() < settleEnd) await sleep(50);
    // Stragglers (rejected sends that were queued after all) and redeliveries get one more drain.
    for (const app of apps) await app.restart(Date.now() + CALM_CONNECT_MS);
    await sleep(300);
    for (const app of apps) await app.close();

    const queuedLeft = await queuedMessages(stack);
    const result: ChaosResult = {
      seed: options.seed,
      sent,
      deliveries,
      duplicatesSuppressed: apps.reduce((sum, a) => sum + a.duplicates, 0),
      faults,
      queuedLeft,
      connectFailures,
      runtimeMs: Date.now() - started,
    };
    log(summary(result));
    return result;
  } finally {
    running = false;
    clearInterval(ticker);
    await Promise.all(apps.map((a) => a.close()));
    await stack.stop();
    rmSync(root, { recursive: true, force: true });
  }
}

async function sendWithRetry(app: ChaosApp, to: ChaosApp, n: number, faults: Record<string, number>): Promise<SentMessage> {
  const text = `${app.index}:${n}`;
  let id: string | undefined;
  let error = '';
  for (let attempt = 1; attempt <= MAX_SEND_ATTEMPTS; attempt++) {
    try {
      const result = await app.client.send(to.userId, text, id === undefined ? {} : { id });
      return { sender: app.index, recipient: to.index, n, id: result.id, attempts: attempt, outcome: 'resolved' };
    } catch (err) {
      if (!EbbError.is(err)) throw err;
      error = `${err.code}${err.retryable ? '' : '(final)'}: ${err.message}`;
      count(faults, `app-retry:${err.code}`);
      id = err.messageId;
      if (!err.retryable || id === undefined) break;
    }
  }
  return { sender: app.index, recipient: to.index, n, id: id ?? '', attempts: MAX_SEND_ATTEMPTS, outcome: 'rejected', error };
}

/** Message items (`m#…`) in the queue table; dedup markers and the depth counter stay by design. */
async function queuedMessages(stack: LocalStack): Promise<number> {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, ...LOCAL_AWS });
  try {
    let items = 0;
    let start: Record<string, AttributeValue> | undefined;
    do {
      const page = await client.send(new ScanCommand({ TableName: stack.tables.queue, ExclusiveStartKey: start }));
      items += (page.Items ?? []).filter((item) => item.sk?.S?.startsWith('m#')).length;
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  } finally {
    client.destroy();
  }
}

export interface ChaosCheck {
  readonly delivered: number;
  readonly lost: Delivery[] | SentMessage[];
  readonly duplicates: string[];
  readonly outOfOrder: string[];
  readonly rejectedDelivered: number;
  readonly rejectedNotDelivered: number;
}

/** What the run must satisfy, computed from its records. */
export function check(result: ChaosResult): ChaosCheck {
  const seen = new Map<string, number>();
  for (const d of result.deliveries) seen.set(`${d.recipient}/${d.id}`, (seen.get(`${d.recipient}/${d.id}`) ?? 0) + 1);
  const duplicates = [...seen].filter(([, times]) => times > 1).map(([key, times]) => `${key} x${times}`);
  const lost = result.sent.filter((s) => s.outcome === 'resolved' && !seen.has(`${s.recipient}/${s.id}`));
  const rejected = result.sent.filter((s) => s.outcome === 'rejected');
  const rejectedDelivered = rejected.filter((s) => seen.has(`${s.recipient}/${s.id}`)).length;
  const outOfOrder: string[] = [];
  const last = new Map<string, number>();
  for (const d of result.deliveries) {
    const lane = `${d.sender}->${d.recipient}`;
    const previous = last.get(lane) ?? 0;
    if (d.n < previous) outOfOrder.push(`${lane}: ${d.n} after ${previous}`);
    last.set(lane, Math.max(previous, d.n));
  }
  return {
    delivered: seen.size,
    lost,
    duplicates,
    outOfOrder,
    rejectedDelivered,
    rejectedNotDelivered: rejected.length - rejectedDelivered,
  };
}

export function summary(result: ChaosResult): string {
  const c = check(result);
  const faults = Object.entries(result.faults)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  const failures = Object.entries(result.connectFailures)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return (
    `chaos seed=${result.seed}: sent ${result.sent.length} / delivered ${c.delivered} / duplicates suppressed ${result.duplicatesSuppressed}` +
    ` / lost ${c.lost.length} / app duplicates ${c.duplicates.length} / out of order ${c.outOfOrder.length}` +
    ` / rejected ${c.rejectedDelivered + c.rejectedNotDelivered} (delivered ${c.rejectedDelivered}, not ${c.rejectedNotDelivered})` +
    ` / queue left ${result.queuedLeft} / ${(result.runtimeMs / 1000).toFixed(1)} s | faults: ${faults}${failures ? ` | connect: ${failures}` : ''}`
  );
}
