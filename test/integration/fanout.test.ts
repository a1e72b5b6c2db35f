/**
 * `fanout` (ARCH §6.11) through the local stack with raw frames: one ciphertext, queued once per recipient
 * device with its own franking tag, and every refusal writing nothing. Time is the stack's clock.
 */
import { randomBytes } from 'node:crypto';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import nacl from 'tweetnacl';
import { verifyFrankTag } from '../../lambdas/core/franking';
import { FANOUT_RECIPIENT, Limits, toBase64Url } from '../../protocol';
import { frankCommitment } from '../../lambdas/core/franking';
import { LOCAL_AWS } from '../../local/dynamo';
import { startLocalStack, type LocalStack } from '../../local';
import {
  asLinkedDevice,
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
import { RawSocket } from '../support/raw-socket';

const START = Date.parse('2030-01-01T00:00:00Z');
let now = START;
let stack: LocalStack;
const sockets: RawSocket[] = [];

/** A small queue (2 places for strangers), a copies bucket of one full frame, and a read-only date to move to. */
const CONFIG = {
  rateLimits: { ...UNTHROTTLED, sendCopiesPerMinute: Limits.maxFanoutDevicesPerFrame },
  maxQueueDepth: 4,
  strangerQueuePercent: 50,
  maxCiphertextBytes: 1024,
  sunset: { readOnlyAt: '2031-01-01T00:00:00Z' },
};

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, now: () => now, config: CONFIG });
});
afterEach(async () => {
  now += 61_000;
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});
afterAll(() => stack.stop());

interface Account {
  readonly id: TestIdentity;
  /** Device number → its socket (device 1 and every linked device). */
  readonly sockets: Map<number, RawSocket>;
}

async function open(id: TestIdentity, options: Parameters<typeof connectUrl>[2] = {}): Promise<RawSocket> {
  const socket = await RawSocket.open(connectUrl(stack.url, id, { ts: now, ...options }));
  sockets.push(socket);
  return socket;
}

/** A registered account with `devices` ready devices, each connected. */
async function account(devices = 1): Promise<Account> {
  const id = makeIdentity();
  const first = await open(id);
  expect(await first.request(registerFrame(id))).toMatchObject({ type: 'result' });
  expect(await first.request({ action: 'keys.publish', signedPrekey: signedPrekey(id), oneTimePrekeys: oneTimePrekeys(2) })).toMatchObject({
    type: 'result',
  });
  const all = new Map([[1, first]]);
  for (let i = 1; i < devices; i++) {
    const key = makeLinkedDevice(id);
    const added = await first.request(deviceAddFrame(key, undefined, 'bmFtZQ'));
    const device = added.device as number;
    const socket = await open(asLinkedDevice(id, key), { dev: device, withPk: false });
    expect(await socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(asLinkedDevice(id, key)) })).toMatchObject({ type: 'result' });
    all.set(device, socket);
  }
  return { id, sockets: all };
}

/** An account written straight to the store: a recipient that never connects. */
async function offlineAccount(): Promise<string> {
  const id = makeIdentity();
  await stack.ports.accounts.create({ userId: id.uid, signingKey: 'sk', identityKey: 'ik', identitySig: 'sig', devices: [1], createdAt: now });
  return id.uid;
}

const queue = async (userId: string, device = 1) => (await stack.ports.queue.page({ userId, device }, null, 100, now)).messages;
const queuedIds = async (userId: string, device = 1) => (await queue(userId, device)).map((m) => m.id);

/** A fan-out frame whose commitment opens with `frankKey` to `body`, as a group member's SDK would make it. */
function groupMessage(
  sender: TestIdentity,
  recipients: { user: string; devices: number[]; deliveryToken?: string }[],
  text = 'ebb-canary to the group',
) {
  const id = messageId();
  const frankKey = new Uint8Array(randomBytes(32));
  const body = new TextEncoder().encode(text);
  const commitment = toBase64Url(frankCommitment(frankKey, { from: sender.uid, to: FANOUT_RECIPIENT, id, kind: 'text', body }));
  const frame = { action: 'fanout', id, ciphertext: toBase64Url(nacl.randomBytes(200)), commitment, recipients };
  return { id, frame, frankKey: toBase64Url(frankKey), body: toBase64Url(body) };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('one ciphertext to many devices', () => {
  it('reaches every named device of 3 users and the sender’s other device, each copy with its own tag, pushed live', async () => {
    const [alice, bob, carol, dave] = [await account(2), await account(2), await account(1), await account(3)];
    const named = [
      { user: alice.id.uid, devices: [2] },
      { user: bob.id.uid, devices: [1, 2] },
      { user: carol.id.uid, devices: [1] },
      { user: dave.id.uid, devices: [1, 2, 3] },
    ];
    const { id, frame } = groupMessage(alice.id, named);
    const reply = await alice.sockets.get(1)!.request(frame);
    expect(reply).toEqual({
      type: 'result',
      rid: expect.any(String),
      id,
      sentAt: now,
      expiresAt: expect.any(Number),
      duplicate: false,
      missing: [],
      stale: [],
      full: [],
      unknown: [],
    });

    const key = await stack.frankingKeys.current();
    const tags = new Set<string>();
    for (const { user, devices } of named) {
      for (const device of devices) {
        const [copy, ...more] = await queue(user, device);
        expect(more).toEqual([]);
        expect(copy).toMatchObject({ id, ciphertext: frame.ciphertext, from: { userId: alice.id.uid, device: 1 }, sentAt: now });
        expect(copy!.frank.commitment).toBe(frame.commitment);
        // The tag binds this recipient device: it verifies for it and for no other.
        const delivery = { commitment: frame.commitment, from: { user: alice.id.uid, device: 1 }, sentAt: now, id };
        expect(verifyFrankTag(key, { ...delivery, to: { user, device } }, copy!.frank.tag)).toBe(true);
        expect(verifyFrankTag(key, { ...delivery, to: { user, device: device === 1 ? 2 : 1 } }, copy!.frank.tag)).toBe(false);
        tags.add(copy!.frank.tag);
        const socket = (user === alice.id.uid ? alice : user === bob.id.uid ? bob : user === carol.id.uid ? carol : dave).sockets.get(device)!;
        await until(() => socket.pushes.some((p) => p.type === 'message' && p.id === id), `the push to ${device}`);
      }
    }
    expect(tags.size).toBe(7);
    // The sending device gets nothing.
    expect(await queuedIds(alice.id.uid, 1)).toEqual([]);
  });

  it('lets any recipient report its copy, proving who sent it to whom; a copy shown to another device does not verify', async () => {
    const [alice, bob, carol] = [await account(), await account(2), await account()];
    const message = groupMessage(alice.id, [
      { user: bob.id.uid, devices: [1, 2] },
      { user: carol.id.uid, devices: [1] },
    ]);
    expect(await alice.sockets.get(1)!.request(message.frame)).toMatchObject({ type: 'result', duplicate: false });
    const reportOf = (copy: Awaited<ReturnType<typeof queue>>[number]) => ({
      action: 'report',
      message: { id: copy.id, from: { user: copy.from.userId, device: copy.from.device }, sentAt: copy.sentAt, frank: copy.frank },
      frankKey: message.frankKey,
      content: { kind: 'text', body: message.body },
      reason: 'abuse in the group',
    });
    const [bobsCopy] = await queue(bob.id.uid, 2);
    const [carolsCopy] = await queue(carol.id.uid);

    // Carol presents Bob's copy: its tag names Bob's device, not hers.
    expect(await carol.sockets.get(1)!.request(reportOf(bobsCopy!))).toMatchObject({ type: 'error', code: 'FORBIDDEN' });

    const byBob = await bob.sockets.get(2)!.request(reportOf(bobsCopy!));
    const byCarol = await carol.sockets.get(1)!.request(reportOf(carolsCopy!));
    for (const reply of [byBob, byCarol]) expect(reply).toMatchObject({ type: 'result', duplicate: false });
    expect(byBob.reportId).not.toBe(byCarol.reportId);
  });
});

describe('what the answer reports', () => {
  it('lists unknown users, stale and missing devices, and writes only the named current devices', async () => {
    const [alice, bob, carol] = [await account(), await account(2), await account(3)];
    const nobody = makeIdentity().uid;
    const { id, frame } = groupMessage(alice.id, [
      { user: nobody, devices: [1] },
      { user: bob.id.uid, devices: [1, 2, 5] },
      { user: carol.id.uid, devices: [1] },
    ]);
    expect(await alice.sockets.get(1)!.request(frame)).toMatchObject({
      type: 'result',
      duplicate: false,
      unknown: [nobody],
      stale: [{ user: bob.id.uid, devices: [5] }],
      missing: [{ user: carol.id.uid, devices: [2, 3] }],
      full: [],
    });
    expect(await queuedIds(bob.id.uid, 1)).toEqual([id]);
    expect(await queuedIds(bob.id.uid, 2)).toEqual([id]);
    expect(await queuedIds(bob.id.uid, 5)).toEqual([]);
    expect(await queuedIds(carol.id.uid, 1)).toEqual([id]);
    expect(await queuedIds(carol.id.uid, 2)).toEqual([]);
    expect(await queuedIds(nobody)).toEqual([]);
  });

  it('queues once for a retried id, answering duplicate with the original time', async () => {
    const [alice, bob, carol] = [await account(), await account(), await account()];
    const { id, frame } = groupMessage(alice.id, [
      { user: bob.id.uid, devices: [1] },
      { user: carol.id.uid, devices: [1] },
    ]);
    const first = await alice.sockets.get(1)!.request(frame);
    const sentAt = now;
    now += 5_000;
    const again = await alice.sockets.get(1)!.request(frame);
    expect(again).toMatchObject({ type: 'result', duplicate: true, sentAt, expiresAt: first.expiresAt });
    expect(await queuedIds(bob.id.uid)).toEqual([id]);
    expect(await queuedIds(carol.id.uid)).toEqual([id]);
    // A retry that adds a member queues that member's copy only.
    const dave = await account();
    const widened = { ...frame, recipients: [...frame.recipients, { user: dave.id.uid, devices: [1] }] };
    expect(await alice.sockets.get(1)!.request(widened)).toMatchObject({ type: 'result', duplicate: false });
    expect(await queuedIds(bob.id.uid)).toEqual([id]);
    expect(await queuedIds(dave.id.uid)).toEqual([id]);
  });
});

describe('refusals write nothing', () => {
  it('refuses a frame naming the sending device', async () => {
    const [alice, bob] = [await account(2), await account()];
    const { id, frame } = groupMessage(alice.id, [
      { user: bob.id.uid, devices: [1] },
      { user: alice.id.uid, devices: [1, 2] },
    ]);
    expect(await alice.sockets.get(1)!.request(frame)).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(await queuedIds(bob.id.uid)).not.toContain(id);
    expect(await queuedIds(alice.id.uid, 2)).not.toContain(id);
  });

  it('refuses a ciphertext over maxCiphertextBytes, and a frame over maxFanoutDevicesPerFrame copies', async () => {
    const [alice, bob] = [await account(), await account()];
    const big = groupMessage(alice.id, [{ user: bob.id.uid, devices: [1] }]);
    const tooLarge = { ...big.frame, ciphertext: toBase64Url(nacl.randomBytes(CONFIG.maxCiphertextBytes + 1)) };
    expect(await alice.sockets.get(1)!.request(tooLarge)).toMatchObject({ type: 'error', code: 'PAYLOAD_TOO_LARGE' });

    // 17 users × 16 devices: 272 copies, past the 256 one frame may ask for.
    const many = Array.from({ length: 17 }, (_, i) => ({
      user: i === 0 ? bob.id.uid : makeIdentity().uid,
      devices: Array.from({ length: 16 }, (_, d) => d + 1),
    }));
    const tooMany = groupMessage(alice.id, many);
    const refused = await alice.sockets.get(1)!.request(tooMany.frame);
    expect(refused).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(refused.message).toContain(`at most ${Limits.maxFanoutDevicesPerFrame} devices`);
    // A user named twice.
    const twice = groupMessage(alice.id, [
      { user: bob.id.uid, devices: [1] },
      { user: bob.id.uid, devices: [2] },
    ]);
    expect(await alice.sockets.get(1)!.request(twice.frame)).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(await queuedIds(bob.id.uid)).toEqual([]);
  });

  it('loses a frame over 32 KiB to the gateway, which closes the connection (1009) before any route runs', async () => {
    const [alice, bob] = [await account(), await account()];
    const token = () => toBase64Url(new Uint8Array(randomBytes(32)));
    const recipients = [{ user: bob.id.uid, devices: [1], deliveryToken: token() }];
    for (let i = 1; i < Limits.maxFanoutDevicesPerFrame; i++) recipients.push({ user: makeIdentity().uid, devices: [1], deliveryToken: token() });
    const { id, frame } = groupMessage(alice.id, recipients);
    // 256 recipients with tokens take ~31 KB: any ciphertext over ~1 KB tips the frame over.
    const big = { ...frame, rid: 'big', ciphertext: toBase64Url(nacl.randomBytes(2 * CONFIG.maxCiphertextBytes)) };
    expect(Buffer.byteLength(JSON.stringify(big))).toBeGreaterThan(Limits.maxFrameBytes);
    const socket = alice.sockets.get(1)!;
    socket.ws.send(JSON.stringify(big));
    await until(() => socket.closed !== undefined, 'the close');
    expect(socket.closed?.code).toBe(1009);
    expect(await queuedIds(bob.id.uid)).not.toContain(id);
  });

  it('refuses a suspended sender', async () => {
    const [alice, bob] = [await account(), await account()];
    await stack.ports.accounts.suspend(alice.id.uid, 'spam', now);
    const socket = await open(alice.id);
    const { id, frame } = groupMessage(alice.id, [{ user: bob.id.uid, devices: [1] }]);
    expect(await socket.request(frame)).toMatchObject({ type: 'error', code: 'ACCOUNT_SUSPENDED' });
    expect(await queuedIds(bob.id.uid)).not.toContain(id);
  });

  it('charges devices of unknown users too: one frame cannot probe 256 user ids for one send token', async () => {
    const [alice, bob] = [await account(), await account()];
    const strangers = Array.from({ length: Limits.maxFanoutDevicesPerFrame }, () => ({ user: makeIdentity().uid, devices: [1] }));
    const probe = groupMessage(alice.id, strangers);
    const answer = await alice.sockets.get(1)!.request(probe.frame, 30_000);
    expect(answer).toMatchObject({ type: 'result', duplicate: false, full: [], missing: [], stale: [] });
    expect(answer.unknown).toHaveLength(Limits.maxFanoutDevicesPerFrame);
    const next = groupMessage(alice.id, [{ user: bob.id.uid, devices: [1] }]);
    expect(await alice.sockets.get(1)!.request(next.frame)).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    expect(await queuedIds(bob.id.uid)).toEqual([]);
    // Hundreds of devices a frame: generous on a loaded CI machine.
  }, 120_000);

  it('charges one copy per device to sendCopiesPerMinute: past it RATE_LIMITED with a retry hint, and nothing written', async () => {
    const alice = await account();
    const recipients = await Promise.all(Array.from({ length: 200 }, () => offlineAccount()));
    const first = groupMessage(
      alice.id,
      recipients.map((user) => ({ user, devices: [1] })),
    );
    expect(await alice.sockets.get(1)!.request(first.frame, 30_000)).toMatchObject({ type: 'result', duplicate: false });
    // 200 of 256 spent: 100 more do not fit, though the frame count (one `send` token) is far from its limit.
    const second = groupMessage(
      alice.id,
      recipients.slice(0, 100).map((user) => ({ user, devices: [1] })),
    );
    const refused = await alice.sockets.get(1)!.request(second.frame, 30_000);
    expect(refused).toMatchObject({ type: 'error', code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    for (const user of recipients.slice(0, 100)) expect(await queuedIds(user)).toEqual([first.id]);
    // 50 still fit.
    const third = groupMessage(
      alice.id,
      recipients.slice(150).map((user) => ({ user, devices: [1] })),
    );
    expect(await alice.sockets.get(1)!.request(third.frame, 30_000)).toMatchObject({ type: 'result' });
    // In the next minute's window, the refused frame goes through.
    now += 60_000;
    const again = await open(alice.id);
    expect(await again.request(second.frame, 30_000)).toMatchObject({ type: 'result', duplicate: false });
    // `first` and `third` share a millisecond, so their order in the queue is by id.
    expect((await queuedIds(recipients[0]!)).sort()).toEqual([first.id, second.id].sort());
    expect((await queuedIds(recipients[150]!)).sort()).toEqual([first.id, third.id].sort());
    // Hundreds of devices a frame: generous on a loaded CI machine.
  }, 120_000);
});

describe('the strangers’ share, per recipient device', () => {
  it('counts a copy without the recipient’s token in that recipient’s strangers’ share, and reports a full one without holding back the rest', async () => {
    const [alice, bob, carol] = [await account(), await account(), await account()];
    const token = toBase64Url(new Uint8Array(randomBytes(32)));
    expect(await bob.sockets.get(1)!.request({ action: 'deliveryToken.set', token })).toMatchObject({ type: 'result' });
    const to = [
      { user: bob.id.uid, devices: [1], deliveryToken: token },
      { user: carol.id.uid, devices: [1] },
    ];
    const sent: string[] = [];
    for (let i = 0; i < 2; i++) {
      const { id, frame } = groupMessage(alice.id, to);
      expect(await alice.sockets.get(1)!.request(frame)).toMatchObject({ type: 'result', full: [] });
      sent.push(id);
    }
    // Carol's strangers' share (2 of 4) is full: her copy is refused; Bob's, a contact's, is queued.
    const third = groupMessage(alice.id, to);
    expect(await alice.sockets.get(1)!.request(third.frame)).toMatchObject({
      type: 'result',
      duplicate: false,
      full: [{ user: carol.id.uid, devices: [1] }],
    });
    // All three share a millisecond, so the queue orders them by id.
    expect((await queuedIds(bob.id.uid)).sort()).toEqual([...sent, third.id].sort());
    expect((await queuedIds(carol.id.uid)).sort()).toEqual(sent.sort());
  });
});

describe('what the server keeps', () => {
  it('holds no item naming more than one recipient after a fan-out: each copy is in its own device’s queue', async () => {
    const [alice, bob, carol, dave] = [await account(), await account(2), await account(), await account()];
    const recipients = [bob, carol, dave].map((a) => a.id.uid);
    const { id, frame } = groupMessage(
      alice.id,
      [
        { user: bob.id.uid, devices: [1, 2] },
        { user: carol.id.uid, devices: [1] },
        { user: dave.id.uid, devices: [1] },
      ],
      'ebb-canary group secret',
    );
    expect(await alice.sockets.get(1)!.request(frame)).toMatchObject({ type: 'result', duplicate: false });

    const db = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, ...LOCAL_AWS });
    try {
      let copies = 0;
      for (const [table, name] of Object.entries(stack.tables)) {
        const items = (await db.send(new ScanCommand({ TableName: name, ConsistentRead: true }))).Items ?? [];
        for (const item of items) {
          const text = JSON.stringify(item);
          const named = recipients.filter((uid) => text.includes(uid));
          expect({ table, named: named.length }).toEqual({ table, named: Math.min(named.length, 1) });
          // Queue items keep the ciphertext as bytes.
          if (item.ct?.B && Buffer.from(item.ct.B).toString('base64url') === frame.ciphertext) copies++;
          expect(text).not.toContain('group secret');
        }
      }
      // The ciphertext is stored once per recipient device, and nowhere else.
      expect(copies).toBe(4);
      expect(await queuedIds(bob.id.uid, 2)).toEqual([id]);
    } finally {
      db.destroy();
    }
  });
});

// Last: the clock does not come back from the read-only phase.
describe('the sunset', () => {
  it('refuses in the read-only phase', async () => {
    const [alice, bob] = [await account(), await account()];
    now = Date.parse(CONFIG.sunset.readOnlyAt) + 1000;
    const socket = await open(alice.id);
    const { id, frame } = groupMessage(alice.id, [{ user: bob.id.uid, devices: [1] }]);
    expect(await socket.request(frame)).toMatchObject({ type: 'error', code: 'SERVICE_READ_ONLY' });
    expect(await queuedIds(bob.id.uid)).not.toContain(id);
  });
});
