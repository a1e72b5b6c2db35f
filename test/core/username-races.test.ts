import { deleteAccount } from '../../lambdas/core/account-deletion';
import { register } from '../../lambdas/core/accounts';
import type { AccountRecord, Caller, Ports } from '../../lambdas/core/ports';
import { foldUsername, setUsername } from '../../lambdas/core/usernames';
import { makeIdentity, registerFrame } from '../support/identity';
import { Interleaving, everyInterleaving, randomChoices } from '../support/interleavings';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';

/**
 * Username changes and account deletion race with no transactions to serialise them (ARCH §4.5): these
 * tests pause each operation at every storage call and run the calls in every possible order (or, where
 * those are too many, in thousands of sampled orders), then check what must hold however they interleave.
 */

const UNLIMITED = { rateLimits: { usernameSetPerMinute: 100_000, usernameLookupPerMinute: 100_000 } } as const;

// One identity, registered once: signing and verifying in every run would cost more than the runs themselves.
/** Random orders per sampled case: the broken designs failed within the first hundred; 3000 cost a minute a run. */
const SAMPLED_ORDERS = 1000;

const id = makeIdentity();
const registration = registerFrame(id);

let registered: AccountRecord | undefined;

/** A new world holding Alice's account as `register` created it (in the first world). */
async function world(): Promise<{ world: MemoryWorld; alice: Caller }> {
  const w = memoryWorld(UNLIMITED);
  const alice = callerOf(id);
  if (registered) await w.accounts.create({ ...registered });
  else {
    await register(w.ports, alice, registration as never);
    registered = await w.accounts.get(alice.userId);
  }
  return { world: w, alice };
}

/** The ports of operation `op`: its account and username calls wait for their turn. */
function gated(w: MemoryWorld, interleaving: Interleaving, op: number): Ports {
  return { ...w.ports, accounts: interleaving.gate(w.accounts, op), usernames: interleaving.gate(w.usernames, op) };
}

const set = (ports: Ports, caller: Caller, username: string) => setUsername(ports, caller, { action: 'username.set', rid: 'r', username });

function namesHeld(w: MemoryWorld, userId: string): string[] {
  return [...w.usernames.items].filter(([, holder]) => holder === userId).map(([name]) => name);
}

/** What must hold once every operation ended: the account holds exactly its own name, or nothing once deleted. */
async function expectSettled(w: MemoryWorld, userId: string, what: string): Promise<void> {
  const account = await w.accounts.get(userId);
  const expected = account?.username === undefined ? [] : [foldUsername(account.username)];
  expect({ what, held: namesHeld(w, userId).sort() }).toEqual({ what, held: expected });
}

jest.setTimeout(60_000);

describe('username.set racing itself and account.delete, in every interleaving', () => {
  it('two sets of different names leave one name held, the account’s, and at least one set succeeds', async () => {
    const runs = await everyInterleaving(async (interleaving) => {
      const { world: w, alice } = await world();
      await set(w.ports, alice, 'alice_0');
      const results = await interleaving.run([
        () => set(gated(w, interleaving, 0), alice, 'alice_1'),
        () => set(gated(w, interleaving, 1), alice, 'alice_2'),
      ]);
      await expectSettled(w, alice.userId, `choices ${interleaving.options.join(',')}`);
      expect(results.some((r) => r.status === 'fulfilled')).toBe(true);
      expect(['alice_1', 'alice_2']).toContain((await w.accounts.get(alice.userId))?.username);
    });
    expect(runs).toBeGreaterThan(1000);
  });

  // Too many interleavings to enumerate (a lost claim adds steps): sampled instead.
  it.each([
    ['two sets of one name in two spellings', 'alice_1', 'ALICE_1'],
    ['a respelling of the current name racing a set of another', 'Alice_0', 'alice_1'],
  ])(`%s, in ${SAMPLED_ORDERS} sampled interleavings, leave one name held, the account’s`, async (_what, first, second) => {
    for (let seed = 1; seed <= SAMPLED_ORDERS; seed++) {
      const { world: w, alice } = await world();
      await set(w.ports, alice, 'alice_0');
      const interleaving = new Interleaving(randomChoices(seed, 200));
      await interleaving.run([() => set(gated(w, interleaving, 0), alice, first), () => set(gated(w, interleaving, 1), alice, second)]);
      await expectSettled(w, alice.userId, `seed ${seed}`);
    }
  });

  it('a set racing account.delete leaves no name held by the deleted account', async () => {
    const runs = await everyInterleaving(async (interleaving) => {
      const { world: w, alice } = await world();
      await set(w.ports, alice, 'alice_0');
      const [, deleted] = await interleaving.run<unknown>([
        () => set(gated(w, interleaving, 0), alice, 'alice_1'),
        () => deleteAccount(gated(w, interleaving, 1), alice),
      ]);
      expect(deleted).toMatchObject({ status: 'fulfilled' });
      expect(await w.accounts.get(alice.userId)).toBeUndefined();
      expect({ choices: interleaving.options.join(','), held: namesHeld(w, alice.userId) }).toMatchObject({ held: [] });
    });
    expect(runs).toBeGreaterThan(20);
  });

  it(`three sets and a delete, in ${SAMPLED_ORDERS} sampled interleavings, leave nothing held`, async () => {
    for (let seed = 1; seed <= SAMPLED_ORDERS; seed++) {
      const { world: w, alice } = await world();
      await set(w.ports, alice, 'alice_0');
      const interleaving = new Interleaving(randomChoices(seed, 200));
      await interleaving.run<unknown>([
        () => set(gated(w, interleaving, 0), alice, 'alice_1'),
        () => set(gated(w, interleaving, 1), alice, 'alice_2'),
        () => set(gated(w, interleaving, 2), alice, 'alice_3'),
        () => deleteAccount(gated(w, interleaving, 3), alice),
      ]);
      expect({ seed, held: namesHeld(w, alice.userId) }).toEqual({ seed, held: [] });
    }
  });

  it(`four sets, in ${SAMPLED_ORDERS} sampled interleavings, leave one name held, the account’s`, async () => {
    for (let seed = 1; seed <= SAMPLED_ORDERS; seed++) {
      const { world: w, alice } = await world();
      const interleaving = new Interleaving(randomChoices(seed, 200));
      await interleaving.run(['alice_1', 'alice_2', 'alice_3', 'alice_4'].map((name, op) => () => set(gated(w, interleaving, op), alice, name)));
      await expectSettled(w, alice.userId, `seed ${seed}`);
    }
  });
});
