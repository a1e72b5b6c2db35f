import { startLocalStack, type LocalStack } from '../../local';
import type { PushSubscription } from '../../protocol/push';
import { EbbClient, MemoryStore } from '../../client-sdk/src';
import { WAKE_PAYLOAD, WAKE_TOPIC } from '../../lambdas/adapters/web-push';
import { UNTHROTTLED } from '../support/local-stack';
import { apnsToken, fcmToken } from '../support/push';
import { until } from '../support/sdk';

/**
 * Wake-ups end to end through the local stack: a message to an offline device with a push subscription queues a
 * wake-up (push/core's decision), the in-process queue hands it to the sender, and the local push receiver plays
 * the push service and records exactly what it would see. Subscriptions are stored through the stack's ports, as
 * `push.register` stores them.
 */

const T0 = Math.floor(Date.now() / 1000) * 1000;
const clock = { t: T0, now: () => clock.t };
const APNS = { secretName: 'ebb/apns', keyId: 'ABCDE12345', teamId: 'VWXYZ67890', bundleId: 'org.example.chat', sandbox: false };

let stack: LocalStack;
const clients: EbbClient[] = [];
beforeAll(async () => {
  stack = await startLocalStack({
    port: 0,
    now: clock.now,
    config: { rateLimits: UNTHROTTLED, push: { apns: APNS, fcm: null, vapidSubject: null } },
  });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  stack.pushReceiver.recover();
});
afterAll(() => stack.stop());

async function connected(): Promise<EbbClient> {
  const client = await EbbClient.create({ url: stack.url, store: new MemoryStore(), now: clock.now, timeoutMs: 10_000 });
  clients.push(client);
  await client.connect();
  return client;
}

/** A sender, and a recipient that connected once (so it has keys) and then went offline with `subscription`. */
async function offlineRecipient(subscription: PushSubscription) {
  const [alice, bob] = [await connected(), await connected()];
  const bobDevice = { userId: bob.userId, device: 1 };
  await bob.close();
  await stack.ports.pushTokens.put(bobDevice, subscription, clock.now());
  return { alice, bobDevice };
}

/** Waits until the queue has carried `bodies` wake-ups in all and the sender has handled each. */
async function wakeupsHandled(bodies: number): Promise<void> {
  await until(() => stack.wakeups.bodies.length >= bodies, `${bodies} wake-ups queued`);
  await stack.wakeups.idle();
}

test('GIVEN a device that subscribed with the key status announces and registered through the SDK WHEN it is offline and written to THEN its push service gets one wake-up it can open', async () => {
  const [alice, bob] = [await connected(), await connected()];
  // What a page does: PushManager.subscribe({ applicationServerKey: status.push.vapidPublicKey }), then registerPush.
  expect((await bob.status()).push).toEqual({ vapidPublicKey: stack.vapidPublicKey });
  const subscription = stack.pushReceiver.subscription();
  await bob.registerPush(subscription);
  await bob.close();
  const bodies = stack.wakeups.bodies.length;
  const received = stack.pushReceiver.received.length;
  await alice.send(bob.userId, 'wake up');
  await wakeupsHandled(bodies + 1);
  expect(stack.pushReceiver.received.slice(received)).toEqual([expect.objectContaining({ endpoint: subscription.endpoint, payload: WAKE_PAYLOAD })]);
  expect(stack.pushReceiver.refused).toEqual([]);
});

describe('GIVEN an offline device with a Web Push subscription', () => {
  test('WHEN three messages reach it within a minute THEN the push service gets one wake-up, and the subscription keys open it to the constant payload only', async () => {
    const subscription = stack.pushReceiver.subscription();
    const { alice, bobDevice } = await offlineRecipient(subscription);
    const before = { bodies: stack.wakeups.bodies.length, received: stack.pushReceiver.received.length };
    for (const text of ['meet at 6', 'bring the keys', 'third message']) await alice.send(bobDevice.userId, text);
    await wakeupsHandled(before.bodies + 1);

    const pushes = stack.pushReceiver.received.slice(before.received);
    expect(pushes).toEqual([
      expect.objectContaining({ service: 'web', endpoint: subscription.endpoint, urgency: 'high', topic: WAKE_TOPIC, payload: WAKE_PAYLOAD }),
    ]);
    // What the push service could learn: neither party, nor content, nor how many.
    const seen = JSON.stringify(pushes);
    for (const secret of [alice.userId, bobDevice.userId, 'meet at 6', 'keys', 'third', '"3"']) expect(seen).not.toContain(secret);
    expect(stack.wakeups.failed).toEqual([]);
    expect(stack.pushReceiver.refused).toEqual([]);
  });

  test('WHEN another message comes a minute later THEN a second wake-up goes out', async () => {
    const { alice, bobDevice } = await offlineRecipient(stack.pushReceiver.subscription());
    const bodies = stack.wakeups.bodies.length;
    const received = stack.pushReceiver.received.length;
    await alice.send(bobDevice.userId, 'one');
    await wakeupsHandled(bodies + 1);
    clock.t += 61_000;
    await alice.send(bobDevice.userId, 'two');
    await wakeupsHandled(bodies + 2);
    expect(stack.pushReceiver.received.length - received).toBe(2);
  });

  test('WHEN the push service calls the subscription gone (410) THEN it is removed from the store, and nothing is retried', async () => {
    const subscription = stack.pushReceiver.subscription();
    const { alice, bobDevice } = await offlineRecipient(subscription);
    stack.pushReceiver.expire(subscription.endpoint);
    const bodies = stack.wakeups.bodies.length;
    await alice.send(bobDevice.userId, 'hello?');
    await wakeupsHandled(bodies + 1);
    expect(await stack.ports.pushTokens.get(bobDevice)).toBeUndefined();
    expect(stack.wakeups.failed).toEqual([]);
  });

  test('WHEN the push service keeps failing (503) THEN the wake-up is retried and then lands in the dead-letter queue; the subscription stays', async () => {
    const subscription = stack.pushReceiver.subscription();
    const { alice, bobDevice } = await offlineRecipient(subscription);
    stack.pushReceiver.failWith(subscription.endpoint, 503);
    const bodies = stack.wakeups.bodies.length;
    await alice.send(bobDevice.userId, 'are you there');
    await wakeupsHandled(bodies + 1);
    expect(stack.wakeups.failed).toEqual([JSON.stringify(bobDevice)]);
    expect(await stack.ports.pushTokens.get(bobDevice)).toEqual(subscription);
    stack.wakeups.failed.length = 0;
  });
});

describe('GIVEN an offline device with a native token', () => {
  test('WHEN a message reaches it THEN APNs (through SNS) gets a background push with nothing but content-available', async () => {
    const token = apnsToken();
    const { alice, bobDevice } = await offlineRecipient(token);
    const bodies = stack.wakeups.bodies.length;
    const received = stack.pushReceiver.received.length;
    await alice.send(bobDevice.userId, 'secret plans');
    await wakeupsHandled(bodies + 1);
    expect(stack.pushReceiver.received.slice(received)).toEqual([
      expect.objectContaining({ service: 'apns', token: token.token, message: { aps: { 'content-available': 1 } } }),
    ]);
  });

  test('WHEN its platform (FCM here) is not configured THEN nothing is pushed, nothing retried, the token kept', async () => {
    const token = fcmToken();
    const { alice, bobDevice } = await offlineRecipient(token);
    const bodies = stack.wakeups.bodies.length;
    const received = stack.pushReceiver.received.length;
    await alice.send(bobDevice.userId, 'anyone?');
    await wakeupsHandled(bodies + 1);
    expect(stack.pushReceiver.received.length).toBe(received);
    expect(stack.wakeups.failed).toEqual([]);
    expect(await stack.ports.pushTokens.get(bobDevice)).toEqual(token);
  });

  test('WHEN APNs disabled the token THEN the token is removed', async () => {
    const token = apnsToken();
    const { alice, bobDevice } = await offlineRecipient(token);
    stack.pushReceiver.expire(token.token);
    const bodies = stack.wakeups.bodies.length;
    await alice.send(bobDevice.userId, 'gone?');
    await wakeupsHandled(bodies + 1);
    expect(await stack.ports.pushTokens.get(bobDevice)).toBeUndefined();
  });
});

test('GIVEN a recipient that is connected THEN no wake-up is queued for it', async () => {
  const [alice, bob] = [await connected(), await connected()];
  await stack.ports.pushTokens.put({ userId: bob.userId, device: 1 }, stack.pushReceiver.subscription(), clock.now());
  const bodies = stack.wakeups.bodies.length;
  const got = new Promise((resolve) => bob.on('message', resolve));
  await alice.send(bob.userId, 'online');
  await got;
  await stack.wakeups.idle();
  expect(stack.wakeups.bodies.length).toBe(bodies);
});
