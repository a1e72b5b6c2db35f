import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { connectUrl, makeIdentity, messageId, registerFrame, signedPrekey, type TestIdentity } from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { anyCommitment } from '../support/franking';

/** Fixed windows in DynamoDB (dynalite), behind the same handlers; every test socket comes from 127.0.0.1. */

// At a minute boundary, so each test starts at a window's start (afterEach moves on by whole minutes).
const clock = { t: Math.ceil(Date.now() / 60_000) * 60_000, now: () => clock.t };
let stack: LocalStack;
const sockets: RawSocket[] = [];
beforeAll(async () => {
  stack = await startLocalStack({
    port: 0,
    now: clock.now,
    sweepIntervalMs: 60_000,
    config: { rateLimits: { sendPerMinute: 3, connectPerMinute: 3 } },
  });
});
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  // Two whole minutes on: each test starts in a fresh window with its whole allowance.
  clock.t += 120_000;
});
afterAll(() => stack.stop());

async function open(id: TestIdentity): Promise<RawSocket> {
  const socket = await RawSocket.open(connectUrl(stack.url, id, { ts: clock.t }));
  sockets.push(socket);
  return socket;
}

async function registered(id: TestIdentity, socket: RawSocket): Promise<void> {
  expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result' });
  expect(await socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(id), oneTimePrekeys: [] })).toMatchObject({ type: 'result' });
}

const sendFrame = (to: string) => ({
  action: 'send',
  id: messageId(),
  to,
  messages: [{ device: 1, ciphertext: toBase64Url(nacl.randomBytes(64)), commitment: anyCommitment() }],
});

describe('rate limits through the local stack', () => {
  it('answers the send past sendPerMinute with RATE_LIMITED and retryAfterSeconds, and sends again once refilled', async () => {
    const [alice, bob] = [makeIdentity(), makeIdentity()];
    const [a, b] = [await open(alice), await open(bob)];
    await registered(alice, a);
    await registered(bob, b);
    for (let i = 0; i < 3; i++) expect(await a.request(sendFrame(bob.uid))).toMatchObject({ type: 'result', duplicate: false });

    const refused = await a.request(sendFrame(bob.uid));
    expect(refused).toMatchObject({ type: 'error', code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 60 });
    // Bob's own window is untouched.
    expect(await b.request(sendFrame(alice.uid))).toMatchObject({ type: 'result' });

    clock.t += 60_000;
    for (let i = 0; i < 3; i++) expect(await a.request(sendFrame(bob.uid))).toMatchObject({ type: 'result', duplicate: false });
    expect(await a.request(sendFrame(bob.uid))).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
  });

  it('refuses the connect past connectPerMinute from one address with 401', async () => {
    for (let i = 0; i < 3; i++) await open(makeIdentity());
    await expect(RawSocket.open(connectUrl(stack.url, makeIdentity(), { ts: clock.t }))).rejects.toMatchObject({ status: 401 });

    clock.t += 60_000;
    await open(makeIdentity());
  });
});

describe('a window many take from at once', () => {
  it('lets every take through while the window has room, however the conditional writes race', async () => {
    const decisions = await Promise.all(Array.from({ length: 24 }, () => stack.ports.rateLimiter.take('connect#203.0.113.9', 1000, clock.t)));
    expect(decisions.every((d) => d.allowed)).toBe(true);
  });

  it('still refuses once the window is spent', async () => {
    const decisions = [];
    for (let i = 0; i < 4; i++) decisions.push(await stack.ports.rateLimiter.take('connect#203.0.113.10', 3, clock.t));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false]);
  });
});

describe('a window as one conditional update', () => {
  it('admits exactly the limit out of concurrent takes, never more', async () => {
    const decisions = await Promise.all(Array.from({ length: 8 }, () => stack.ports.rateLimiter.take('send#concurrent', 5, clock.t)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(5);
  });

  it('says when the window ends, and admits again then', async () => {
    const key = 'send#refill';
    for (let i = 0; i < 6; i++) expect(await stack.ports.rateLimiter.take(key, 6, clock.t)).toEqual({ allowed: true });
    expect(await stack.ports.rateLimiter.take(key, 6, clock.t + 10_000)).toEqual({ allowed: false, retryAfterSeconds: 50 });
    expect(await stack.ports.rateLimiter.take(key, 6, clock.t + 59_999)).toMatchObject({ allowed: false });
    expect(await stack.ports.rateLimiter.take(key, 6, clock.t + 60_000)).toEqual({ allowed: true });
  });

  it('takes, and refuses, with one request each: never a read, never a second write', async () => {
    const requests: string[] = [];
    stack.faults.dynamodb = (operation, table) => (table === stack.tables.rateLimits && requests.push(operation), undefined);
    try {
      expect(await stack.ports.rateLimiter.take('send#fast', 2, clock.t)).toEqual({ allowed: true });
      expect(await stack.ports.rateLimiter.take('send#fast', 2, clock.t + 1)).toEqual({ allowed: true });
      expect(await stack.ports.rateLimiter.take('send#fast', 2, clock.t + 2)).toMatchObject({ allowed: false });
      expect(await stack.ports.rateLimiter.take('send#fast', 2, clock.t + 60_000)).toEqual({ allowed: true });
    } finally {
      stack.faults.dynamodb = undefined;
    }
    expect(requests).toEqual(['UpdateItem', 'UpdateItem', 'UpdateItem', 'UpdateItem']);
  });
});
