import { DynamoAccounts } from '../../lambdas/adapters/dynamodb';
import { MemoryAccounts } from '../../lambdas/adapters/memory';
import type { AccountRecord, Accounts } from '../../lambdas/core/ports';
import { T0, freshUserId, useDynalite } from './backends';

/** The Accounts contract (lambdas/core/ports.ts), run against the memory and the DynamoDB adapter. */
function accountsContract(make: () => Promise<Accounts>): void {
  let accounts: Accounts;
  beforeEach(async () => {
    accounts = await make();
  });

  const record = (over: Partial<AccountRecord> = {}): AccountRecord => ({
    userId: freshUserId(),
    signingKey: freshUserId(),
    identityKey: freshUserId(),
    identitySig: freshUserId() + freshUserId(),
    devices: [1],
    createdAt: T0,
    ...over,
  });

  it('reads a missing account as undefined, alone or in a pair', async () => {
    const known = record();
    await accounts.create(known);
    const missing = freshUserId();
    expect(await accounts.get(missing)).toBeUndefined();
    expect(await accounts.getPair(known.userId, missing)).toEqual([known, undefined]);
    expect(await accounts.getPair(missing, missing)).toEqual([undefined, undefined]);
  });

  it('creates once and returns the stored record to every later create', async () => {
    const first = record({ devices: [1, 2] });
    expect(await accounts.create(first)).toEqual({ created: true, record: first });
    const second = record({ userId: first.userId });
    expect(await accounts.create(second)).toEqual({ created: false, record: first });
    expect(await accounts.get(first.userId)).toEqual(first);
  });

  it('creates one of many concurrent creates of one user id, and all of them see that one', async () => {
    const userId = freshUserId();
    const attempts = Array.from({ length: 6 }, () => record({ userId }));
    const results = await Promise.all(attempts.map((a) => accounts.create(a)));
    const made = results.filter((r) => r.created);
    expect(made).toHaveLength(1);
    for (const r of results) expect(r.record).toEqual(made[0]!.record);
    expect(await accounts.get(userId)).toEqual(made[0]!.record);
  });

  it('reads two accounts in one pair, and one account asked for twice', async () => {
    const [a, b] = [record(), record()];
    for (const r of [a, b]) await accounts.create(r);
    expect(await accounts.getPair(a.userId, b.userId)).toEqual([a, b]);
    expect(await accounts.getPair(b.userId, b.userId)).toEqual([b, b]);
  });

  it('reads many accounts, over 100 in several requests, as a map of those that exist', async () => {
    const stored = Array.from({ length: 130 }, () => record());
    await Promise.all(stored.map((r) => accounts.create(r)));
    const absent = freshUserId();
    const ids = [...stored.map((r) => r.userId), absent, stored[0]!.userId];
    const found = await accounts.getMany(ids);
    expect(found.size).toBe(130);
    for (const r of stored) expect(found.get(r.userId)).toEqual(r);
    expect(found.has(absent)).toBe(false);
    expect(await accounts.getMany([])).toEqual(new Map());
  });

  it('replaces the identity only under the signing key the account has', async () => {
    const a = record();
    await accounts.create(a);
    expect(await accounts.replaceIdentity(a.userId, freshUserId(), 'ik2', 'sig2')).toBe(false);
    expect(await accounts.get(a.userId)).toEqual(a);
    expect(await accounts.replaceIdentity(a.userId, a.signingKey, 'ik2', 'sig2')).toBe(true);
    expect(await accounts.get(a.userId)).toEqual({ ...a, identityKey: 'ik2', identitySig: 'sig2' });
    expect(await accounts.replaceIdentity(freshUserId(), a.signingKey, 'ik3', 'sig3')).toBe(false);
  });

  it('sets the delivery token hash of an account, and of no account creates none', async () => {
    const a = record();
    await accounts.create(a);
    expect(await accounts.setDeliveryTokenHash(a.userId, 'h1')).toBe(true);
    expect(await accounts.setDeliveryTokenHash(a.userId, 'h2')).toBe(true);
    expect(await accounts.get(a.userId)).toEqual({ ...a, deliveryTokenHash: 'h2' });
    const missing = freshUserId();
    expect(await accounts.setDeliveryTokenHash(missing, 'h')).toBe(false);
    expect(await accounts.get(missing)).toBeUndefined();
  });

  it('suspends (a later reason replacing the earlier), lifts, and lifts again harmlessly', async () => {
    const a = record();
    await accounts.create(a);
    expect(await accounts.suspend(a.userId, 'spam', T0 + 1)).toBe(true);
    expect(await accounts.suspend(a.userId, 'abuse', T0 + 2)).toBe(true);
    expect((await accounts.get(a.userId))?.suspended).toEqual({ reason: 'abuse', at: T0 + 2 });
    expect(await accounts.unsuspend(a.userId)).toBe(true);
    expect(await accounts.get(a.userId)).toEqual(a);
    expect(await accounts.unsuspend(a.userId)).toBe(true);
  });

  it('neither suspends nor lifts an account that does not exist, nor creates one', async () => {
    const missing = freshUserId();
    expect(await accounts.suspend(missing, 'spam', T0)).toBe(false);
    expect(await accounts.unsuspend(missing)).toBe(false);
    expect(await accounts.get(missing)).toBeUndefined();
  });

  it('removes an account so that a new one may take its id, and removing none is no error', async () => {
    const a = record();
    await accounts.create(a);
    await accounts.remove(a.userId);
    await accounts.remove(a.userId);
    expect(await accounts.get(a.userId)).toBeUndefined();
    const again = record({ userId: a.userId });
    expect(await accounts.create(again)).toEqual({ created: true, record: again });
  });
}

describe('MemoryAccounts', () => accountsContract(async () => new MemoryAccounts()));

describe('DynamoAccounts on dynalite', () => {
  const dynamo = useDynalite();
  accountsContract(async () => {
    const { db, names } = await dynamo.fresh();
    return new DynamoAccounts(db, names.accounts);
  });
});
