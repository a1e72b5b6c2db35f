import { EbbClient, type EbbClientOptions } from '../../client-sdk/src';
import { FakeServer } from './fake-server';

/** Fast reconnects so tests do not wait on production backoff. */
export const FAST_RECONNECT = { baseDelayMs: 5, maxDelayMs: 50 } as const;

export async function clientFor(server: FakeServer, options: Partial<EbbClientOptions> = {}): Promise<EbbClient> {
  return EbbClient.create({ url: server.url, reconnect: FAST_RECONNECT, ...options });
}

export async function connected(server: FakeServer, options: Partial<EbbClientOptions> = {}): Promise<EbbClient> {
  const client = await clientFor(server, options);
  await client.connect();
  return client;
}

export { inbox } from '../support/sdk';

/** Every ack `user` sent, in `ack` frames or riding on a `send` (ARCH §6.5), in the order sent. */
export function ackedBy(server: FakeServer, user: string): { id: string; sentAt: number }[] {
  return server.frames
    .filter((f) => f.user === user && (f.frame.action === 'ack' || f.frame.action === 'send'))
    .flatMap((f) => (f.frame.action === 'ack' ? f.frame.messages : (f.frame.acks ?? [])) as { id: string; sentAt: number }[]);
}

// Generous by default: receipts wait 1.5 s for a reply to ride in (ARCH §8.6), and acks for the receipt, on a
// loaded 2-core CI machine. A condition that holds returns at once, so this costs a passing test nothing.
export async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await sleep(5);
  }
}

/** Whether `attempt` resolves once in `tries` tries, one after another. */
export async function succeedsWithin(tries: number, attempt: () => Promise<unknown>): Promise<boolean> {
  for (let i = 0; i < tries; i++)
    if (
      await attempt().then(
        () => true,
        () => false,
      )
    )
      return true;
  return false;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The rejection of `promise`, failing the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/**
 * A fresh FakeServer for every test of the enclosing `describe`, and clients that are closed after it:
 * `const env = fakeServerSuite(); … env.track(await connected(env.server))`. With `{ clock: true }` the
 * server runs on `env.clock`, reset to the real time before each test, for the test to move.
 */
export function fakeServerSuite(options: { clock?: boolean } = {}) {
  const clock = { t: Date.now(), now: () => clock.t };
  const clients: EbbClient[] = [];
  let server: FakeServer | undefined;
  beforeEach(async () => {
    clock.t = Date.now();
    server = await FakeServer.start(options.clock ? { now: clock.now } : undefined);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server?.close();
  });
  return {
    clock,
    get server(): FakeServer {
      if (!server) throw new Error('fakeServerSuite: the server starts in beforeEach');
      return server;
    },
    /** Closes `client` after the test; returns it. */
    track<T extends EbbClient>(client: T): T {
      clients.push(client);
      return client;
    },
  };
}
