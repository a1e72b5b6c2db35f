import { DynamoAccounts, DynamoUsernames } from '../../lambdas/adapters/dynamodb';
import { MemoryAccounts, MemoryUsernames } from '../../lambdas/adapters/memory';
import type { AccountRecord, Accounts, Usernames } from '../../lambdas/core/ports';
import { T0, freshUserId, useDynalite } from './backends';

/** The Usernames contract (lambdas/core/ports.ts): the claims table and the account's side of its claims. */
function usernamesContract(make: () => Promise<{ accounts: Accounts; usernames: Usernames }>): void {
  let accounts: Accounts;
  let usernames: Usernames;
  let names = 0;
  beforeEach(async () => {
    ({ accounts, usernames } = await make());
  });

  const freshName = () => `name${++names}_${freshUserId().slice(0, 6).toLowerCase()}`;
  const account = async (): Promise<AccountRecord> => {
    const record = { userId: freshUserId(), signingKey: 's', identityKey: 'i', identitySig: 'g', devices: [1], createdAt: T0 };
    await accounts.create(record);
    return record;
  };
  /** The account's claim lists; an emptied list and no list are the same. */
  const claimsOf = async (userId: string) => {
    const a = await accounts.get(userId);
    return { claims: [...(a?.usernameClaims ?? [])].sort(), releasing: [...(a?.usernameReleasing ?? [])].sort() };
  };

  describe('claims', () => {
    it('reads a name no one holds as no holder and no claim', async () => {
      const name = freshName();
      expect(await usernames.holder(name)).toBeUndefined();
      expect(await usernames.claimOf(name)).toBeUndefined();
    });

    it('claims a free name with a token, and refuses every later claim with a token, even its holder', async () => {
      const [name, a, b] = [freshName(), freshUserId(), freshUserId()];
      expect(await usernames.claim(name, a, 't1')).toBe(true);
      expect(await usernames.claimOf(name)).toEqual({ userId: a, token: 't1' });
      expect(await usernames.claim(name, a, 't2')).toBe(false);
      expect(await usernames.claim(name, b, 't3')).toBe(false);
      expect(await usernames.claim(name, b)).toBe(false);
      expect(await usernames.claimOf(name)).toEqual({ userId: a, token: 't1' });
    });

    it('without a token, counts a name its holder holds as claimed (the claim then has no token)', async () => {
      const [name, a] = [freshName(), freshUserId()];
      expect(await usernames.claim(name, a)).toBe(true);
      expect(await usernames.claim(name, a)).toBe(true);
      expect(await usernames.claimOf(name)).toEqual({ userId: a, token: null });
      expect(await usernames.holder(name)).toBe(a);
    });

    it('grants a name to exactly one of many concurrent claims', async () => {
      const name = freshName();
      const users = Array.from({ length: 6 }, () => freshUserId());
      const results = await Promise.all(users.map((u, i) => usernames.claim(name, u, `t${i}`)));
      expect(results.filter(Boolean)).toHaveLength(1);
      const winner = results.indexOf(true);
      expect(await usernames.claimOf(name)).toEqual({ userId: users[winner], token: `t${winner}` });
    });

    it("releases only the holder's claim, and only under its token when one is given", async () => {
      const [name, a, b] = [freshName(), freshUserId(), freshUserId()];
      await usernames.claim(name, a, 't1');
      await usernames.release(name, b);
      await usernames.release(name, a, 't2');
      await usernames.release(name, a, null);
      expect(await usernames.holder(name)).toBe(a);
      await usernames.release(name, a, 't1');
      expect(await usernames.claimOf(name)).toBeUndefined();
      await usernames.release(name, a, 't1');
    });

    it('releases a claim from before tokens under null or no token, any claim of the holder under no token', async () => {
      const [old, any, a] = [freshName(), freshName(), freshUserId()];
      await usernames.claim(old, a);
      await usernames.release(old, a, null);
      expect(await usernames.holder(old)).toBeUndefined();
      await usernames.claim(any, a, 't1');
      await usernames.release(any, a);
      expect(await usernames.holder(any)).toBeUndefined();
    });
  });

  describe("the account's side", () => {
    it('notes claims as a set, and notes nothing on no account', async () => {
      const a = await account();
      expect(await usernames.noteClaims(a.userId, ['x/t1', 'y/t2'])).toBe(true);
      expect(await usernames.noteClaims(a.userId, ['x/t1', 'z'])).toBe(true);
      expect(await claimsOf(a.userId)).toEqual({ claims: ['x/t1', 'y/t2', 'z'], releasing: [] });
      const missing = freshUserId();
      expect(await usernames.noteClaims(missing, ['x/t1'])).toBe(false);
      expect(await accounts.get(missing)).toBeUndefined();
    });

    it('commits a name only under a noted entry, with its token or none', async () => {
      const a = await account();
      expect(await usernames.commitName(a.userId, 'Alice', 'alice/t1', 't1')).toBe(false);
      expect((await accounts.get(a.userId))?.username).toBeUndefined();
      await usernames.noteClaims(a.userId, ['alice/t1', 'al']);
      expect(await usernames.commitName(a.userId, 'Alice', 'alice/t1', 't1')).toBe(true);
      expect(await accounts.get(a.userId)).toMatchObject({ username: 'Alice', usernameToken: 't1' });
      expect(await usernames.commitName(a.userId, 'Al', 'al', null)).toBe(true);
      const committed = await accounts.get(a.userId);
      expect(committed?.username).toBe('Al');
      expect(committed?.usernameToken).toBeUndefined();
      expect(await usernames.commitName(freshUserId(), 'Bob', 'bob/t', 't')).toBe(false);
    });

    it('retires entries only while the name is held under the given token, then forgets them', async () => {
      const a = await account();
      await usernames.noteClaims(a.userId, ['old/t0', 'new/t1']);
      await usernames.commitName(a.userId, 'New', 'new/t1', 't1');
      expect(await usernames.retireClaims(a.userId, ['old/t0'], 't0')).toBe(false);
      expect(await claimsOf(a.userId)).toEqual({ claims: ['new/t1', 'old/t0'], releasing: [] });
      expect(await usernames.retireClaims(a.userId, ['old/t0'], 't1')).toBe(true);
      expect(await claimsOf(a.userId)).toEqual({ claims: ['new/t1'], releasing: ['old/t0'] });
      await usernames.forgetClaims(a.userId, ['old/t0', 'new/t1']);
      expect(await claimsOf(a.userId)).toEqual({ claims: [], releasing: [] });
      expect(await usernames.retireClaims(freshUserId(), ['x'], 't1')).toBe(false);
    });

    it('forgets claims of no account without error and without making one', async () => {
      const missing = freshUserId();
      await usernames.forgetClaims(missing, ['x/t']);
      await usernames.forgetClaims(missing, []);
      expect(await accounts.get(missing)).toBeUndefined();
    });

    it('closes an account: returns it with its claims, and from then on notes and commits nothing', async () => {
      const a = await account();
      await usernames.noteClaims(a.userId, ['x/t1']);
      const closed = await usernames.closeAccount(a.userId, T0 + 5);
      expect(closed?.userId).toBe(a.userId);
      expect(closed?.usernameClaims).toEqual(['x/t1']);
      expect(await usernames.noteClaims(a.userId, ['y/t2'])).toBe(false);
      expect(await usernames.commitName(a.userId, 'X', 'x/t1', 't1')).toBe(false);
      expect((await usernames.closeAccount(a.userId, T0 + 6))?.userId).toBe(a.userId);
      expect(await claimsOf(a.userId)).toEqual({ claims: ['x/t1'], releasing: [] });
    });

    it('closes no account as undefined, and makes none', async () => {
      const missing = freshUserId();
      expect(await usernames.closeAccount(missing, T0)).toBeUndefined();
      expect(await accounts.get(missing)).toBeUndefined();
    });
  });
}

describe('MemoryUsernames', () =>
  usernamesContract(async () => {
    const accounts = new MemoryAccounts();
    return { accounts, usernames: new MemoryUsernames(accounts) };
  }));

describe('DynamoUsernames on dynalite', () => {
  const dynamo = useDynalite();
  usernamesContract(async () => {
    const { db, names } = await dynamo.fresh();
    return { accounts: new DynamoAccounts(db, names.accounts), usernames: new DynamoUsernames(db, names.usernames, names.accounts) };
  });
});
