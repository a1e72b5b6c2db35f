/**
 * Issue #6 item 2: fuzzing every route over an authenticated raw WebSocket with (a) random frames and
 * (b) mutations of valid frames. Properties, per frame: exactly one reply; it is a result (only for a frame
 * that passes the protocol schema) or a typed error (a known code, never INTERNAL, BAD_REQUEST for any
 * frame the schema rejects, the frame's rid or null); no stack-trace shapes; the socket still answers
 * `status`. Per batch of refused frames: no table gains or loses an item.
 *
 * Table counts leave out `rateLimits` (every frame takes a token from a bucket, refused ones too, by design).
 * The TTL sweeper is slowed down so that it cannot delete an expired item in the middle of a batch.
 */
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { Actions, ErrorCodes, ErrorReasons, isRetryable, toBase64Url, type Action } from '../../protocol';
import { frankCommitment } from '../../lambdas/core/franking';
import { startLocalStack, type LocalStack } from '../../local';
import { FuzzSocket } from '../support/fuzz-socket';
import { TableCounter, type TableCounts } from '../support/fuzz-tables';
import {
  connectUrl,
  deviceAddFrame,
  makeIdentity,
  makeLinkedDevice,
  messageId,
  oneTimePrekeys,
  registerFrame,
  signedPrekey,
  type TestIdentity,
} from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { apnsToken, fcmToken, webPushSubscription } from '../support/push';
import { RawSocket } from '../support/raw-socket';
import { expectedRid, mutatedFrame, passesSchema, randomFrame, routeOf, type FuzzFrame, type ValidFrames } from './generators';

/** Mutated frames per action (13 actions) and random frames; together the total fuzzed. */
const MUTATIONS_PER_ACTION = 50;
const RANDOM_FRAMES = 400;
/** Refused frames between two table-count checks. */
const BATCH = 40;
const SEED = process.env.FUZZ_SEED === undefined ? undefined : Number(process.env.FUZZ_SEED);

/** Stack traces and error dumps: `    at f (file.ts:1:2)`, `x.ts:12`, `TypeError: …`. */
const STACK_SHAPES = /\s{4}at |\bat .*\(.*:\d+:\d+\)|\.[cm]?[jt]s:\d+|[A-Za-z]*Error:/;
const ERROR_KEYS = new Set(['type', 'rid', 'code', 'message', 'retryable', 'retryAfterSeconds', 'reason']);

let stack: LocalStack;
let counter: TableCounter;
let alice: TestIdentity;
let fuzz: FuzzSocket;
let valid: ValidFrames;
let userIds: string[];

interface RouteStats {
  frames: number;
  passedSchema: number;
  results: number;
  codes: Record<string, number>;
}
const stats = new Map<string, RouteStats>();
const origins = { random: 0, mutation: 0 };
let probes = 0;
let baseline: TableCounts;
let refusedSinceCheck = 0;
let countChecks = 0;

interface Received {
  readonly id: string;
  readonly sentAt: number;
  readonly from: { user: string; device: number };
  readonly frank: { commitment: string; tag: string; kid: string };
  readonly frankKey: string;
  readonly body: string;
}

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED }, sweepIntervalMs: 3_600_000 });
  counter = new TableCounter(stack);
  alice = makeIdentity();
  const bob = makeIdentity();
  const carol = makeIdentity();
  const setup = new Map<TestIdentity, RawSocket>();
  for (const [id, name] of [
    [alice, 'fuzz_alice'],
    [bob, 'fuzz_bob'],
    [carol, 'fuzz_carol'],
  ] as const) {
    const socket = await RawSocket.open(connectUrl(stack.url, id));
    expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result', created: true });
    expect(await socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(id), oneTimePrekeys: oneTimePrekeys(10) })).toMatchObject({
      type: 'result',
    });
    expect(await socket.request({ action: 'username.set', username: name })).toMatchObject({ type: 'result' });
    setup.set(id, socket);
  }

  // Messages queued for alice with real franking, so that ack, fetch and report have something to act on.
  const sent = new Map<string, { frankKey: Uint8Array; body: Uint8Array }>();
  for (const sender of [bob, bob, bob, carol, carol, bob]) {
    const id = messageId();
    const frankKey = new Uint8Array(randomBytes(32));
    const body = new TextEncoder().encode(`hello ${id}`);
    const commitment = toBase64Url(frankCommitment(frankKey, { from: sender.uid, to: alice.uid, id, kind: 'text', body }));
    sent.set(id, { frankKey, body });
    const reply = await setup
      .get(sender)!
      .request({ action: 'send', id, to: alice.uid, messages: [{ device: 1, ciphertext: 'AAAAAAAA', commitment }] });
    expect(reply).toMatchObject({ type: 'result', duplicate: false });
  }
  const page = await setup.get(alice)!.request({ action: 'fetch', limit: 4 });
  expect(page).toMatchObject({ type: 'result', more: true });
  const cursor = page.cursor as string;
  const received: Received[] = (page.messages as Omit<Received, 'frankKey' | 'body'>[]).map((m) => ({
    id: m.id,
    sentAt: m.sentAt,
    from: m.from,
    frank: m.frank,
    frankKey: toBase64Url(sent.get(m.id)!.frankKey),
    body: toBase64Url(sent.get(m.id)!.body),
  }));
  await Promise.all([...setup.values()].map((s) => s.close()));

  userIds = [alice.uid, bob.uid, carol.uid, makeIdentity().uid];
  const any = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)]!;
  // Ed25519 signatures are deterministic: alice's register frame is the same every time, so it is signed once.
  const aliceRegister = registerFrame(alice, 'reg');
  valid = {
    hello: () => ({ action: 'hello', rid: 'h' }),
    status: () => ({ action: 'status', rid: 's' }),
    register: () => structuredClone(aliceRegister),
    'keys.publish': () => ({ action: 'keys.publish', rid: 'kp', signedPrekey: signedPrekey(alice, 2), oneTimePrekeys: oneTimePrekeys(2, 100) }),
    'keys.count': () => ({ action: 'keys.count', rid: 'kc' }),
    'keys.bundle': () => ({ action: 'keys.bundle', rid: 'kb', user: any([bob.uid, carol.uid]), device: 1 }),
    send: () => ({
      action: 'send',
      rid: 'snd',
      id: messageId(),
      to: any([bob.uid, carol.uid]),
      messages: [{ device: 1, ciphertext: 'AAAA', commitment: toBase64Url(new Uint8Array(randomBytes(32))) }],
      expiresInSeconds: 3600,
    }),
    fanout: () => ({
      action: 'fanout',
      rid: 'fo',
      id: messageId(),
      ciphertext: 'AAAA',
      commitment: toBase64Url(new Uint8Array(randomBytes(32))),
      recipients: [
        { user: bob.uid, devices: [1] },
        { user: carol.uid, devices: [1] },
      ],
      expiresInSeconds: 3600,
    }),
    fetch: () => ({ action: 'fetch', rid: 'f', limit: 2, after: cursor }),
    ack: () => ({ action: 'ack', rid: 'a', messages: [{ id: any(received).id, sentAt: any(received).sentAt }] }),
    'username.set': () => ({ action: 'username.set', rid: 'us', username: 'fuzz_alice' }),
    'username.lookup': () => ({ action: 'username.lookup', rid: 'ul', username: any(['fuzz_bob', 'fuzz_carol', 'nobody_here']) }),
    'account.delete': () => ({ action: 'account.delete', rid: 'del' }),
    'deliveryToken.set': () => ({ action: 'deliveryToken.set', rid: 'dt', token: toBase64Url(new Uint8Array(randomBytes(32))) }),
    'device.add': () => deviceAddFrame(makeLinkedDevice(alice), 'da', 'bmFtZQ'),
    'link.fetch': () => ({ action: 'link.fetch', rid: 'lf' }),
    'devices.list': () => ({ action: 'devices.list', rid: 'dl' }),
    'device.remove': () => ({ action: 'device.remove', rid: 'dr', device: any([2, 3, 16]) }),
    'push.register': () => ({ action: 'push.register', rid: 'pr', subscription: any([webPushSubscription(), apnsToken(), fcmToken()]) }),
    'push.unregister': () => ({ action: 'push.unregister', rid: 'pu' }),
    'attachment.upload': () => ({ action: 'attachment.upload', rid: 'au', size: any([1, 4096, 1_000_000]), expiresInSeconds: 3600 }),
    'attachment.download': () => ({
      action: 'attachment.download',
      rid: 'ad',
      id: `${any([1, 7, 30])}/${toBase64Url(new Uint8Array(randomBytes(16)))}`,
    }),
    report: () => {
      const m = any(received);
      return {
        action: 'report',
        rid: 'rep',
        message: { id: m.id, from: m.from, sentAt: m.sentAt, frank: m.frank },
        frankKey: m.frankKey,
        content: { kind: 'text', body: m.body },
        reason: 'spam',
      };
    },
  };

  fuzz = await FuzzSocket.open(connectUrl(stack.url, alice, { withPk: false }));
  baseline = await counter.counts();
}, 30_000);

afterAll(async () => {
  const total = origins.random + origins.mutation;
  const perRoute = [...Actions, '$default'].map((a) => `${a}=${stats.get(a)?.frames ?? 0}`).join(' ');
  const accepted = [...stats.values()].reduce((n, s) => n + s.results, 0);
  console.log(
    `fuzz routes: ${total} frames (${origins.mutation} mutated, ${origins.random} random) + ${probes} status probes; ` +
      `${accepted} answered with a result, ${total - accepted} refused; ${countChecks} table-count checks; per route: ${perRoute}`,
  );
  await fuzz?.close();
  counter?.destroy();
  await stack?.stop();
});

/** Compares table counts with the baseline when refused frames were sent since the last check. */
async function checkCounts(): Promise<void> {
  if (refusedSinceCheck === 0) return;
  countChecks++;
  expect(await counter.counts()).toEqual(baseline);
  refusedSinceCheck = 0;
}

async function waitForConnections(count: number): Promise<void> {
  for (let i = 0; i < 100 && stack.gateway.connectionCount !== count; i++) await new Promise((r) => setTimeout(r, 10));
  // The $disconnect integration runs after the connection left the gateway's map.
  await new Promise((r) => setTimeout(r, 20));
}

/**
 * A valid `account.delete` really deletes: it runs on a throwaway account, so the fuzzed one keeps its state.
 * Returns the reply and the socket to probe.
 */
async function onThrowawayAccount(frame: FuzzFrame, send: (socket: FuzzSocket) => Promise<string>): Promise<string> {
  const before = stack.gateway.connectionCount;
  const victim = makeIdentity();
  const socket = await FuzzSocket.open(connectUrl(stack.url, victim));
  expect(JSON.parse(await socket.send(JSON.stringify(registerFrame(victim))))).toMatchObject({ type: 'result', created: true });
  const reply = await send(socket);
  await probe(socket);
  await socket.close();
  await waitForConnections(before);
  void frame;
  return reply;
}

async function probe(socket: FuzzSocket): Promise<void> {
  const rid = `probe-${++probes}`;
  const reply = JSON.parse(await socket.send(JSON.stringify({ action: 'status', rid }))) as Record<string, unknown>;
  expect(reply).toMatchObject({ type: 'result', rid, phase: 'open' });
}

/** Sends one frame and checks every property of its reply; returns nothing, throws on a violation. */
async function fuzzOne(frame: FuzzFrame): Promise<void> {
  const route = routeOf(frame);
  const schemaOk = passesSchema(frame);
  const s = stats.get(route) ?? { frames: 0, passedSchema: 0, results: 0, codes: {} };
  stats.set(route, s);
  s.frames++;
  origins[frame.origin]++;
  if (schemaOk) s.passedSchema++;

  // A frame that passes the schema may change state legitimately: check the refused ones before it.
  if (schemaOk) await checkCounts();
  const repliesBefore = fuzz.replies.length;
  let text: string;
  if (route === 'account.delete' && schemaOk) {
    text = await onThrowawayAccount(frame, (socket) => socket.send(frame.text, frame.binary));
  } else {
    text = await fuzz.send(frame.text, frame.binary);
    await probe(fuzz);
    // Exactly one reply to the frame, one to the probe.
    expect(fuzz.replies.length - repliesBefore).toBe(2);
    expect(fuzz.closed).toBeUndefined();
  }

  let reply: Record<string, unknown>;
  try {
    reply = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new Error(`reply is not JSON: ${text.slice(0, 200)}`);
  }
  const { rid, ...rest } = reply;
  expect(JSON.stringify(rest)).not.toMatch(STACK_SHAPES);
  if (reply.type === 'result') {
    expect(schemaOk).toBe(true);
    expect(rid).toBe(expectedRid(frame));
    s.results++;
    baseline = await counter.counts();
    refusedSinceCheck = 0;
    return;
  }
  expect(reply.type).toBe('error');
  expect(Object.keys(reply).filter((key) => !ERROR_KEYS.has(key))).toEqual([]);
  expect(ErrorCodes).toContain(reply.code);
  if (reply.reason !== undefined) expect(ErrorReasons).toContain(reply.reason);
  expect(reply.code).not.toBe('INTERNAL');
  expect(typeof reply.message).toBe('string');
  expect(reply.retryable).toBe(isRetryable(reply.code as (typeof ErrorCodes)[number]));
  expect(rid).toBe(expectedRid(frame));
  if (!schemaOk) expect(reply.code).toBe('BAD_REQUEST');
  s.codes[reply.code as string] = (s.codes[reply.code as string] ?? 0) + 1;
  if (++refusedSinceCheck >= BATCH) await checkCounts();
}

describe('fuzzing every route over an authenticated raw WebSocket', () => {
  // Each test starts from the tables as they are, so that a failure in one does not fail the next.
  beforeEach(async () => {
    baseline = await counter.counts();
    refusedSinceCheck = 0;
  });

  it.each(Actions.map((a) => [a]))('mutations of valid %s frames', async (action: Action) => {
    await fc.assert(
      fc.asyncProperty(mutatedFrame(action, valid, userIds), (frame) => fuzzOne(frame)),
      { numRuns: MUTATIONS_PER_ACTION, seed: SEED, endOnFailure: true },
    );
    await checkCounts();
    // The route's logic ran, not just its schema.
    expect(stats.get(action)?.passedSchema ?? 0).toBeGreaterThan(0);
  });

  it('random frames: any text, any JSON, hostile keys, huge numbers, deep nesting, binary', async () => {
    await fc.assert(
      fc.asyncProperty(randomFrame, (frame) => fuzzOne(frame)),
      { numRuns: RANDOM_FRAMES, seed: SEED, endOnFailure: true },
    );
    await checkCounts();
  });
});
