import { register } from '../../lambdas/core/accounts';
import { connectionOpened } from '../../lambdas/core/connect';
import { send } from '../../lambdas/core/delivery';
import { serviceStatus } from '../../lambdas/core/phase';
import type { Caller, Logger, Ports } from '../../lambdas/core/ports';
import { endpointRefusal, isP256Point, registerPush, unregisterPush } from '../../lambdas/core/push-subscriptions';
import { Refusal } from '../../lambdas/core/refusal';
import { wakeDevices } from '../../lambdas/core/wakeups';
import { DEFAULT_CONFIG, type EbbConfigInput } from '../../protocol';
import { anyCommitment } from '../support/franking';
import { makeIdentity, messageId, registerFrame, type TestIdentity } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';
import { apnsToken, webPushSubscription } from '../support/push';

/** ARCH §6.13 over memory ports: registration rules, phases and limits, and the wake-up decision after a send. */

const DAY = 86_400_000;

async function registered(world: MemoryWorld, id: TestIdentity = makeIdentity()): Promise<Caller> {
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  return caller;
}

const registerFrameOf = (subscription: unknown) => ({ action: 'push.register' as const, rid: 'p', subscription }) as never;

async function expectRefusal(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toBeInstanceOf(Refusal);
  await expect(promise).rejects.toMatchObject({ code });
}

/** A logger that keeps every line, to see exactly what was written. */
function recordingLogger(): Logger & { lines: { level: string; message: string; fields?: Record<string, unknown> }[] } {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const at = (level: string) => (message: string, fields?: Record<string, unknown>) => void lines.push({ level, message, fields });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

describe('push.register and push.unregister', () => {
  it('refuses registering from read-only on, and still unregisters after shutdown', async () => {
    const start = Date.UTC(2027, 0, 1);
    const config: EbbConfigInput = {
      sunset: { readOnlyAt: new Date(start + DAY).toISOString(), shutdownAt: new Date(start + 2 * DAY).toISOString() },
    };
    const world = memoryWorld(config, start);
    const alice = await registered(world);
    await registerPush(world.ports, alice, registerFrameOf(webPushSubscription()));

    world.clock.t = start + DAY;
    await expectRefusal(registerPush(world.ports, alice, registerFrameOf(apnsToken())), 'SERVICE_READ_ONLY');
    world.clock.t = start + 2 * DAY;
    await expectRefusal(registerPush(world.ports, alice, registerFrameOf(apnsToken())), 'SERVICE_SHUT_DOWN');
    expect(await unregisterPush(world.ports, alice)).toEqual({ removed: true });
    expect(world.pushTokens.items.size).toBe(0);
  });

  it('is rate limited per user at registerPerMinute, and a refused registration stores nothing', async () => {
    const world = memoryWorld({ rateLimits: { registerPerMinute: 2 } });
    const alice = await registered(world);
    const first = webPushSubscription();
    await registerPush(world.ports, alice, registerFrameOf(first));
    await unregisterPush(world.ports, alice);
    await expectRefusal(registerPush(world.ports, alice, registerFrameOf(webPushSubscription())), 'RATE_LIMITED');
    expect(await world.pushTokens.get({ userId: alice.userId, device: 1 })).toBeUndefined();
  });

  it('takes the subscription back when the account went away between the put and the second read', async () => {
    const world = memoryWorld();
    const alice = await registered(world);
    // The account is deleted while the put is in flight.
    const put = world.pushTokens.put.bind(world.pushTokens);
    world.pushTokens.put = async (...args) => {
      const replaced = await put(...args);
      world.accounts.items.delete(alice.userId);
      return replaced;
    };
    await expectRefusal(registerPush(world.ports, alice, registerFrameOf(webPushSubscription())), 'FORBIDDEN');
    expect(world.pushTokens.items.size).toBe(0);
  });

  it('logs the kind of subscription, never its endpoint, keys or token', async () => {
    const world = memoryWorld();
    const logger = recordingLogger();
    const ports: Ports = { ...world.ports, logger };
    const alice = await registered(world);
    const web = webPushSubscription();
    await registerPush(ports, alice, registerFrameOf(web));
    const apns = apnsToken();
    await registerPush(ports, alice, registerFrameOf(apns));
    const written = JSON.stringify(logger.lines);
    for (const secret of [web.endpoint, web.keys.p256dh, web.keys.auth, apns.token]) expect(written).not.toContain(secret);
    expect(logger.lines.map((l) => l.fields?.kind)).toEqual(['web', 'apns']);
  });
});

describe('which endpoints the sender may post to', () => {
  const https = { httpOrigins: [] };
  test.each([
    ['https://fcm.googleapis.com/fcm/send/abc', undefined],
    ['https://updates.push.services.mozilla.com/wpush/v2/abc', undefined],
    ['https://web.push.apple.com/abc', undefined],
    ['http://fcm.googleapis.com/fcm/send/abc', 'must be an https URL'],
    ['https://127.0.0.1/x', 'must name a host, not an address'],
    ['https://0x7f.1/x', 'must name a host, not an address'],
    ['https://[fe80::1]/x', 'must name a host, not an address'],
    ['https://metadata/x', 'must name a public host'],
    ['https://LOCALHOST/x', 'must name a public host'],
    ['https://a.localhost/x', 'must name a public host'],
    ['https://fcm.googleapis.com:444/x', 'must use the default https port'],
    ['https://wns2-by3p.notify.windows.com/w/?token=abc', undefined],
    ['https://notify.windows.com/w/abc', 'must name a push service this deployment posts to (push.webPushHosts)'],
    ['https://push.example.net/x', 'must name a push service this deployment posts to (push.webPushHosts)'],
    ['https://fcm.googleapis.com.evil.example/x', 'must name a push service this deployment posts to (push.webPushHosts)'],
    ['https://evilfcm.googleapis.com/x', 'must name a push service this deployment posts to (push.webPushHosts)'],
  ])('%s → %s', (endpoint, refusal) => {
    expect(endpointRefusal(endpoint, https, DEFAULT_CONFIG.push.webPushHosts)).toBe(refusal);
  });

  it('posts to the hosts a deployment lists instead, and to no other', () => {
    expect(endpointRefusal('https://push.example.net/x', https, ['push.example.net'])).toBeUndefined();
    expect(endpointRefusal('https://fcm.googleapis.com/x', https, ['push.example.net'])).toMatch(/push.webPushHosts/);
    expect(endpointRefusal('https://a.push.example.net/x', https, ['*.push.example.net'])).toBeUndefined();
    expect(endpointRefusal('https://push.example.net/x', https, [])).toMatch(/push.webPushHosts/);
  });

  it('accepts plain http only for a listed origin', () => {
    expect(endpointRefusal('http://127.0.0.1:4000/push/1', { httpOrigins: ['http://127.0.0.1:4000'] }, [])).toBeUndefined();
    expect(endpointRefusal('http://127.0.0.1:4001/push/1', { httpOrigins: ['http://127.0.0.1:4000'] }, [])).toBe('must be an https URL');
  });

  it('takes a p256dh only when it is a point of P-256', () => {
    const point = Buffer.from(webPushSubscription().keys.p256dh, 'base64url');
    expect(isP256Point(point)).toBe(true);
    const offCurve = Buffer.from(point);
    offCurve[64]! ^= 1;
    expect(isP256Point(offCurve)).toBe(false);
    expect(isP256Point(Buffer.concat([Buffer.from([2]), point.subarray(1, 33)]))).toBe(false);
    expect(isP256Point(new Uint8Array(65).fill(0).fill(4, 0, 1))).toBe(false);
  });
});

describe('the wake-up decision', () => {
  let world: MemoryWorld;
  let alice: Caller;
  let bob: Caller;
  beforeEach(async () => {
    world = memoryWorld();
    [alice, bob] = [await registered(world), await registered(world)];
  });
  const sendToBob = () =>
    send(world.ports, alice, {
      action: 'send',
      rid: 'r',
      id: messageId(),
      to: bob.userId,
      messages: [{ device: 1, ciphertext: 'AAAA', commitment: anyCommitment() }],
    });

  it('wakes an offline device with a subscription after the answer, once a minute', async () => {
    await registerPush(world.ports, bob, registerFrameOf(apnsToken()));
    await sendToBob();
    await sendToBob();
    await world.afterAnswer.settled();
    expect(world.wakeups.bodies).toEqual([JSON.stringify({ userId: bob.userId, device: 1 })]);
    world.clock.t += 60_000;
    await sendToBob();
    await world.afterAnswer.settled();
    expect(world.wakeups.bodies).toHaveLength(2);
  });

  it('does not wake a device pushed to, and wakes one whose only connection API Gateway calls gone', async () => {
    await registerPush(world.ports, bob, registerFrameOf(apnsToken()));
    await connectionOpened(world.ports, bob);
    await sendToBob();
    await world.afterAnswer.settled();
    expect(world.wakeups.bodies).toEqual([]);

    world.notifier.gone.add(bob.connectionId);
    await sendToBob();
    await world.afterAnswer.settled();
    expect(world.wakeups.bodies).toEqual([JSON.stringify({ userId: bob.userId, device: 1 })]);
  });

  it('logs a failure as a count, never naming the device or its user', async () => {
    await registerPush(world.ports, bob, registerFrameOf(apnsToken()));
    const logger = recordingLogger();
    const failing = { enqueue: async () => Promise.reject(new Error(`queue refused ${bob.userId}`)) };
    await wakeDevices({ ...world.ports, wakeups: failing, logger }, [{ userId: bob.userId, device: 1 }]);
    expect(logger.lines).toEqual([{ level: 'warn', message: 'wake-ups failed', fields: { failed: 1 } }]);
  });
});

describe('status', () => {
  it('carries no push without Web Push, and the VAPID key with it', () => {
    const world = memoryWorld();
    expect(serviceStatus(world.ports).push).toBeUndefined();
    const key = webPushSubscription().keys.p256dh;
    expect(serviceStatus({ ...world.ports, push: { vapidPublicKey: () => key, httpOrigins: [] } }).push).toEqual({ vapidPublicKey: key });
  });
});
