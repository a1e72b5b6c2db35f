import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { hello, register } from '../../lambdas/core/accounts';
import { deleteAccount } from '../../lambdas/core/account-deletion';
import { ack, fetch, send } from '../../lambdas/core/delivery';
import { countOwnPrekeys, prekeyBundle, publishPrekeys } from '../../lambdas/core/prekeys';
import type { Caller } from '../../lambdas/core/ports';
import { Refusal } from '../../lambdas/core/refusal';
import { lookupUsername, setUsername } from '../../lambdas/core/usernames';
import { isRetryable } from '../../protocol/errors';
import { makeIdentity, messageId, oneTimePrekeys, registerFrame, signedPrekey, type TestIdentity } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';
import { anyCommitment } from '../support/franking';

const T0 = Date.UTC(2027, 0, 1);

async function user(world: MemoryWorld, name: string): Promise<{ id: TestIdentity; caller: Caller }> {
  const id = makeIdentity();
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  await publishPrekeys(world.ports, caller, { action: 'keys.publish', rid: 'p', signedPrekey: signedPrekey(id), oneTimePrekeys: oneTimePrekeys(3) });
  await setUsername(world.ports, caller, { action: 'username.set', rid: 'u', username: name });
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

describe('account suspension', () => {
  let world: MemoryWorld;
  let alice: Caller;
  let bob: { id: TestIdentity; caller: Caller };
  beforeEach(async () => {
    world = memoryWorld({}, T0);
    alice = (await user(world, 'alice_1')).caller;
    bob = await user(world, 'bob_1');
    await sendTo(world, alice, bob.caller.userId);
    expect(await world.accounts.suspend(bob.caller.userId, 'spam reported by 3 users', T0)).toBe(true);
  });

  it('answers every action of a suspended account but status with ACCOUNT_SUSPENDED, never the reason', async () => {
    const b = bob.caller;
    const attempts: [string, () => Promise<unknown>][] = [
      ['hello', () => hello(world.ports, b)],
      ['register', () => register(world.ports, b, registerFrame(bob.id) as never)],
      ['send', () => sendTo(world, b, alice.userId)],
      ['fetch', () => fetch(world.ports, b, { action: 'fetch', rid: 'f' })],
      ['ack', () => ack(world.ports, b, { action: 'ack', rid: 'a', messages: [{ id: messageId(), sentAt: T0 }] })],
      ['keys.publish', () => publishPrekeys(world.ports, b, { action: 'keys.publish', rid: 'p', oneTimePrekeys: oneTimePrekeys(1, 10) })],
      ['keys.count', () => countOwnPrekeys(world.ports, b)],
      ['keys.bundle', () => prekeyBundle(world.ports, b, { action: 'keys.bundle', rid: 'b', user: alice.userId })],
      ['username.set', () => setUsername(world.ports, b, { action: 'username.set', rid: 'u', username: 'bob_2' })],
      ['username.lookup', () => lookupUsername(world.ports, b, { action: 'username.lookup', rid: 'l', username: 'alice_1' })],
      // Not even deletion: the account, and the record of its suspension, would be gone.
      ['account.delete', () => deleteAccount(world.ports, b)],
    ];
    for (const [action, attempt] of attempts) {
      const refusal = await attempt().then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(refusal).toBeInstanceOf(Refusal);
      expect({ action, code: (refusal as Refusal).code, message: (refusal as Refusal).message }).toEqual({
        action,
        code: 'ACCOUNT_SUSPENDED',
        message: 'this account is suspended',
      });
    }
    expect(isRetryable('ACCOUNT_SUSPENDED')).toBe(false);
    expect(await world.accounts.get(b.userId)).toMatchObject({ suspended: { reason: 'spam reported by 3 users', at: T0 }, username: 'bob_1' });
    expect(await world.prekeys.countOneTime({ userId: b.userId, device: 1 })).toBe(3);
  });

  it('leaves other users acting, and sending to the suspended account', async () => {
    await expect(sendTo(world, alice, bob.caller.userId)).resolves.toBeDefined();
    await expect(fetch(world.ports, alice, { action: 'fetch', rid: 'f' })).resolves.toMatchObject({ messages: [] });
  });

  it('restores every action once lifted', async () => {
    expect(await world.accounts.unsuspend(bob.caller.userId)).toBe(true);
    expect(await world.accounts.get(bob.caller.userId)).not.toHaveProperty('suspended');
    expect(await hello(world.ports, bob.caller)).toMatchObject({ registered: true });
    await expect(sendTo(world, bob.caller, alice.userId)).resolves.toBeDefined();
    expect((await fetch(world.ports, bob.caller, { action: 'fetch', rid: 'f' })).messages).toHaveLength(1);
  });

  it('is false for an account that does not exist', async () => {
    expect(await world.accounts.suspend('nobody', 'x', T0)).toBe(false);
    expect(await world.accounts.unsuspend('nobody')).toBe(false);
  });
});
