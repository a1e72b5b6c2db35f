import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { register } from '../../lambdas/core/accounts';
import { deleteAccount } from '../../lambdas/core/account-deletion';
import { authorizeConnect, connectionOpened } from '../../lambdas/core/connect';
import { send } from '../../lambdas/core/delivery';
import { addDevice, fetchLink, listDevices, removeDevice } from '../../lambdas/core/devices';
import { fanout } from '../../lambdas/core/fanout';
import { prekeyBundle, publishPrekeys } from '../../lambdas/core/prekeys';
import type { Caller } from '../../lambdas/core/ports';
import { Refusal } from '../../lambdas/core/refusal';
import { anyCommitment } from '../support/franking';
import {
  asLinkedDevice,
  connectParams,
  deviceAddFrame,
  makeIdentity,
  makeLinkedDevice,
  messageId,
  oneTimePrekeys,
  registerFrame,
  signedPrekey,
  TEST_HOST,
  type TestIdentity,
} from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';

/** Linked devices (ARCH §4.6) in the core, over the memory adapters. */

let world: MemoryWorld;
let alice: TestIdentity;
let device1: Caller;

async function registered(id: TestIdentity): Promise<Caller> {
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  await publishPrekeys(world.ports, caller, { action: 'keys.publish', rid: 'p', signedPrekey: signedPrekey(id), oneTimePrekeys: oneTimePrekeys(2) });
  return caller;
}

/** Links a device to alice; with `ready`, it publishes its signed prekey. */
async function linked(ready = true): Promise<{ caller: Caller; as: TestIdentity }> {
  const key = makeLinkedDevice(alice);
  const { device } = await addDevice(world.ports, device1, deviceAddFrame(key) as never);
  const as = asLinkedDevice(alice, key);
  const caller = callerOf(as, `c-linked-${device}`, device);
  if (ready)
    await publishPrekeys(world.ports, caller, {
      action: 'keys.publish',
      rid: 'p',
      signedPrekey: signedPrekey(as),
      oneTimePrekeys: oneTimePrekeys(2),
    });
  return { caller, as };
}

const copy = (device: number) => ({ device, ciphertext: toBase64Url(nacl.randomBytes(32)), commitment: anyCommitment() });

async function expectRefusal(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toBeInstanceOf(Refusal);
  await expect(promise).rejects.toMatchObject({ code });
}

beforeEach(async () => {
  world = memoryWorld();
  alice = makeIdentity();
  device1 = await registered(alice);
});

describe('the authorizer and linked devices', () => {
  const decide = (id: TestIdentity, dev: number, withPk: boolean) => {
    const params = connectParams(id, { dev, ts: world.clock.t, withPk });
    const query = Object.fromEntries(Object.entries(params).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]])));
    return authorizeConnect(world.ports, { query, host: TEST_HOST });
  };

  it("verifies a linked device's connect with its own key, and hands that key to the routes", async () => {
    const { caller, as } = await linked(false);
    expect(await decide(as, caller.device, false)).toEqual({
      allow: true,
      context: { uid: alice.uid, dev: String(caller.device), signingKey: as.pk },
    });
    // Signed by the account key, by another key, or with `pk`: refused.
    expect(await decide(alice, caller.device, false)).toMatchObject({ allow: false, reason: 'bad signature' });
    expect(await decide(asLinkedDevice(alice, makeLinkedDevice(alice)), caller.device, false)).toMatchObject({
      allow: false,
      reason: 'bad signature',
    });
    expect(await decide(as, caller.device, true)).toMatchObject({ allow: false, reason: 'pk for a linked device' });
    expect(await decide(as, caller.device + 1, false)).toMatchObject({ allow: false, reason: 'unknown device' });
  });
});

describe('account deletion and a device linked meanwhile', () => {
  it("deletes the queue and prekeys of a device linked after deletion's first read", async () => {
    const late = makeLinkedDevice(alice);
    const lateAs = asLinkedDevice(alice, late);
    const closeAccount = world.usernames.closeAccount.bind(world.usernames);
    // The race: device.add lands between deletion's read of the account and its mark.
    world.usernames.closeAccount = async (userId: string) => {
      const { device } = await addDevice(world.ports, device1, deviceAddFrame(late) as never);
      await publishPrekeys(world.ports, callerOf(lateAs, 'c-late', device), {
        action: 'keys.publish',
        rid: 'p',
        signedPrekey: signedPrekey(lateAs),
        oneTimePrekeys: oneTimePrekeys(3),
      });
      return closeAccount(userId);
    };
    await deleteAccount(world.ports, device1);
    expect(await world.accounts.get(alice.uid)).toBeUndefined();
    expect(await world.prekeys.countOneTime({ userId: alice.uid, device: 2 })).toBe(0);
    expect(await world.prekeys.signedPrekey({ userId: alice.uid, device: 2 })).toBeUndefined();
    expect(await world.links.get(late.tmp.uid, world.clock.t)).toBeUndefined();
  });
});

describe('a removal racing a write for the removed device', () => {
  const remove = (device: number) => removeDevice(world.ports, device1, { action: 'device.remove', rid: 'r', device });

  it('keys.publish that read the account before the removal takes its prekeys back', async () => {
    const { caller, as } = await linked();
    const owner = { userId: alice.uid, device: caller.device };
    const put = world.prekeys.putOneTimePrekeys.bind(world.prekeys);
    // The race: the removal lands between the publish's read of the account and its writes.
    world.prekeys.putOneTimePrekeys = async (...args) => {
      await remove(caller.device);
      return put(...args);
    };
    const publish = publishPrekeys(world.ports, caller, {
      action: 'keys.publish',
      rid: 'p',
      signedPrekey: signedPrekey(as),
      oneTimePrekeys: oneTimePrekeys(3),
    });
    await expectRefusal(publish, 'FORBIDDEN');
    expect(await world.prekeys.countOneTime(owner)).toBe(0);
    expect(await world.prekeys.signedPrekey(owner)).toBeUndefined();
  });

  /** Alice's linked device, and the race: its removal lands between a send's read of the account and its write. */
  async function removedWhileWriting(): Promise<number> {
    const { caller } = await linked();
    const put = world.queue.put.bind(world.queue);
    world.queue.put = async (message) => {
      if (message.recipient.device === caller.device) await remove(caller.device);
      return put(message);
    };
    return caller.device;
  }

  async function expectOnlyDevice1Queued(device: number): Promise<void> {
    expect((await world.queue.page({ userId: alice.uid, device }, null, 10, world.clock.t)).messages).toEqual([]);
    expect((await world.queue.page({ userId: alice.uid, device: 1 }, null, 10, world.clock.t)).messages).toHaveLength(1);
  }

  it('a send that read the account before the removal takes its copy for the removed device back, and names it stale', async () => {
    const bob = await registered(makeIdentity());
    const device = await removedWhileWriting();
    const answer = await send(world.ports, bob, { action: 'send', rid: 's', id: messageId(), to: alice.uid, messages: [copy(1), copy(device)] });
    expect(answer).toMatchObject({ stale: [device], missing: [] });
    await expectOnlyDevice1Queued(device);
  });

  /** Message frames pushed to `connectionId` (not `device.removed`). */
  const messagesPushedTo = (connectionId: string) =>
    world.notifier.pushes.filter((p) => p.connectionId === connectionId && p.frame.type === 'message');

  it('a removed device connected when the send read its connections: closed by its removal before the push, it is pushed nothing that stays', async () => {
    const bob = await registered(makeIdentity());
    const device = await removedWhileWriting();
    const connectionId = `c-linked-${device}`;
    await connectionOpened(world.ports, callerOf(alice, connectionId, device));
    // API Gateway answers a push to a closed connection gone.
    world.notifier.disconnect = async (id) => void world.notifier.gone.add(id);
    const answer = await send(world.ports, bob, { action: 'send', rid: 's', id: messageId(), to: alice.uid, messages: [copy(1), copy(device)] });
    expect(answer).toMatchObject({ stale: [device] });
    expect(messagesPushedTo(connectionId)).toEqual([]);
    await expectOnlyDevice1Queued(device);
  });

  it('a removal whose account change lands after the send read it and whose close comes after the push: that one message reaches the open socket, is taken back from the queue, and pushed no more', async () => {
    const bob = await registered(makeIdentity());
    const { caller } = await linked();
    const connectionId = `c-linked-${caller.device}`;
    await connectionOpened(world.ports, callerOf(alice, connectionId, caller.device));
    // The removal's first step (the account item) lands while the copies are written; its close and deletes later.
    const put = world.queue.put.bind(world.queue);
    world.queue.put = async (message) => {
      if (message.recipient.device === caller.device) await world.devices.remove(alice.uid, caller.device);
      return put(message);
    };
    const id = messageId();
    const answer = await send(world.ports, bob, { action: 'send', rid: 's', id, to: alice.uid, messages: [copy(1), copy(caller.device)] });
    expect(answer).toMatchObject({ stale: [caller.device] });
    expect(messagesPushedTo(connectionId).map((p) => p.frame.id)).toEqual([id]);
    // Taken back by the send's own second read, before the removal's deletes run.
    await expectOnlyDevice1Queued(caller.device);
    await remove(caller.device);
    expect(world.notifier.disconnected).toContain(connectionId);
    expect(messagesPushedTo(connectionId)).toHaveLength(1);
  });

  it('so does a fan-out', async () => {
    const bob = await registered(makeIdentity());
    const device = await removedWhileWriting();
    const answer = await fanout(world.ports, bob, {
      action: 'fanout',
      rid: 'f',
      id: messageId(),
      ciphertext: toBase64Url(nacl.randomBytes(32)),
      commitment: anyCommitment(),
      recipients: [{ user: alice.uid, devices: [1, device] }],
    });
    expect(answer.stale).toEqual([{ user: alice.uid, devices: [device] }]);
    await expectOnlyDevice1Queued(device);
  });
});

describe('pending devices', () => {
  it('get no copies and are in no bundle until their first signed prekey', async () => {
    const bob = await registered(makeIdentity());
    const { caller } = await linked(false);
    const answer = await send(world.ports, bob, {
      action: 'send',
      rid: 's',
      id: messageId(),
      to: alice.uid,
      messages: [copy(1), copy(caller.device)],
    });
    expect(answer).toMatchObject({ missing: [], stale: [caller.device] });
    expect(world.queue.messages.get(`${alice.uid}#${caller.device}`)).toBeUndefined();
    expect((await prekeyBundle(world.ports, bob, { action: 'keys.bundle', rid: 'b', user: alice.uid })).devices.map((d) => d.device)).toEqual([1]);
    await expectRefusal(prekeyBundle(world.ports, bob, { action: 'keys.bundle', rid: 'b', user: alice.uid, device: caller.device }), 'NOT_FOUND');
    expect((await listDevices(world.ports, caller)).devices.map((d) => [d.device, d.ready])).toEqual([
      [1, true],
      [caller.device, false],
    ]);
  });

  it("a link.fetch whose context's key does not derive its user id is refused", async () => {
    const key = makeLinkedDevice(alice);
    await addDevice(world.ports, device1, deviceAddFrame(key) as never);
    const mallory = makeIdentity();
    await expect(fetchLink(world.ports, callerOf(key.tmp))).resolves.toMatchObject({ link: { user: alice.uid, device: 2 } });
    await expectRefusal(fetchLink(world.ports, { ...callerOf(mallory), userId: key.tmp.uid }), 'UNAUTHORIZED');
    await expectRefusal(fetchLink(world.ports, { ...callerOf(key.tmp), device: 2 }), 'UNAUTHORIZED');
  });
});

describe('device numbers', () => {
  it('links a device after 40 links and removals, and answers CONFLICT once all 99 numbers are spent', async () => {
    // Spent through the port (the route's rate limit is not what this is about), then linked through the route.
    const spend = async (to: number) => {
      for (let n = (await world.ports.accounts.get(alice.uid))?.nextDevice ?? 2; n <= to; n++) {
        expect(
          await world.ports.devices.add(alice.uid, { signingKey: makeLinkedDevice(alice).signingKey, cert: 'c', name: null, linkedAt: 0 }, 2),
        ).toEqual({
          outcome: 'added',
          device: n,
        });
        expect(await world.ports.devices.remove(alice.uid, n)).toBe(true);
      }
    };
    await spend(41);
    expect(await addDevice(world.ports, device1, deviceAddFrame(makeLinkedDevice(alice)) as never)).toEqual({ device: 42 });
    expect(await world.ports.devices.remove(alice.uid, 42)).toBe(true);

    await spend(98);
    expect(await addDevice(world.ports, device1, deviceAddFrame(makeLinkedDevice(alice)) as never)).toEqual({ device: 99 });
    expect(await world.ports.devices.remove(alice.uid, 99)).toBe(true);
    const refused = addDevice(world.ports, device1, deviceAddFrame(makeLinkedDevice(alice)) as never);
    await expectRefusal(refused, 'CONFLICT');
    await expect(refused).rejects.toMatchObject({ message: 'this account has used all 99 device numbers' });
    expect((await world.ports.accounts.get(alice.uid))?.linked ?? []).toEqual([]);
  });
});

describe('bundles a linked device asks for', () => {
  it('count against bundlePerPairPerHour per device, so the devices of one account do not share one budget', async () => {
    world = memoryWorld({ rateLimits: { bundlePerPairPerHour: 2 } }, Date.UTC(2027, 0, 1));
    alice = makeIdentity();
    device1 = await registered(alice);
    const bob = await registered(makeIdentity());
    const laptop = (await linked()).caller;
    const bundle = (caller: Caller) => prekeyBundle(world.ports, caller, { action: 'keys.bundle', rid: 'b', user: bob.userId });
    await bundle(device1);
    await bundle(device1);
    await expect(bundle(device1)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    // The laptop sets up its own sessions with bob: device 1's spent budget is not its.
    await bundle(laptop);
    await bundle(laptop);
    await expect(bundle(laptop)).rejects.toMatchObject({ code: 'RATE_LIMITED' });
  });
});
