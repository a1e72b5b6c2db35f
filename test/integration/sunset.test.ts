import { MemoryAttachmentObjects } from '../../lambdas/adapters/memory';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EbbClient, EbbError, MemoryStore, type ReceivedMessage, type ServiceNotice } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { LOCAL_AWS, createTables, startDynalite } from '../../local/dynamo';
import { DynamoConnections, DynamoQueue, DynamoSweeper, documentClient } from '../../lambdas/adapters/dynamodb';
import { silentLogger } from '../../lambdas/adapters/logger';
import { Tables, localTableNames } from '../../lambdas/adapters/table-definitions';
import { runLifecycle } from '../../lambdas/core/lifecycle';
import { handler } from '../../lambdas/handlers/lifecycle';
import type { Notifier } from '../../lambdas/core/ports';
import { resolveConfig } from '../../protocol';
import { connectUrl, makeIdentity, registerFrame, type TestIdentity } from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { until } from '../support/sdk';
import { UNTHROTTLED } from '../support/local-stack';
import { placeholderFrank } from '../support/franking';
import { webPushSubscription } from '../support/push';

const DAY = 86_400_000;
const MINUTE = 60_000;
/** Whole seconds, so the configured ISO dates are exact. */
const T0 = Math.floor(Date.now() / 1000) * 1000;
const iso = (days: number) => new Date(T0 + days * DAY).toISOString();
const SUNSET = {
  signupsCloseAt: iso(1),
  readOnlyAt: iso(35),
  shutdownAt: iso(40),
  purgeAt: iso(41),
  message: 'ebb is closing: export your messages',
  noticeUrl: 'https://example.com/closing',
};

/** Idle and connection limits past the whole timeline: sockets stay open across its jumps. */
const CONNECTIONS_OUTLIVE_THE_TIMELINE = { idleTimeoutMs: 365 * DAY, maxConnectionMs: 365 * DAY };

/** One clock for the stack and every client: the timeline moves without sleeping. */
const clock = { t: T0, now: () => clock.t };

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => new Error('expected a refusal'),
    (error: unknown) => error,
  );
}

describe('A whole timeline through the local stack with a controllable clock', () => {
  let stack: LocalStack;
  const clients: EbbClient[] = [];
  const sockets: RawSocket[] = [];

  beforeAll(async () => {
    // No timers: each step moves the clock and runs the check the schedules would trigger. The timeline jumps
    // days while its sockets listen for notices, so the gateway's connection limits (on the same clock) are
    // lifted here; test/integration/gateway-clock.test.ts covers them.
    stack = await startLocalStack({
      port: 0,
      now: clock.now,
      config: { sunset: SUNSET, rateLimits: UNTHROTTLED },
      sweepIntervalMs: 3_600_000,
      lifecycleIntervalMs: 3_600_000,
      ...CONNECTIONS_OUTLIVE_THE_TIMELINE,
    });
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await Promise.all(sockets.map((s) => s.close()));
    await stack.stop();
  });

  async function client(store = new MemoryStore()): Promise<EbbClient> {
    const c = await EbbClient.create({ url: stack.url, store, now: clock.now, reconnect: { baseDelayMs: 20, maxDelayMs: 200 }, timeoutMs: 10_000 });
    clients.push(c);
    return c;
  }

  function listen<T>(subscribe: (push: (value: T) => void) => void): T[] {
    const seen: T[] = [];
    subscribe((value) => seen.push(value));
    return seen;
  }

  async function rawSocket(id: TestIdentity): Promise<RawSocket> {
    const socket = await RawSocket.open(connectUrl(stack.url, id, { ts: clock.now() }));
    sockets.push(socket);
    return socket;
  }

  /** Moves the clock and runs the lifecycle check, as the schedules would fire. */
  async function jumpTo(days: number, plus = MINUTE): Promise<void> {
    clock.t = T0 + days * DAY + plus;
    await stack.lifecycleTick();
  }

  const aliceStore = new MemoryStore();
  const bobStore = new MemoryStore();
  let alice: EbbClient;
  let aliceNotices: ServiceNotice[];
  let bobId: string;
  const olga = makeIdentity();
  let observer: RawSocket;

  /** The next notice the raw observer gets, exactly as pushed on the wire. */
  const nextNotice = () => observer.nextPush(2000);

  it('open: users register and exchange messages; status carries the schedule', async () => {
    alice = await client(aliceStore);
    const bob = await client(bobStore);
    await Promise.all([alice.connect(), bob.connect()]);
    bobId = bob.userId;
    aliceNotices = listen((push) => alice.on('notice', push));
    const bobInbox = listen<ReceivedMessage>((push) => bob.on('message', push));
    await alice.send(bobId, 'hello before the sunset');
    await until(() => bobInbox.length === 1, 'bob to receive');
    await bob.close();

    const status = await alice.status();
    expect(status.phase).toBe('open');
    expect(status.schedule).toEqual({
      ...SUNSET,
      signupsCloseAt: T0 + DAY,
      readOnlyAt: T0 + 35 * DAY,
      shutdownAt: T0 + 40 * DAY,
      purgeAt: T0 + 41 * DAY,
    });

    observer = await rawSocket(olga);
    expect(await observer.request(registerFrame(olga))).toMatchObject({ type: 'result', created: true });
    await stack.lifecycleTick();
    expect(observer.pushes).toEqual([]);
  });

  it('signups-closed: a notice to everyone; a new signup is refused while existing users still message', async () => {
    await jumpTo(1);
    expect(await nextNotice()).toMatchObject({
      type: 'notice',
      reason: 'phase-change',
      phase: 'signups-closed',
      daysUntilShutdown: 39,
      schedule: { message: SUNSET.message },
    });
    await until(() => aliceNotices.length === 1, 'alice to hear of the phase change');
    expect(aliceNotices[0]).toMatchObject({
      phase: 'signups-closed',
      reason: 'phase-change',
      daysUntilShutdown: 39,
      serverTime: clock.t,
      schedule: { noticeUrl: SUNSET.noticeUrl },
    });

    const carol = await client();
    const refused = await rejection(carol.connect());
    expect(EbbError.is(refused, 'SIGNUPS_CLOSED')).toBe(true);
    expect(refused).toMatchObject({ retryable: false });
    // The socket stays open so the app can say why.
    expect((await carol.status()).phase).toBe('signups-closed');

    await alice.send(bobId, 'still here');
    const bob = await client(bobStore);
    const bobInbox = listen<ReceivedMessage>((push) => bob.on('message', push));
    await bob.connect();
    expect(bobInbox.map((m) => m.text)).toEqual(['still here']);
    await bob.close();
  });

  it('countdown: nothing before the last 30 days, then one notice a day', async () => {
    await jumpTo(9);
    await jumpTo(9, 2 * MINUTE);
    expect(observer.pushes).toEqual([]);

    await jumpTo(10);
    expect(await nextNotice()).toMatchObject({ reason: 'countdown', phase: 'signups-closed', daysUntilShutdown: 30 });
    await jumpTo(10, 3 * 3_600_000);
    await jumpTo(11);
    expect(await nextNotice()).toMatchObject({ reason: 'countdown', daysUntilShutdown: 29 });
    expect(observer.pushes).toEqual([]);
    await until(() => aliceNotices.length === 3, 'alice to hear both countdowns');
    expect(aliceNotices.map((n) => n.phase)).toEqual(['signups-closed', 'signups-closed', 'signups-closed']);
  });

  it('read-only: send is refused, but queued messages are still fetched and acked', async () => {
    await alice.send(bobId, 'one');
    clock.t += 1; // the queue orders by server time
    await alice.send(bobId, 'two');

    await jumpTo(35);
    expect(await nextNotice()).toMatchObject({ reason: 'phase-change', phase: 'read-only', daysUntilShutdown: 5 });
    await until(() => aliceNotices.length === 4, 'alice to hear of read-only');
    expect(aliceNotices[3]!.phase).toBe('read-only');

    const refused = await rejection(alice.send(bobId, 'three'));
    expect(EbbError.is(refused, 'SERVICE_READ_ONLY')).toBe(true);

    const bob = await client(bobStore);
    const bobInbox = listen<ReceivedMessage>((push) => bob.on('message', push));
    await bob.connect();
    expect(bobInbox.map((m) => m.text)).toEqual(['one', 'two']);
    await bob.close();
    // close() waits up to 2 s for the acks to be answered; a busy machine may answer the last one later.
    const queued = async () => (await stack.ports.queue.page({ userId: bobId, device: 1 }, null, 10, clock.now())).messages;
    await until(async () => (await queued()).length === 0, "bob's acks to empty his queue");

    await jumpTo(36);
    expect(await nextNotice()).toMatchObject({ reason: 'countdown', phase: 'read-only', daysUntilShutdown: 4 });
  });

  it('shut-down: a last notice, every connection closed, then everything but status refused', async () => {
    const aliceStopped = new Promise<EbbError>((resolve) => alice.on('error', resolve));
    await jumpTo(40);
    const last = await nextNotice();
    expect(last).toMatchObject({ reason: 'phase-change', phase: 'shut-down' });
    expect(last).not.toHaveProperty('daysUntilShutdown');
    expect(await observer.waitClosed()).toMatchObject({ code: 1000 });

    // The SDK reconnects, is told why, and stops; status still answers on its open socket.
    expect((await aliceStopped).code).toBe('SERVICE_SHUT_DOWN');
    expect(aliceNotices.at(-1)!.phase).toBe('shut-down');
    expect((await alice.status()).phase).toBe('shut-down');
    expect(EbbError.is(await rejection(alice.send(bobId, 'anyone?')), 'SERVICE_SHUT_DOWN')).toBe(true);

    const bob = await client(bobStore);
    expect(EbbError.is(await rejection(bob.connect()), 'SERVICE_SHUT_DOWN')).toBe(true);
    expect((await bob.status()).phase).toBe('shut-down');

    // A reconnect is accepted, to hear why.
    const again = await rawSocket(olga);
    expect(await again.request({ action: 'status' })).toMatchObject({ type: 'result', phase: 'shut-down', schedule: { message: SUNSET.message } });
    for (const action of ['hello', 'fetch', 'keys.count']) {
      expect(await again.request({ action })).toMatchObject({ type: 'error', code: 'SERVICE_SHUT_DOWN', retryable: false });
    }
  });

  it('after purgeAt every table is empty', async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(sockets.splice(0).map((s) => s.close()));
    const db = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, ...LOCAL_AWS });
    const counts = async () => {
      const entries = await Promise.all(
        Object.entries(stack.tables).map(
          async ([key, name]) => [key, (await db.send(new ScanCommand({ TableName: name, Select: 'COUNT' }))).Count] as const,
        ),
      );
      return Object.fromEntries(entries);
    };
    try {
      await jumpTo(40, 23 * 3_600_000);
      // A device's push subscription, which goes with everything else.
      const [someone] = (await db.send(new ScanCommand({ TableName: stack.tables.accounts, Limit: 1 }))).Items ?? [];
      await stack.ports.pushTokens.put({ userId: someone!.uid!.S!, device: 1 }, webPushSubscription(), Date.now());
      const before = await counts();
      expect(before.pushTokens).toBe(1);
      expect(before.accounts).toBe(3); // alice, bob, olga: carol never registered
      expect(before.prekeys).toBeGreaterThan(0);
      expect(before.queue).toBeGreaterThan(0); // send markers

      await jumpTo(41);
      expect(await counts()).toEqual({
        accounts: 0,
        prekeys: 0,
        connections: 0,
        queue: 0,
        usernames: 0,
        nonces: 0,
        rateLimits: 0,
        reports: 0,
        pushTokens: 0,
      });
    } finally {
      db.destroy();
    }
  });
});

describe('the local schedules', () => {
  it('follow the clock by themselves: a jump past two dates gives one notice of the latest phase', async () => {
    const local = { t: T0 };
    const stack = await startLocalStack({
      port: 0,
      now: () => local.t,
      config: { sunset: SUNSET, rateLimits: UNTHROTTLED },
      lifecycleIntervalMs: 20,
      ...CONNECTIONS_OUTLIVE_THE_TIMELINE,
    });
    try {
      const id = makeIdentity();
      const socket = await RawSocket.open(connectUrl(stack.url, id, { ts: local.t }));
      await socket.request(registerFrame(id));
      local.t = T0 + 36 * DAY;
      expect(await socket.nextPush(2000)).toMatchObject({ type: 'notice', reason: 'phase-change', phase: 'read-only' });
      await new Promise((r) => setTimeout(r, 100));
      expect(socket.pushes).toEqual([]);
      await socket.close();
    } finally {
      await stack.stop();
    }
  });
});

describe('the DynamoDB sweeper on dynalite', () => {
  it('walks connections page by page while shutdown deletes them, then purges pages larger than one BatchWriteItem', async () => {
    const dynamo = await startDynalite();
    try {
      const tables = localTableNames();
      await createTables(dynamo.client, tables);
      const db = documentClient(dynamo.client);
      const connections = new DynamoConnections(db, tables.connections);
      const queue = new DynamoQueue(db, tables.queue);
      for (let i = 0; i < 130; i++) {
        await connections.put({ connectionId: `conn-${i}`, userId: `user-${i % 9}`, device: 1, connectedAt: T0, expiresAt: T0 / 1000 + 7200 });
        const recipient = { userId: `user-${i % 9}`, device: 1 };
        await queue.put({
          recipient,
          id: `message-${String(i).padStart(8, '0')}`,
          from: recipient,
          sentAt: T0 + i,
          expiresAt: T0 / 1000 + 86_400,
          ciphertext: 'AAAA',
          frank: placeholderFrank(),
        });
      }
      const disconnected: string[] = [];
      const notifier: Notifier = { push: async () => 'sent', disconnect: async (id) => void disconnected.push(id) };
      const sweeper = new DynamoSweeper(db, (store) => tables[store]);
      const ports = {
        connections,
        notifier,
        sweeper,
        attachmentObjects: new MemoryAttachmentObjects(),
        clock: { now: () => T0 + 40 * DAY },
        config: resolveConfig({ sunset: SUNSET }),
        logger: silentLogger,
      };

      expect(await runLifecycle(ports, 'shutdown', { pageSize: 40 })).toMatchObject({ notified: 130, disconnected: 130 });
      expect(new Set(disconnected).size).toBe(130);
      expect((await sweeper.connections(null, 1000)).items).toEqual([]);

      const purge = await runLifecycle({ ...ports, clock: { now: () => T0 + 41 * DAY } }, 'purge', { pageSize: 60 });
      expect(purge).toMatchObject({ done: true, purged: 130 });
      expect((await sweeper.keys('queue', null, 1000)).items).toEqual([]);
    } finally {
      await dynamo.stop();
    }
  });
});

describe('the lifecycle Lambda handler', () => {
  it('builds its ports from the environment, notifies through the management API, and refuses an unknown task', async () => {
    const sunset = { ...SUNSET, signupsCloseAt: new Date(Date.now() - DAY).toISOString() };
    const stack = await startLocalStack({ port: 0, config: { sunset, rateLimits: UNTHROTTLED } });
    const saved = { ...process.env };
    const logged: string[] = [];
    const log = jest.spyOn(console, 'log').mockImplementation((line: string) => void logged.push(line));
    try {
      const id = makeIdentity();
      const socket = await RawSocket.open(connectUrl(stack.url, id));
      await socket.request(registerFrame(id));
      Object.assign(process.env, {
        EBB_CONFIG: JSON.stringify({ sunset }),
        EBB_CALLBACK_URL: stack.callbackUrl,
        AWS_ENDPOINT_URL_DYNAMODB: stack.dynamodbEndpoint,
        AWS_REGION: LOCAL_AWS.region,
        AWS_ACCESS_KEY_ID: LOCAL_AWS.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: LOCAL_AWS.credentials.secretAccessKey,
      });
      for (const key of Object.keys(Tables) as (keyof typeof Tables)[]) process.env[Tables[key].envVar] = stack.tables[key];
      // The handler reads the environment on its first invocation, as at a Lambda cold start.

      expect(await handler({ task: 'phase-change' }, { getRemainingTimeInMillis: () => 900_000 })).toEqual({
        task: 'phase-change',
        phase: 'signups-closed',
        done: true,
        notified: 1,
        gone: 0,
        disconnected: 0,
        purged: 0,
        purgedObjects: 0,
      });
      expect(await socket.nextPush(2000)).toMatchObject({ type: 'notice', reason: 'phase-change', phase: 'signups-closed' });
      expect(await handler({ task: 'purge' })).toMatchObject({ skipped: 'before-purge', purged: 0 });
      await expect(handler({ task: 'everything' } as never)).rejects.toThrow('task must be one of phase-change, countdown, shutdown, purge');
      await socket.close();
      // One JSON line per run: task, phase and counts, never the notice itself.
      expect(logged.map((line) => (JSON.parse(line) as { message: string }).message)).toEqual([
        'lifecycle',
        'lifecycle task refused: its date has not come',
        'lifecycle event refused',
      ]);
      expect(logged.join('\n')).not.toContain(SUNSET.message);
    } finally {
      log.mockRestore();
      process.env = saved;
      await stack.stop();
    }
  });
});
