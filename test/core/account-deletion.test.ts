import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { register } from '../../lambdas/core/accounts';
import { deleteAccount } from '../../lambdas/core/account-deletion';
import { connectionOpened } from '../../lambdas/core/connect';
import { send } from '../../lambdas/core/delivery';
import { publishPrekeys } from '../../lambdas/core/prekeys';
import type { Caller, Usernames } from '../../lambdas/core/ports';
import { Refusal } from '../../lambdas/core/refusal';
import { setUsername } from '../../lambdas/core/usernames';
import { makeIdentity, messageId, oneTimePrekeys, registerFrame, signedPrekey, type TestIdentity } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';
import { anyCommitment } from '../support/franking';

const T0 = Date.UTC(2027, 0, 1);
const DAY = 86_400_000;

/** A registered user with prekeys, a username, a live connection and a message queued for it. */
async function user(world: MemoryWorld, name: string): Promise<{ id: TestIdentity; caller: Caller }> {
  const id = makeIdentity();
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  await publishPrekeys(world.ports, caller, { action: 'keys.publish', rid: 'p', signedPrekey: signedPrekey(id), oneTimePrekeys: oneTimePrekeys(5) });
  await setUsername(world.ports, caller, { action: 'username.set', rid: 'u', username: name });
  await connectionOpened(world.ports, caller);
  return { id, caller };
}

const sendTo = (world: MemoryWorld, from: Caller, to: string) =>
  send(world.ports, from, {
    action: 'send',
    rid: 's',
    id: messageId(),
    to,
    messages: [{ device: 1, ciphertext: toBase64Url(nacl.randomBytes(32)), commitment: anyCommitment() }],
  });

/** Everything stored that names `userId` in a key or as owner. */
async function traces(world: MemoryWorld, userId: string) {
  const own = { userId, device: 1 };
  return {
    account: await world.accounts.get(userId),
    prekeys: (await world.prekeys.countOneTime(own)) + ((await world.prekeys.signedPrekey(own)) ? 1 : 0),
    queued: (await world.queue.page(own, null, 100, world.clock.t)).messages.length,
    markers: [...world.queue.markers.keys()].filter((key) => key.startsWith(`${userId}#`)).length,
    usernames: [...world.usernames.items.values()].filter((uid) => uid === userId).length,
    connections: (await world.connections.ofUser(userId, 0)).length,
  };
}

const NOTHING = { account: undefined, prekeys: 0, queued: 0, markers: 0, usernames: 0, connections: 0 };

describe('account deletion', () => {
  let world: MemoryWorld;
  let alice: Caller;
  let bob: Caller;
  beforeEach(async () => {
    world = memoryWorld({}, T0);
    alice = (await user(world, 'alice_1')).caller;
    bob = (await user(world, 'bob_1')).caller;
    await sendTo(world, alice, bob.userId);
    await sendTo(world, alice, bob.userId);
    await sendTo(world, bob, alice.userId);
  });

  it('removes everything stored under the user, closes its other connections, and leaves other users alone', async () => {
    const otherTab = { ...bob, connectionId: 'bob-other-tab' };
    await connectionOpened(world.ports, otherTab);
    const aliceBefore = await traces(world, alice.userId);

    expect(await deleteAccount(world.ports, bob)).toEqual({ deleted: true });

    expect(await traces(world, bob.userId)).toEqual(NOTHING);
    // The caller's socket carries the answer; the other one is closed by the server.
    expect(world.notifier.disconnected).toEqual(['bob-other-tab']);
    expect(await traces(world, alice.userId)).toEqual(aliceBefore);
    expect(aliceBefore).toMatchObject({ prekeys: 6, queued: 1, usernames: 1, connections: 1 });
    expect(world.usernames.items.get('bob_1')).toBeUndefined();
  });

  it('is idempotent: a second delete answers the same and finds nothing to do', async () => {
    await deleteAccount(world.ports, bob);
    expect(await deleteAccount(world.ports, bob)).toEqual({ deleted: true });
    expect(await traces(world, bob.userId)).toEqual(NOTHING);
  });

  it('finishes after a run cut short: the account item, deleted last, is still there for the retry', async () => {
    // Every call reaches the memory store but release, which fails as a throttled DeleteItem would.
    const usernames: Usernames = Object.assign(Object.create(world.usernames) as Usernames, {
      release: () => Promise.reject(new Error('ThrottlingException')),
    });
    const failing = { ...world.ports, usernames };
    await expect(deleteAccount(failing, bob)).rejects.toThrow('ThrottlingException');
    expect(await world.accounts.get(bob.userId)).toBeDefined();

    await deleteAccount(world.ports, bob);
    expect(await traces(world, bob.userId)).toEqual(NOTHING);
  });

  it('also releases a stray username claim a crashed rename left', async () => {
    await world.usernames.noteClaims(bob.userId, ['bob_2/crashed']);
    await world.usernames.claim('bob_2', bob.userId, 'crashed');
    await deleteAccount(world.ports, bob);
    expect(world.usernames.items.size).toBe(1);
  });

  it('makes the user unknown: sends to it are NOT_FOUND and its name is free', async () => {
    await deleteAccount(world.ports, bob);
    await expect(sendTo(world, alice, bob.userId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await setUsername(world.ports, alice, { action: 'username.set', rid: 'u', username: 'Bob_1' });
    expect(world.usernames.items.get('bob_1')).toBe(alice.userId);
  });

  it('is allowed in every phase, shut-down included', async () => {
    world = memoryWorld(
      { sunset: { signupsCloseAt: '2027-01-02T00:00:00Z', readOnlyAt: '2027-01-03T00:00:00Z', shutdownAt: '2027-01-04T00:00:00Z' } },
      T0,
    );
    const carol = (await user(world, 'carol_1')).caller;
    world.clock.t = T0 + 3 * DAY;
    expect(await deleteAccount(world.ports, carol)).toEqual({ deleted: true });
    expect(await traces(world, carol.userId)).toEqual(NOTHING);
  });

  it('refuses a device the account does not have', async () => {
    const promise = deleteAccount(world.ports, { ...bob, device: 2 });
    await expect(promise).rejects.toBeInstanceOf(Refusal);
    await expect(promise).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
