import { DynamoAccounts, DynamoConnections, DynamoPrekeys, DynamoQueue, DynamoSweeper } from '../../lambdas/adapters/dynamodb';
import { MemorySweeper } from '../../lambdas/adapters/memory';
import type { Accounts, CiphertextQueue, Connections, ItemKey, Prekeys, StoreName, StoreSweeper } from '../../lambdas/core/ports';
import { memoryWorld } from '../support/memory-ports';
import { T0, freshMessageId, freshUserId, useDynalite } from './backends';

interface SweptWorld {
  readonly sweeper: StoreSweeper;
  readonly accounts: Accounts;
  readonly connections: Connections;
  readonly prekeys: Prekeys;
  readonly queue: CiphertextQueue;
}

/** The StoreSweeper contract (lambdas/core/ports.ts): whole-store pages and deletes, over items the route ports wrote. */
function sweeperContract(make: () => Promise<SweptWorld>): void {
  let world: SweptWorld;
  beforeEach(async () => {
    world = await make();
  });

  /** Every page of `store` at `limit` a page, checking each page's size and that the walk ends. */
  const walk = async (store: StoreName, limit: number): Promise<ItemKey[]> => {
    const keys: ItemKey[] = [];
    let cursor: string | null = null;
    for (let pages = 0; pages < 50; pages++) {
      const page = await world.sweeper.keys(store, cursor, limit);
      expect(page.items.length).toBeLessThanOrEqual(limit);
      keys.push(...page.items);
      cursor = page.cursor;
      if (cursor === null) return keys;
    }
    throw new Error(`${store}: the walk did not end`);
  };

  it('reads an empty store as one empty last page', async () => {
    expect(await world.sweeper.keys('accounts', null, 10)).toEqual({ items: [], cursor: null });
    expect(await world.sweeper.connections(null, 10)).toEqual({ items: [], cursor: null });
  });

  it('walks every item of a store once, page by page, and deletes exactly the items it is given', async () => {
    const users = Array.from({ length: 5 }, () => freshUserId());
    for (const userId of users) {
      await world.accounts.create({ userId, signingKey: 's', identityKey: 'i', identitySig: 'g', devices: [1], createdAt: T0 });
    }
    const keys = await walk('accounts', 2);
    expect(keys).toHaveLength(5);
    expect(new Set(keys.map((k) => JSON.stringify(k))).size).toBe(5);

    await world.sweeper.remove('accounts', keys.slice(0, 3));
    await world.sweeper.remove('accounts', keys.slice(0, 3));
    const left = await Promise.all(users.map((u) => world.accounts.get(u)));
    expect(left.filter((a) => a !== undefined)).toHaveLength(2);
    expect(await walk('accounts', 10)).toHaveLength(2);
  });

  it('sees every kind of item of a partitioned store, and deleting them empties it for the route ports', async () => {
    const owner = { userId: freshUserId(), device: 1 };
    await world.prekeys.putSignedPrekey(owner, { keyId: 1, publicKey: 'p', signature: 's' });
    await world.prekeys.putOneTimePrekeys(owner, [
      { keyId: 1, publicKey: 'a' },
      { keyId: 2, publicKey: 'b' },
    ]);
    const id = freshMessageId();
    await world.queue.put({
      recipient: owner,
      id,
      from: owner,
      sentAt: T0,
      expiresAt: T0 / 1000 + 60,
      ciphertext: 'AAAA',
      frank: { commitment: 'AAAA', tag: 'AAAA', kid: 'k' },
    });
    await world.queue.claim(owner, owner.userId, id, { sentAt: T0, expiresAt: T0 / 1000 + 60 });

    const prekeys = await walk('prekeys', 2);
    expect(prekeys).toHaveLength(3);
    await world.sweeper.remove('prekeys', prekeys);
    expect(await world.prekeys.signedPrekey(owner)).toBeUndefined();
    expect(await world.prekeys.countOneTime(owner)).toBe(0);

    const queue = await walk('queue', 1);
    expect(queue).toHaveLength(2);
    await world.sweeper.remove('queue', queue);
    expect((await world.queue.page(owner, null, 10, T0)).messages).toEqual([]);
    expect(await world.queue.claim(owner, owner.userId, id, { sentAt: T0 + 1, expiresAt: T0 / 1000 + 60 })).toBeNull();
  });

  it('pages connection records whole, expired ones included, with keys that delete them', async () => {
    const records = Array.from({ length: 3 }, (_, i) => ({
      connectionId: freshMessageId(),
      userId: freshUserId(),
      device: 1,
      connectedAt: T0,
      expiresAt: T0 / 1000 + (i === 0 ? -1 : 7200),
    }));
    for (const r of records) await world.connections.put(r);
    const seen = [];
    let cursor: string | null = null;
    do {
      const page = await world.sweeper.connections(cursor, 2);
      seen.push(...page.items);
      cursor = page.cursor;
    } while (cursor !== null);
    const byId = (a: { connectionId: string }, b: { connectionId: string }) => a.connectionId.localeCompare(b.connectionId);
    expect(seen.map((s) => s.record).sort(byId)).toEqual([...records].sort(byId));
    await world.sweeper.remove(
      'connections',
      seen.map((s) => s.key),
    );
    for (const r of records) expect(await world.connections.ofUser(r.userId, T0 - 10_000)).toEqual([]);
  });
}

describe('MemorySweeper', () =>
  sweeperContract(async () => {
    // The same memory stores the core tests run on.
    const stores = memoryWorld();
    return { ...stores, sweeper: new MemorySweeper(stores) };
  }));

describe('DynamoSweeper on dynalite', () => {
  const dynamo = useDynalite();
  sweeperContract(async () => {
    const { db, names } = await dynamo.fresh();
    return {
      sweeper: new DynamoSweeper(db, (store) => names[store]),
      accounts: new DynamoAccounts(db, names.accounts),
      connections: new DynamoConnections(db, names.connections),
      prekeys: new DynamoPrekeys(db, names.prekeys),
      queue: new DynamoQueue(db, names.queue),
    };
  });
});
