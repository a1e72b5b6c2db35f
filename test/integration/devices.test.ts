/**
 * Linked devices (ARCH §4.6) through the local stack with raw frames: each attack is the frame an attacker
 * would send, and the test checks both the answer and what was stored. Time is the stack's clock.
 */
import nacl from 'tweetnacl';
import { startLocalStack, type LocalStack } from '../../local';
import { DEVICE_CONTEXT, SIGNED_PREKEY_CONTEXT, fromBase64Url, signedKeyMessage, toBase64Url } from '../../protocol';
import { anyCommitment } from '../support/franking';
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
  type TestLinkedDevice,
} from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { RawSocket } from '../support/raw-socket';

let stack: LocalStack;
let now = Date.now();
const sockets: RawSocket[] = [];

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, now: () => now, config: { rateLimits: UNTHROTTLED, maxDevicesPerAccount: 4 } });
});
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
});
afterAll(() => stack.stop());

async function open(id: TestIdentity, options: Parameters<typeof connectUrl>[2] = {}): Promise<RawSocket> {
  const socket = await RawSocket.open(connectUrl(stack.url, id, { ts: now, ...options }));
  sockets.push(socket);
  return socket;
}

/** The HTTP status a connect gets: 101 when it opens. */
const connectStatus = (id: TestIdentity, options: Parameters<typeof connectUrl>[2]) =>
  open(id, options).then(
    () => 101,
    (error: { status?: number }) => error.status ?? 0,
  );

/** A registered account with a signed prekey and one-time prekeys: device 1's socket. */
async function account(): Promise<{ id: TestIdentity; socket: RawSocket }> {
  const id = makeIdentity();
  const socket = await open(id);
  expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result' });
  expect(await socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(id), oneTimePrekeys: oneTimePrekeys(3) })).toMatchObject({
    type: 'result',
  });
  return { id, socket };
}

interface Linked {
  readonly device: number;
  readonly key: TestLinkedDevice;
  readonly as: TestIdentity;
  socket?: RawSocket;
}

/** Device 1 links a new device; with `ready`, the device connects and publishes its signed prekey. */
async function link(owner: { id: TestIdentity; socket: RawSocket }, ready = true): Promise<Linked> {
  const key = makeLinkedDevice(owner.id);
  const added = await owner.socket.request(deviceAddFrame(key, undefined, 'c2VhbGVkIG5hbWU'));
  expect(added).toMatchObject({ type: 'result', device: expect.any(Number) });
  const linked: Linked = { device: added.device as number, key, as: asLinkedDevice(owner.id, key) };
  if (!ready) return linked;
  linked.socket = await open(linked.as, { dev: linked.device, withPk: false });
  const published = await linked.socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(linked.as), oneTimePrekeys: oneTimePrekeys(2) });
  expect(published).toMatchObject({ type: 'result', signedPrekeyId: 1 });
  return linked;
}

const stored = (userId: string) => stack.ports.accounts.get(userId);
const queued = async (userId: string, device: number) => (await stack.ports.queue.page({ userId, device }, null, 100, now)).messages.length;
const copy = (device: number) => ({ device, ciphertext: toBase64Url(nacl.randomBytes(40)), commitment: anyCommitment() });

describe('linking a device', () => {
  it('hands the provision to the new device under its temporary identity, then it connects as itself and becomes ready', async () => {
    const alice = await account();
    const key = makeLinkedDevice(alice.id);
    const waiting = await open(key.tmp);
    expect(await waiting.request({ action: 'link.fetch' })).toMatchObject({ type: 'result', link: null });

    const frame = deviceAddFrame(key, 'add', 'c2VhbGVk');
    const added = await alice.socket.request(frame);
    expect(added).toEqual({ type: 'result', rid: 'add', device: 2 });
    const pushed = await waiting.nextPush();
    expect(pushed).toEqual({ type: 'link', user: alice.id.uid, device: 2, provision: frame.provision });
    expect(await waiting.request({ action: 'link.fetch' })).toMatchObject({ link: { user: alice.id.uid, device: 2, provision: frame.provision } });

    // Pending: it may connect, hello and list devices, but is not in bundles yet.
    const device = asLinkedDevice(alice.id, key);
    const socket = await open(device, { dev: 2, withPk: false });
    expect(await socket.request({ action: 'hello' })).toMatchObject({ userId: alice.id.uid, device: 2, registered: true });
    expect(await socket.request({ action: 'devices.list' })).toMatchObject({
      devices: [
        { device: 1, name: null, ready: true },
        { device: 2, name: 'c2VhbGVk', linkedAt: now, ready: false },
      ],
    });
    const bob = await account();
    expect((await bob.socket.request({ action: 'keys.bundle', user: alice.id.uid })).devices).toHaveLength(1);

    // A signed prekey signed by the account key, not the device's own, is refused and activates nothing.
    const wrong = await socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(alice.id) });
    expect(wrong).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect((await stored(alice.id.uid))?.devices).toEqual([1]);

    expect(await socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(device), oneTimePrekeys: oneTimePrekeys(1) })).toMatchObject({
      type: 'result',
    });
    expect((await stored(alice.id.uid))?.devices).toEqual([1, 2]);
    const bundle = await bob.socket.request({ action: 'keys.bundle', user: alice.id.uid });
    expect(bundle.devices).toEqual([
      expect.objectContaining({ device: 1, signingKey: alice.id.pk, cert: null }),
      expect.objectContaining({ device: 2, signingKey: key.signingKey, cert: key.cert }),
    ]);
    // What senders check: the cert verifies under the account key, the signed prekey under the device's key.
    const [, second] = bundle.devices as { signingKey: string; cert: string; signedPrekey: { publicKey: string; signature: string } }[];
    const accountKey = fromBase64Url(bundle.signingKey as string);
    expect(
      nacl.sign.detached.verify(signedKeyMessage(DEVICE_CONTEXT, fromBase64Url(second!.signingKey)), fromBase64Url(second!.cert), accountKey),
    ).toBe(true);
    expect(
      nacl.sign.detached.verify(
        signedKeyMessage(SIGNED_PREKEY_CONTEXT, fromBase64Url(second!.signedPrekey.publicKey)),
        fromBase64Url(second!.signedPrekey.signature),
        fromBase64Url(second!.signingKey),
      ),
    ).toBe(true);
  });

  it('keeps the link for 10 minutes of the stack clock, and only for its own temporary identity', async () => {
    const alice = await account();
    const key = makeLinkedDevice(alice.id);
    await alice.socket.request(deviceAddFrame(key));
    const other = await open(makeIdentity());
    expect(await other.request({ action: 'link.fetch' })).toMatchObject({ type: 'result', link: null });
    // A registered identity has nothing to be linked to, and never reads another's link.
    expect(await alice.socket.request({ action: 'link.fetch' })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });

    // The clock only moves forward: buckets and nonces remember the times they saw.
    const start = now;
    now = start + 10 * 60_000 - 1000;
    const before = await open(key.tmp);
    expect(await before.request({ action: 'link.fetch' })).toMatchObject({ link: { device: 2 } });
    now = start + 10 * 60_000 + 1000;
    const after = await open(key.tmp);
    expect(await after.request({ action: 'link.fetch' })).toMatchObject({ type: 'result', link: null });
  });
});

describe('attacks on linking', () => {
  it('a stranger cannot add a device to another account: device.add always acts on its own, and a captured cert fails there', async () => {
    const [alice, mallory] = [await account(), await account()];
    const key = makeLinkedDevice(alice.id);
    const reply = await mallory.socket.request(deviceAddFrame(key));
    expect(reply).toMatchObject({ type: 'error', code: 'FORBIDDEN', message: expect.stringContaining('cert') });
    expect((await stored(alice.id.uid))?.linked).toBeUndefined();
    expect((await stored(mallory.id.uid))?.linked).toBeUndefined();
    expect(await stack.ports.links.get(key.tmp.uid, now)).toBeUndefined();
    // Nor remove one: device.remove names a device number of the caller's own account.
    const linked = await link(alice);
    expect(await mallory.socket.request({ action: 'device.remove', device: linked.device })).toMatchObject({ type: 'result', removed: false });
    expect((await stored(alice.id.uid))?.devices).toEqual([1, linked.device]);
  });

  it('refuses a cert that does not verify and stores nothing', async () => {
    const alice = await account();
    const forged = makeLinkedDevice(alice.id, makeIdentity().signing.secretKey);
    expect(await alice.socket.request(deviceAddFrame(forged))).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    const flipped = makeLinkedDevice(alice.id);
    const bytes = fromBase64Url(flipped.cert);
    bytes[0]! ^= 1;
    expect(await alice.socket.request({ ...deviceAddFrame(flipped), cert: toBase64Url(bytes) })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    // The account's own key is not a device key.
    const own = {
      ...deviceAddFrame(flipped),
      signingKey: alice.id.pk,
      cert: toBase64Url(nacl.sign.detached(signedKeyMessage(DEVICE_CONTEXT, alice.id.signing.publicKey), alice.id.signing.secretKey)),
    };
    expect(await alice.socket.request(own)).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    const after = await stored(alice.id.uid);
    expect(after?.linked).toBeUndefined();
    expect(after?.nextDevice).toBeUndefined();
    expect(await stack.ports.links.get(forged.tmp.uid, now)).toBeUndefined();
  });

  it('refuses the same key linked twice (an already-used link code)', async () => {
    const alice = await account();
    const key = makeLinkedDevice(alice.id);
    expect(await alice.socket.request(deviceAddFrame(key))).toMatchObject({ type: 'result', device: 2 });
    expect(await alice.socket.request(deviceAddFrame(key))).toMatchObject({
      type: 'error',
      code: 'CONFLICT',
      reason: 'link-code-used',
      message: expect.stringContaining('already used'),
    });
    expect((await stored(alice.id.uid))?.linked?.map((d) => d.device)).toEqual([2]);
  });

  it('refuses a device past maxDevicesPerAccount and stores nothing for it', async () => {
    const alice = await account();
    for (let i = 0; i < 3; i++) await link(alice, false);
    const extra = makeLinkedDevice(alice.id);
    expect(await alice.socket.request(deviceAddFrame(extra))).toMatchObject({
      type: 'error',
      code: 'CONFLICT',
      reason: 'device-limit',
      message: 'at most 4 devices per account: remove one first',
    });
    const after = await stored(alice.id.uid);
    expect(after?.linked).toHaveLength(3);
    expect(after?.linkedKeys).not.toContain(extra.signingKey);
    expect(await stack.ports.links.get(extra.tmp.uid, now)).toBeUndefined();
  });

  it('a linked device may not link devices, remove another device, remove device 1 or delete the account', async () => {
    const alice = await account();
    const [second, third] = [await link(alice), await link(alice)];
    const socket = second.socket!;
    expect(await socket.request(deviceAddFrame(makeLinkedDevice(alice.id)))).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect(await socket.request({ action: 'device.remove', device: third.device })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect(await socket.request({ action: 'device.remove', device: 1 })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect(await alice.socket.request({ action: 'device.remove', device: 1 })).toMatchObject({
      type: 'error',
      code: 'FORBIDDEN',
      message: 'device 1 holds the account key: delete the account instead',
    });
    expect(await socket.request({ action: 'account.delete' })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect((await stored(alice.id.uid))?.devices).toEqual([1, second.device, third.device]);
  });

  it('a connect signed for another deployment, or with the account key for a linked device number, is refused', async () => {
    const alice = await account();
    const second = await link(alice);
    expect(await connectStatus(second.as, { dev: second.device, withPk: false, host: 'ebb.elsewhere.example' })).toBe(401);
    expect(await connectStatus(alice.id, { dev: second.device, withPk: false })).toBe(401);
    expect(await connectStatus(second.as, { dev: second.device, withPk: true })).toBe(401);
    // A device number never linked.
    expect(await connectStatus(second.as, { dev: 9, withPk: false })).toBe(401);
    expect(await connectStatus(second.as, { dev: second.device, withPk: false })).toBe(101);
  });
});

describe('removing a device', () => {
  it('closes its sockets, refuses its connects and deletes its queue and prekeys, delivering them nowhere else', async () => {
    const [alice, bob] = [await account(), await account()];
    const second = await link(alice);
    const id = messageId();
    expect(await bob.socket.request({ action: 'send', id, to: alice.id.uid, messages: [copy(1), copy(second.device)] })).toMatchObject({
      type: 'result',
      missing: [],
      stale: [],
    });
    expect(await queued(alice.id.uid, second.device)).toBe(1);
    const closed = second.socket!.waitClosed();
    expect(await alice.socket.request({ action: 'device.remove', device: second.device })).toMatchObject({ type: 'result', removed: true });
    await closed;
    // Told why before the close: a browser cannot read why its next upgrade is refused.
    expect(second.socket!.pushes).toContainEqual({ type: 'device.removed', device: second.device });
    expect(await queued(alice.id.uid, second.device)).toBe(0);
    expect(await stack.ports.prekeys.signedPrekey({ userId: alice.id.uid, device: second.device })).toBeUndefined();
    expect(await queued(alice.id.uid, 1)).toBe(1);
    expect(await connectStatus(second.as, { dev: second.device, withPk: false })).toBe(401);
    expect((await stored(alice.id.uid))?.devices).toEqual([1]);
    // Senders holding the old bundle learn it is stale; nothing is written for it.
    const again = await bob.socket.request({ action: 'send', id: messageId(), to: alice.id.uid, messages: [copy(1), copy(second.device)] });
    expect(again).toMatchObject({ type: 'result', stale: [second.device], missing: [] });
    expect(await queued(alice.id.uid, second.device)).toBe(0);
    // A retry after a lost answer.
    expect(await alice.socket.request({ action: 'device.remove', device: second.device })).toMatchObject({ type: 'result', removed: false });
  });

  it('lets a linked device remove itself; its other connections close, its own gets the answer', async () => {
    const alice = await account();
    const second = await link(alice);
    const other = await open(second.as, { dev: second.device, withPk: false });
    const closed = other.waitClosed();
    expect(await second.socket!.request({ action: 'device.remove', device: second.device })).toMatchObject({ type: 'result', removed: true });
    await closed;
    expect(other.pushes).toEqual([{ type: 'device.removed', device: second.device }]);
    // The caller's own connection gets the answer, not the push.
    expect(second.socket!.pushes.filter((p) => p.type === 'device.removed')).toEqual([]);
    expect(await second.socket!.request({ action: 'devices.list' })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
  });

  it('removing a pending device deletes the link left for it', async () => {
    const alice = await account();
    const pending = await link(alice, false);
    expect(await stack.ports.links.get(pending.key.tmp.uid, now)).toBeDefined();
    expect(await alice.socket.request({ action: 'device.remove', device: pending.device })).toMatchObject({ removed: true });
    expect(await stack.ports.links.get(pending.key.tmp.uid, now)).toBeUndefined();
  });
});

describe('sending to several devices', () => {
  it('answers the devices a frame left out and the ones it named that are gone, writing only for current ones', async () => {
    const [alice, bob] = [await account(), await account()];
    const second = await link(alice);
    await link(alice, false); // pending: not a device messages fan out to yet
    const first = await bob.socket.request({ action: 'send', id: messageId(), to: alice.id.uid, messages: [copy(1)] });
    expect(first).toMatchObject({ type: 'result', missing: [second.device], stale: [], duplicate: false });
    const id = messageId();
    const mixed = await bob.socket.request({ action: 'send', id, to: alice.id.uid, messages: [copy(second.device), copy(9)] });
    expect(mixed).toMatchObject({ type: 'result', missing: [1], stale: [9] });
    expect(await queued(alice.id.uid, 9)).toBe(0);
    expect(await queued(alice.id.uid, second.device)).toBe(1);
    // The retry to the missing device under the same id is a new copy there, not a duplicate.
    expect(await bob.socket.request({ action: 'send', id, to: alice.id.uid, messages: [copy(1)] })).toMatchObject({
      duplicate: false,
      missing: [second.device],
    });
    const onlyStale = await bob.socket.request({ action: 'send', id: messageId(), to: alice.id.uid, messages: [copy(7), copy(8)] });
    expect(onlyStale).toMatchObject({ type: 'result', stale: [7, 8], missing: [1, second.device], duplicate: false });
    expect(await queued(alice.id.uid, 7)).toBe(0);
  });

  it("sends to the sender's own other devices, never naming the sending one", async () => {
    const alice = await account();
    const second = await link(alice);
    const own = await alice.socket.request({ action: 'send', id: messageId(), to: alice.id.uid, messages: [copy(1)] });
    expect(own).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(await queued(alice.id.uid, 1)).toBe(0);
    const sync = await alice.socket.request({ action: 'send', id: messageId(), to: alice.id.uid, messages: [copy(second.device)] });
    expect(sync).toMatchObject({ type: 'result', missing: [], stale: [] });
    const pushed = await second.socket!.nextPush();
    expect(pushed).toMatchObject({ type: 'message', from: { user: alice.id.uid, device: 1 } });
    const back = await second.socket!.request({ action: 'send', id: messageId(), to: alice.id.uid, messages: [copy(second.device)] });
    expect(back).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
  });
});

describe('every device of an account', () => {
  it('is refused while the account is suspended', async () => {
    const alice = await account();
    const second = await link(alice);
    await stack.ports.accounts.suspend(alice.id.uid, 'test', now);
    for (const action of ['hello', 'fetch', 'devices.list', 'keys.count']) {
      expect(await second.socket!.request({ action })).toMatchObject({ type: 'error', code: 'ACCOUNT_SUSPENDED' });
    }
    expect(await second.socket!.request({ action: 'device.remove', device: second.device })).toMatchObject({ code: 'ACCOUNT_SUSPENDED' });
    expect(await alice.socket.request(deviceAddFrame(makeLinkedDevice(alice.id)))).toMatchObject({ code: 'ACCOUNT_SUSPENDED' });
  });

  it('is deleted with the account: queues, prekeys, links and connections of ready and pending devices', async () => {
    const [alice, bob] = [await account(), await account()];
    const second = await link(alice);
    const pending = await link(alice, false);
    await bob.socket.request({ action: 'send', id: messageId(), to: alice.id.uid, messages: [copy(1), copy(second.device)] });
    expect(await queued(alice.id.uid, second.device)).toBe(1);
    const closed = second.socket!.waitClosed();
    expect(await alice.socket.request({ action: 'account.delete' })).toMatchObject({ type: 'result', deleted: true });
    await closed;
    for (const device of [1, second.device, pending.device]) {
      expect(await queued(alice.id.uid, device)).toBe(0);
      expect(await stack.ports.prekeys.signedPrekey({ userId: alice.id.uid, device })).toBeUndefined();
      expect(await stack.ports.prekeys.countOneTime({ userId: alice.id.uid, device })).toBe(0);
    }
    expect(await stack.ports.links.get(pending.key.tmp.uid, now)).toBeUndefined();
    expect(await stack.ports.connections.ofUser(alice.id.uid, 0)).toEqual([]);
    expect(await connectStatus(second.as, { dev: second.device, withPk: false })).toBe(401);
  });
});

describe('rate limits on linking', () => {
  let limited: LocalStack;
  beforeAll(async () => {
    limited = await startLocalStack({ port: 0, config: { rateLimits: { ...UNTHROTTLED, registerPerMinute: 2 } } });
  });
  afterAll(() => limited.stop());

  it('device.add takes from its own bucket per account, at the registerPerMinute rate', async () => {
    const id = makeIdentity();
    const socket = await RawSocket.open(connectUrl(limited.url, id));
    sockets.push(socket);
    expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result' });
    expect(await socket.request(deviceAddFrame(makeLinkedDevice(id)))).toMatchObject({ type: 'result' });
    expect(await socket.request(deviceAddFrame(makeLinkedDevice(id)))).toMatchObject({ type: 'result' });
    const refused = makeLinkedDevice(id);
    expect(await socket.request(deviceAddFrame(refused))).toMatchObject({
      type: 'error',
      code: 'RATE_LIMITED',
      retryAfterSeconds: expect.any(Number),
    });
    expect((await limited.ports.accounts.get(id.uid))?.linked).toHaveLength(2);
  });
});

describe('the frame budget on the device routes', () => {
  let budgeted: LocalStack;
  beforeAll(async () => {
    budgeted = await startLocalStack({ port: 0, config: { rateLimits: { ...UNTHROTTLED, framesPerSecond: 1, frameBurst: 5 } } });
  });
  afterAll(() => budgeted.stop());

  it('closes an unregistered connection that floods link.fetch, the route a device being linked polls', async () => {
    const waiting = makeLinkedDevice(makeIdentity()).tmp;
    const socket = await RawSocket.open(connectUrl(budgeted.url, waiting));
    sockets.push(socket);
    for (let i = 0; i < 50 && socket.ws.readyState === socket.ws.OPEN; i++) socket.ws.send(JSON.stringify({ action: 'link.fetch', rid: `l${i}` }));
    await socket.waitClosed(15_000);
    expect(socket.replies.some((r) => r.type === 'error' && r.code === 'RATE_LIMITED')).toBe(true);
    expect(socket.replies.filter((r) => r.type === 'result').length).toBeLessThanOrEqual(6);
  });
});
