import { register } from '../../lambdas/core/accounts';
import type { AccountRecord, Caller } from '../../lambdas/core/ports';
import { Refusal } from '../../lambdas/core/refusal';
import { lookupUsername, parseClaimEntry, setUsername } from '../../lambdas/core/usernames';
import { makeIdentity, registerFrame } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';

const DAY = 86_400_000;
const T0 = Date.UTC(2027, 0, 1);

async function registered(world: MemoryWorld): Promise<Caller> {
  const id = makeIdentity();
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  return caller;
}

const set = (world: MemoryWorld, caller: Caller, username: string) =>
  setUsername(world.ports, caller, { action: 'username.set', rid: 'r', username });
const lookup = async (world: MemoryWorld, caller: Caller, username: string) =>
  (await lookupUsername(world.ports, caller, { action: 'username.lookup', rid: 'r', username })).userId;

/** The names an account's noted claims are for. */
const claimedNames = (account: AccountRecord | undefined) => (account?.usernameClaims ?? []).map((entry) => parseClaimEntry(entry).name);

async function expectRefusal(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toBeInstanceOf(Refusal);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('usernames', () => {
  let world: MemoryWorld;
  let alice: Caller;
  let bob: Caller;
  beforeEach(async () => {
    world = memoryWorld(
      { sunset: { signupsCloseAt: '2027-01-02T00:00:00Z', readOnlyAt: '2027-01-03T00:00:00Z', shutdownAt: '2027-01-04T00:00:00Z' } },
      T0,
    );
    alice = await registered(world);
    bob = await registered(world);
  });

  it('are unique regardless of case, and found in any case', async () => {
    expect(await set(world, alice, 'Alice_1')).toEqual({ username: 'Alice_1' });
    expect(await lookup(world, bob, 'alice_1')).toBe(alice.userId);
    expect(await lookup(world, bob, 'ALICE_1')).toBe(alice.userId);
    expect((await world.accounts.get(alice.userId))?.username).toBe('Alice_1');
    expect([...world.usernames.items]).toEqual([['alice_1', alice.userId]]);
  });

  it('refuse a name another user holds, in any case, with CONFLICT and leave it theirs', async () => {
    await set(world, alice, 'alice_1');
    await expectRefusal(set(world, bob, 'ALICE_1'), 'CONFLICT');
    expect(await lookup(world, bob, 'alice_1')).toBe(alice.userId);
    expect((await world.accounts.get(bob.userId))?.username).toBeUndefined();
    expect((await world.accounts.get(bob.userId))?.usernameClaims ?? []).toEqual([]);
  });

  it.each(['admin', 'Administrator', 'ROOT', 'support', 'Security', 'ebb', 'system', 'moderator', 'help', 'official', 'Staff'])(
    'refuse the reserved name %s with FORBIDDEN',
    async (name) => {
      await expectRefusal(set(world, alice, name), 'FORBIDDEN');
      expect(world.usernames.items.size).toBe(0);
      expect(await lookup(world, bob, name)).toBeNull();
    },
  );

  it.each(['adm1n', 'ebb_support', 'Security_Team', 'ADMIN', 'a_d_m_i_n', '4dmin', 'r00t', 'sup_p0rt', 'adrnin', 'HELP_DESK', '___'])(
    'refuse the lookalike of a reserved name %s with FORBIDDEN',
    async (name) => {
      await expectRefusal(set(world, alice, name), 'FORBIDDEN');
      expect(world.usernames.items.size).toBe(0);
    },
  );

  it.each(['alice_1', 'helpful', 'rooted', 'teamwork', 'ebbe_42', 'adminton'])(
    'allow %s: a reserved word inside a longer name is no lookalike',
    async (name) => {
      expect(await set(world, alice, name)).toEqual({ username: name });
    },
  );

  it('are rate limited per user: set and lookup answer RATE_LIMITED with retryAfterSeconds past their limits', async () => {
    world = memoryWorld({ rateLimits: { usernameSetPerMinute: 2, usernameLookupPerMinute: 3 } }, T0);
    alice = await registered(world);
    bob = await registered(world);
    await set(world, alice, 'alice_1');
    await set(world, alice, 'alice_2');
    await expectRefusal(set(world, alice, 'alice_3'), 'RATE_LIMITED');
    // Seconds to the end of the minute's window (T0 starts one).
    await expect(set(world, alice, 'alice_3')).rejects.toMatchObject({ retryAfterSeconds: 60 });
    for (let i = 0; i < 3; i++) expect(await lookup(world, alice, `nobody_${i}`)).toBeNull();
    await expectRefusal(lookup(world, alice, 'alice_2'), 'RATE_LIMITED');
    // Bob's windows are his own.
    expect(await lookup(world, bob, 'alice_2')).toBe(alice.userId);
    await set(world, bob, 'bob_1');
    // Refused sets hold nothing.
    expect([...world.usernames.items].sort()).toEqual([
      ['alice_2', alice.userId],
      ['bob_1', bob.userId],
    ]);
    world.clock.t += 60_000;
    expect(await set(world, alice, 'alice_3')).toEqual({ username: 'alice_3' });
  });

  it('release the old name on a rename, so another user can take it', async () => {
    await set(world, alice, 'alice_1');
    await set(world, alice, 'alice_2');
    expect(await lookup(world, bob, 'alice_1')).toBeNull();
    expect(await lookup(world, bob, 'alice_2')).toBe(alice.userId);
    expect(await set(world, bob, 'Alice_1')).toEqual({ username: 'Alice_1' });
    expect(await lookup(world, alice, 'alice_1')).toBe(bob.userId);
    expect(claimedNames(await world.accounts.get(alice.userId))).toEqual(['alice_2']);
  });

  it('are idempotent: setting the current name again, or in another case, keeps one claim', async () => {
    await set(world, alice, 'alice_1');
    await set(world, alice, 'alice_1');
    expect(await set(world, alice, 'Alice_1')).toEqual({ username: 'Alice_1' });
    expect([...world.usernames.items]).toEqual([['alice_1', alice.userId]]);
    expect((await world.accounts.get(alice.userId))?.username).toBe('Alice_1');
  });

  it('after a crash between the claim and the rename, setting a name again releases the stray claim', async () => {
    await set(world, alice, 'alice_1');
    // The crash: the claim of alice_2 was noted and made, the account still shows alice_1.
    await world.usernames.noteClaims(alice.userId, ['alice_2/crashed']);
    await world.usernames.claim('alice_2', alice.userId, 'crashed');

    await set(world, alice, 'alice_3');
    expect([...world.usernames.items]).toEqual([['alice_3', alice.userId]]);
    expect(claimedNames(await world.accounts.get(alice.userId))).toEqual(['alice_3']);
    expect((await world.accounts.get(alice.userId))?.usernameReleasing).toEqual([]);
  });

  it('need a registered caller', async () => {
    const stranger = callerOf(makeIdentity());
    await expectRefusal(set(world, stranger, 'stranger'), 'FORBIDDEN');
    await expectRefusal(lookup(world, stranger, 'alice_1'), 'FORBIDDEN');
  });

  it('can be set until read-only and looked up until shutdown', async () => {
    world.clock.t = T0 + DAY;
    await set(world, alice, 'alice_1');
    world.clock.t = T0 + 2 * DAY;
    await expectRefusal(set(world, bob, 'bob_1'), 'SERVICE_READ_ONLY');
    expect(await lookup(world, bob, 'alice_1')).toBe(alice.userId);
    world.clock.t = T0 + 3 * DAY;
    await expectRefusal(set(world, bob, 'bob_1'), 'SERVICE_SHUT_DOWN');
    await expectRefusal(lookup(world, bob, 'alice_1'), 'SERVICE_SHUT_DOWN');
  });
});
