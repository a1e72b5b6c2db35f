import { randomBytes } from 'node:crypto';
import { EbbClient, EbbError, MemoryStore } from '../../client-sdk/src';
import type { MemoryWakeups } from '../../lambdas/adapters/memory';
import type { DeviceAddress, Wakeups } from '../../lambdas/core/ports';
import { WAKEUP_EVERY_MS } from '../../lambdas/core/wakeups';
import { Limits } from '../../protocol';
import { ManualClock } from '../support/matrix-world';
import { anyCommitment } from '../support/franking';
import { connectUrl, makeIdentity, messageId, registerFrame, type TestIdentity } from '../support/identity';
import { sdkSuite } from '../support/local-stack';
import { apnsToken, fcmToken, webPushSubscription } from '../support/push';
import { RawSocket } from '../support/raw-socket';
import { codeOf, until } from '../support/sdk';

/**
 * Issue #17 §1 and §2 through the local stack: devices register push subscriptions, and a copy queued for a
 * device with no live connection queues one wake-up naming only that device, at most one a minute, never for a
 * connected device or one without a subscription, and never on the path of the send's answer (ARCH §6.13).
 */

/** The VAPID public key the stack announces: any 65-byte uncompressed point's encoding will do here. */
const VAPID_PUBLIC_KEY = webPushSubscription().keys.p256dh;
/** The local receiver's origin, the only plain-http one the stack accepts. */
const RECEIVER_ORIGIN = 'http://127.0.0.1:9';

/** Wraps the in-process queue: passes through, or holds each enqueue until released, or fails it. */
class SwitchableWakeups implements Wakeups {
  mode: 'pass' | 'hold' | 'fail' = 'pass';
  private held: (() => void)[] = [];
  constructor(private readonly queue: MemoryWakeups) {}
  async enqueue(device: DeviceAddress): Promise<void> {
    if (this.mode === 'fail') throw Object.assign(new Error('queue unavailable'), { name: 'QueueDoesNotExist' });
    if (this.mode === 'hold') await new Promise<void>((resolve) => this.held.push(resolve));
    await this.queue.enqueue(device);
  }
  /** Enqueues being held now. */
  get holding(): number {
    return this.held.length;
  }
  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}

const clock = new ManualClock();
let switchable: SwitchableWakeups | undefined;
const env = sdkSuite(
  {
    now: clock.now,
    push: { vapidPublicKey: () => VAPID_PUBLIC_KEY, httpOrigins: [RECEIVER_ORIGIN] },
    wakeups: (queue) => (switchable = new SwitchableWakeups(queue)),
  },
  { now: clock.now },
);

afterEach(() => {
  switchable!.mode = 'pass';
  switchable!.release();
});

/** The wake-up bodies queued for `userId` so far, once every route invocation (and its after-answer work) is done. */
async function wakeupsOf(userId: string): Promise<string[]> {
  await env.stack.gateway.idle();
  return env.stack.wakeups.bodies.filter((body) => (JSON.parse(body) as { userId: string }).userId === userId);
}

const bodyFor = (userId: string, device: number) => `{"userId":"${userId}","device":${device}}`;

/** A second device of `phone`'s account, linked and connected. */
async function link(phone: EbbClient): Promise<EbbClient> {
  const device = await env.client(new MemoryStore());
  const { code, linked } = await device.startLink();
  await phone.approveLink(code, { name: 'tablet' });
  await linked;
  await device.connect();
  return device;
}

/** A registered identity on a raw socket, to send exactly the frames a test needs. */
async function rawRegistered(): Promise<{ id: TestIdentity; socket: RawSocket }> {
  const id = makeIdentity();
  const socket = await RawSocket.open(connectUrl(env.stack.url, id, { ts: clock.now() }));
  expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result', created: true });
  return { id, socket };
}

describe('push wake-ups through the local stack', () => {
  test('status carries the VAPID public key devices subscribe with', async () => {
    const alice = await env.connected();
    expect((await alice.status()).push).toEqual({ vapidPublicKey: VAPID_PUBLIC_KEY });
  });

  test('an offline device with a subscription gets exactly one wake-up per minute of traffic, naming the device and nothing else', async () => {
    const [alice, bob] = await Promise.all([env.connected(), env.connected()]);
    await bob.registerPush(webPushSubscription());
    await bob.close();

    for (let i = 0; i < 5; i++) await alice.send(bob.userId, `first minute ${i}`);
    expect(await wakeupsOf(bob.userId)).toEqual([bodyFor(bob.userId, 1)]);
    const [body] = await wakeupsOf(bob.userId);
    expect(Object.keys(JSON.parse(body!) as object)).toEqual(['userId', 'device']);

    // Still within the minute: the flood stays one wake-up.
    clock.advance(WAKEUP_EVERY_MS - 1_000);
    for (let i = 0; i < 3; i++) await alice.send(bob.userId, `same minute ${i}`);
    expect(await wakeupsOf(bob.userId)).toHaveLength(1);

    // A minute after the first: the next message wakes it again, once.
    clock.advance(1_000);
    await alice.send(bob.userId, 'next minute');
    await alice.send(bob.userId, 'next minute again');
    expect(await wakeupsOf(bob.userId)).toEqual([bodyFor(bob.userId, 1), bodyFor(bob.userId, 1)]);
    // The sender, connected and the one sending, is never woken.
    expect(await wakeupsOf(alice.userId)).toEqual([]);
    // Every message waits in the queue for the device to connect.
    expect((await env.stack.ports.queue.page({ userId: bob.userId, device: 1 }, null, 100, clock.now())).messages).toHaveLength(10);
  });

  test('a connected device is pushed to and never woken, even with a subscription', async () => {
    const [alice, carol] = await Promise.all([env.connected(), env.connected()]);
    await carol.registerPush(apnsToken());
    const received: string[] = [];
    carol.on('message', (m) => received.push(m.text ?? ''));
    for (let i = 0; i < 3; i++) await alice.send(carol.userId, `hi ${i}`);
    await env.stack.gateway.idle();
    expect(received).toHaveLength(3);
    expect(await wakeupsOf(carol.userId)).toEqual([]);
  });

  test('an offline device without a subscription is not woken, and no queue message is spent on it', async () => {
    const [alice, dave] = await Promise.all([env.connected(), env.connected()]);
    await dave.close();
    const before = env.stack.wakeups.bodies.length;
    await alice.send(dave.userId, 'no one to wake');
    expect(await wakeupsOf(dave.userId)).toEqual([]);
    expect(env.stack.wakeups.bodies).toHaveLength(before);
  });

  test('an unregistered device is no longer woken', async () => {
    const [alice, erin] = await Promise.all([env.connected(), env.connected()]);
    await erin.registerPush(fcmToken());
    expect(await erin.unregisterPush()).toBe(true);
    expect(await erin.unregisterPush()).toBe(false);
    await erin.close();
    await alice.send(erin.userId, 'quiet');
    expect(await wakeupsOf(erin.userId)).toEqual([]);
  });

  test('a linked device offline gets its own wake-up; the connected sending device none', async () => {
    const [alice, phone] = await Promise.all([env.connected(), env.connected()]);
    const tablet = await link(phone);
    await phone.registerPush(webPushSubscription());
    await tablet.registerPush(webPushSubscription());
    await tablet.close();

    await alice.send(phone.userId, 'to both devices');
    expect(await wakeupsOf(phone.userId)).toEqual([bodyFor(phone.userId, 2)]);

    // The phone's own send: its `sent` copy goes to the tablet, which is woken (a minute on); the phone, the
    // sending device, has no copy and no wake-up.
    clock.advance(WAKEUP_EVERY_MS);
    await phone.send(alice.userId, 'from the phone');
    expect(await wakeupsOf(phone.userId)).toEqual([bodyFor(phone.userId, 2), bodyFor(phone.userId, 2)]);
  });

  test('a fan-out wakes each offline recipient device with a subscription, and no connected one', async () => {
    const [bob, carol] = await Promise.all([env.connected(), env.connected()]);
    await Promise.all([bob.registerPush(webPushSubscription()), carol.registerPush(fcmToken())]);
    await bob.close();
    const { socket } = await rawRegistered();
    const fanout = (id: string) => ({
      action: 'fanout',
      id,
      ciphertext: 'AAAA',
      commitment: anyCommitment(),
      recipients: [
        { user: bob.userId, devices: [1] },
        { user: carol.userId, devices: [1] },
      ],
    });
    expect(await socket.request(fanout(messageId()))).toMatchObject({ type: 'result', full: [], stale: [] });
    expect(await socket.request(fanout(messageId()))).toMatchObject({ type: 'result' });
    expect(await wakeupsOf(bob.userId)).toEqual([bodyFor(bob.userId, 1)]);
    expect(await wakeupsOf(carol.userId)).toEqual([]);
    await socket.close();
  });

  test("send's answer does not wait for the enqueue, and an enqueue that fails fails nothing", async () => {
    const [alice, bob] = await Promise.all([env.connected(), env.connected()]);
    await bob.registerPush(webPushSubscription());
    await bob.close();

    // GIVEN a queue that holds every enqueue until released
    switchable!.mode = 'hold';
    // THEN the send still answers, and the message is queued, while its wake-up waits
    const held = await alice.send(bob.userId, 'answered first');
    expect(held.id).toEqual(expect.any(String));
    expect(env.stack.wakeups.bodies.filter((b) => b.includes(bob.userId))).toEqual([]);
    await until(() => switchable!.holding > 0, 'the wake-up to reach the queue');
    switchable!.release();
    expect(await wakeupsOf(bob.userId)).toEqual([bodyFor(bob.userId, 1)]);

    // GIVEN a queue that refuses every message, a minute on
    switchable!.mode = 'fail';
    clock.advance(WAKEUP_EVERY_MS);
    // THEN sends succeed, and the messages wait in the queue
    await alice.send(bob.userId, 'queue down');
    await alice.send(bob.userId, 'queue still down');
    expect(await wakeupsOf(bob.userId)).toHaveLength(1);
    const queued = await env.stack.ports.queue.page({ userId: bob.userId, device: 1 }, null, 100, clock.now());
    expect(queued.messages).toHaveLength(3);

    // A minute after the lost one, with the queue back, the device is woken again.
    switchable!.mode = 'pass';
    clock.advance(WAKEUP_EVERY_MS);
    await alice.send(bob.userId, 'queue back');
    expect(await wakeupsOf(bob.userId)).toHaveLength(2);
  });

  test('a malformed subscription or token is refused BAD_REQUEST and nothing is stored', async () => {
    const { id, socket } = await rawRegistered();
    const good = webPushSubscription();
    const offCurve = Buffer.concat([Buffer.from([4]), randomBytes(64)]).toString('base64url');
    const compressed = Buffer.concat([Buffer.from([2]), randomBytes(32)]).toString('base64url');
    const bad: Record<string, unknown>[] = [
      { ...good, endpoint: 'http://push.example.net/w/1' },
      { ...good, endpoint: 'http://127.0.0.1:10/w/1' },
      { ...good, endpoint: 'ftp://push.example.net/w/1' },
      { ...good, endpoint: 'https://10.0.0.7/w/1' },
      { ...good, endpoint: 'https://[::1]/w/1' },
      { ...good, endpoint: 'https://localhost/w/1' },
      { ...good, endpoint: 'https://push/w/1' },
      { ...good, endpoint: 'https://push.example.net:8443/w/1' },
      { ...good, endpoint: 'https://user:pw@push.example.net/w/1' },
      { ...good, endpoint: 'https://push.example.net/w/1#x' },
      { ...good, endpoint: `https://push.example.net/${'a'.repeat(Limits.maxPushEndpointChars)}` },
      { ...good, endpoint: 'not a url' },
      { ...good, keys: { ...good.keys, p256dh: offCurve } },
      { ...good, keys: { ...good.keys, p256dh: compressed } },
      { ...good, keys: { ...good.keys, auth: randomBytes(15).toString('base64url') } },
      { ...good, keys: { ...good.keys, auth: `${good.keys.auth}==` } },
      { endpoint: good.endpoint },
      { platform: 'apns', token: 'zz'.repeat(32) },
      { platform: 'apns', token: 'ab'.repeat(8) },
      { platform: 'fcm', token: `${'a'.repeat(40)}<script>` },
      { platform: 'fcm', token: 'a'.repeat(Limits.maxPushTokenChars + 1) },
      { platform: 'wns', token: 'a'.repeat(64) },
      { platform: 'apns' },
      {},
    ];
    for (const subscription of bad) {
      const reply = await socket.request({ action: 'push.register', subscription });
      expect({ subscription, reply }).toMatchObject({ subscription, reply: { type: 'error', code: 'BAD_REQUEST' } });
      expect(await env.stack.ports.pushTokens.get({ userId: id.uid, device: 1 })).toBeUndefined();
    }
    // The local receiver's own http origin is the one plain-http endpoint accepted.
    const local = { ...good, endpoint: `${RECEIVER_ORIGIN}/push/1` };
    expect(await socket.request({ action: 'push.register', subscription: local })).toMatchObject({ type: 'result', replaced: false });
    expect(await env.stack.ports.pushTokens.get({ userId: id.uid, device: 1 })).toEqual(local);
    await socket.close();
  });

  test('the SDK refuses a malformed subscription before sending it, and passes on what the service refuses', async () => {
    const alice = await env.connected();
    const good = webPushSubscription();
    const bad = { ...good, keys: { p256dh: good.keys.p256dh } };
    expect(await codeOf(alice.registerPush(bad))).toBe('BAD_REQUEST');
    // A shape the wire accepts but the service does not post to.
    const error = await alice.registerPush({ ...good, endpoint: 'https://192.168.1.1/w' }).catch((e: unknown) => e);
    expect(EbbError.is(error, 'BAD_REQUEST')).toBe(true);
    expect((error as EbbError).message).toMatch(/subscription\.endpoint/);
    expect(await env.stack.ports.pushTokens.get({ userId: alice.userId, device: 1 })).toBeUndefined();
    // A live subscription object (with toJSON) and padded keys are taken as browsers give them.
    const padded = { ...good, keys: { p256dh: `${good.keys.p256dh}=`, auth: `${good.keys.auth}==` }, expirationTime: null };
    await alice.registerPush({ toJSON: () => padded });
    expect(await env.stack.ports.pushTokens.get({ userId: alice.userId, device: 1 })).toEqual(good);
  });

  test("a stranger's frame naming another account's device subscribes only the stranger's own device", async () => {
    const victim = await env.connected();
    const victimPush = webPushSubscription();
    await victim.registerPush(victimPush);
    const { id, socket } = await rawRegistered();
    const theirs = webPushSubscription();
    const frame = { action: 'push.register', subscription: theirs, user: victim.userId, userId: victim.userId, device: 1 };
    expect(await socket.request(frame)).toMatchObject({ type: 'result', replaced: false });
    expect(await socket.request({ action: 'push.unregister', userId: victim.userId, device: 1 })).toMatchObject({ type: 'result', removed: true });
    expect(await env.stack.ports.pushTokens.get({ userId: victim.userId, device: 1 })).toEqual(victimPush);
    expect(await env.stack.ports.pushTokens.get({ userId: id.uid, device: 1 })).toBeUndefined();
    // An identity with no account cannot register at all.
    const stranger = makeIdentity();
    const unregistered = await RawSocket.open(connectUrl(env.stack.url, stranger, { ts: clock.now() }));
    expect(await unregistered.request({ action: 'push.register', subscription: webPushSubscription() })).toMatchObject({ code: 'FORBIDDEN' });
    expect(await env.stack.ports.pushTokens.get({ userId: stranger.uid, device: 1 })).toBeUndefined();
    await Promise.all([socket.close(), unregistered.close()]);
  });

  test("a removed device's subscription is gone, and it is not woken", async () => {
    const [alice, phone] = await Promise.all([env.connected(), env.connected()]);
    const tablet = await link(phone);
    await tablet.registerPush(webPushSubscription());
    const tabletDevice = (await tablet.devices()).find((d) => d.current)!.device;
    expect(await phone.removeDevice(tabletDevice)).toBe(true);
    expect(await env.stack.ports.pushTokens.get({ userId: phone.userId, device: tabletDevice })).toBeUndefined();
    await alice.send(phone.userId, 'after the removal');
    expect(await wakeupsOf(phone.userId)).toEqual([]);
  });

  test('account deletion removes the subscriptions of every device', async () => {
    const phone = await env.connected();
    const tablet = await link(phone);
    await phone.registerPush(webPushSubscription());
    await tablet.registerPush(apnsToken());
    await tablet.close();
    await phone.deleteAccount();
    expect(await env.stack.ports.pushTokens.removeAll(phone.userId)).toBe(0);
  });
});
