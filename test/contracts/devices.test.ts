import { DynamoAccounts, DynamoUsernames } from '../../lambdas/adapters/dynamodb';
import { DynamoDevices, DynamoLinks } from '../../lambdas/adapters/dynamodb/devices';
import { MemoryAccounts, MemoryDevices, MemoryLinks, MemoryQueue, MemoryUsernames } from '../../lambdas/adapters/memory';
import type { AccountRecord, Accounts, Devices, Links, NewLinkedDevice, Usernames } from '../../lambdas/core/ports';
import { Limits } from '../../protocol/limits';
import { T0, freshUserId, useDynalite } from './backends';

interface DeviceStores {
  readonly accounts: Accounts;
  readonly devices: Devices;
  readonly links: Links;
  readonly usernames: Usernames;
}

/** The Devices and Links contracts (lambdas/core/ports.ts), run against the memory and the DynamoDB adapters. */
function devicesContract(make: () => Promise<DeviceStores>): void {
  let s: DeviceStores;
  beforeEach(async () => {
    s = await make();
  });

  const account = async (): Promise<AccountRecord> => {
    const record: AccountRecord = {
      userId: freshUserId(),
      signingKey: freshUserId(),
      identityKey: freshUserId(),
      identitySig: freshUserId() + freshUserId(),
      devices: [1],
      createdAt: T0,
    };
    await s.accounts.create(record);
    return record;
  };
  const newDevice = (over: Partial<NewLinkedDevice> = {}): NewLinkedDevice => ({
    signingKey: freshUserId(),
    cert: freshUserId() + freshUserId(),
    name: 'c2VhbGVk',
    linkedAt: T0 + 5,
    ...over,
  });

  it('links devices under numbers from 2 up, not ready, and lists every key linked', async () => {
    const a = await account();
    const [d2, d3] = [newDevice(), newDevice({ name: null })];
    expect(await s.devices.add(a.userId, d2, 6)).toEqual({ outcome: 'added', device: 2 });
    expect(await s.devices.add(a.userId, d3, 6)).toEqual({ outcome: 'added', device: 3 });
    const stored = await s.accounts.get(a.userId);
    expect(stored).toEqual({
      ...a,
      linked: [
        { ...d2, device: 2, ready: false },
        { ...d3, device: 3, ready: false },
      ],
      nextDevice: 4,
      linkedKeys: expect.arrayContaining([d2.signingKey, d3.signingKey]),
    });
    expect(stored?.linkedKeys).toHaveLength(2);
  });

  it('refuses a key linked before, even after its device was removed', async () => {
    const a = await account();
    const d = newDevice();
    await s.devices.add(a.userId, d, 6);
    expect(await s.devices.add(a.userId, d, 6)).toEqual({ outcome: 'duplicate' });
    expect(await s.devices.remove(a.userId, 2)).toBe(true);
    expect(await s.devices.add(a.userId, { ...d, name: null }, 6)).toEqual({ outcome: 'duplicate' });
    expect((await s.accounts.get(a.userId))?.nextDevice).toBe(3);
  });

  it('counts device 1 and every linked device, ready or not, against max; a removed one makes room', async () => {
    const a = await account();
    expect(await s.devices.add(a.userId, newDevice(), 3)).toEqual({ outcome: 'added', device: 2 });
    expect(await s.devices.add(a.userId, newDevice(), 3)).toEqual({ outcome: 'added', device: 3 });
    const refused = newDevice();
    expect(await s.devices.add(a.userId, refused, 3)).toEqual({ outcome: 'full' });
    const after = await s.accounts.get(a.userId);
    expect(after?.linked).toHaveLength(2);
    expect(after?.linkedKeys).not.toContain(refused.signingKey);
    await s.devices.remove(a.userId, 2);
    // Numbers are never reused.
    expect(await s.devices.add(a.userId, refused, 3)).toEqual({ outcome: 'added', device: 4 });
  });

  it('never passes max under concurrent adds, and never gives one number twice', async () => {
    const a = await account();
    const results = await Promise.all(Array.from({ length: 8 }, () => s.devices.add(a.userId, newDevice(), 4)));
    const added = results.flatMap((r) => (r.outcome === 'added' ? [r.device] : []));
    expect(added.sort()).toEqual([2, 3, 4]);
    expect(results.filter((r) => r.outcome === 'full')).toHaveLength(5);
    expect((await s.accounts.get(a.userId))?.linked?.map((d) => d.device)).toEqual([2, 3, 4]);
  });

  it('keeps linking after many links and removals: a number is spent once, never the room for devices at once', async () => {
    const a = await account();
    for (let n = 2; n <= 41; n++) {
      expect(await s.devices.add(a.userId, newDevice(), 3)).toEqual({ outcome: 'added', device: n });
      expect(await s.devices.remove(a.userId, n)).toBe(true);
    }
    expect(await s.devices.add(a.userId, newDevice(), 3)).toEqual({ outcome: 'added', device: 42 });
    const stored = await s.accounts.get(a.userId);
    expect(stored?.linked?.map((d) => d.device)).toEqual([42]);
    expect(stored?.nextDevice).toBe(43);
  });

  it('runs out of device numbers only after device 99, the wire ceiling', async () => {
    expect(Limits.maxDevice).toBe(99);
    const a = await account();
    for (let n = 2; n <= 99; n++) {
      expect(await s.devices.add(a.userId, newDevice(), 3)).toEqual({ outcome: 'added', device: n });
      expect(await s.devices.remove(a.userId, n)).toBe(true);
    }
    const last = newDevice();
    expect(await s.devices.add(a.userId, last, 3)).toEqual({ outcome: 'exhausted' });
    const stored = await s.accounts.get(a.userId);
    expect(stored?.linked ?? []).toEqual([]);
    expect(stored?.linkedKeys).not.toContain(last.signingKey);
    expect(stored?.nextDevice).toBe(100);
  });

  it('links nothing to a missing account or one being deleted', async () => {
    expect(await s.devices.add(freshUserId(), newDevice(), 6)).toEqual({ outcome: 'missing' });
    const a = await account();
    await s.usernames.closeAccount(a.userId, T0);
    expect(await s.devices.add(a.userId, newDevice(), 6)).toEqual({ outcome: 'missing' });
    expect((await s.accounts.get(a.userId))?.linked).toBeUndefined();
  });

  it('activates a linked device once, adding it to devices', async () => {
    const a = await account();
    await s.devices.add(a.userId, newDevice(), 6);
    await s.devices.add(a.userId, newDevice(), 6);
    expect(await s.devices.activate(a.userId, 3)).toBe(true);
    expect(await s.devices.activate(a.userId, 3)).toBe(false);
    const stored = await s.accounts.get(a.userId);
    expect(stored?.devices).toEqual([1, 3]);
    expect(stored?.linked?.map((d) => [d.device, d.ready])).toEqual([
      [2, false],
      [3, true],
    ]);
    expect(await s.devices.activate(a.userId, 4)).toBe(false);
    expect(await s.devices.activate(a.userId, 1)).toBe(false);
    expect(await s.devices.activate(freshUserId(), 2)).toBe(false);
    expect((await s.accounts.get(a.userId))?.devices).toEqual([1, 3]);
  });

  it('removes a ready or pending device, never device 1, and answers false for none', async () => {
    const a = await account();
    for (let i = 0; i < 3; i++) await s.devices.add(a.userId, newDevice(), 6);
    await s.devices.activate(a.userId, 3);
    await s.devices.activate(a.userId, 2);
    expect(await s.devices.remove(a.userId, 3)).toBe(true);
    expect(await s.devices.remove(a.userId, 4)).toBe(true);
    expect(await s.devices.remove(a.userId, 3)).toBe(false);
    expect(await s.devices.remove(a.userId, 1)).toBe(false);
    expect(await s.devices.remove(freshUserId(), 2)).toBe(false);
    const stored = await s.accounts.get(a.userId);
    expect(stored?.devices).toEqual([1, 2]);
    expect(stored?.linked?.map((d) => d.device)).toEqual([2]);
  });

  it('removes concurrently with activations and other removals without losing any', async () => {
    const a = await account();
    for (let i = 0; i < 5; i++) await s.devices.add(a.userId, newDevice(), 6);
    await Promise.all([2, 3, 4, 5, 6].map((d) => s.devices.activate(a.userId, d)));
    const removed = await Promise.all([
      s.devices.remove(a.userId, 2),
      s.devices.remove(a.userId, 4),
      s.devices.remove(a.userId, 6),
      s.devices.remove(a.userId, 4),
    ]);
    expect(removed.filter(Boolean)).toHaveLength(3);
    const stored = await s.accounts.get(a.userId);
    expect([...(stored?.devices ?? [])].sort()).toEqual([1, 3, 5]);
    expect(stored?.linked?.map((d) => d.device)).toEqual([3, 5]);
  });

  it('keeps a link until it expires, replaces it, and removes it', async () => {
    const tmp = freshUserId();
    const link = { user: freshUserId(), device: 2, provision: 'cHJvdmlzaW9u' };
    expect(await s.links.get(tmp, T0)).toBeUndefined();
    await s.links.put(tmp, link, T0 / 1000 + 600);
    expect(await s.links.get(tmp, T0 + 599_999)).toEqual(link);
    expect(await s.links.get(tmp, T0 + 600_000)).toBeUndefined();
    expect(await s.links.get(freshUserId(), T0)).toBeUndefined();
    const again = { ...link, device: 3 };
    await s.links.put(tmp, again, T0 / 1000 + 600);
    expect(await s.links.get(tmp, T0)).toEqual(again);
    await s.links.remove(tmp);
    await s.links.remove(tmp);
    expect(await s.links.get(tmp, T0)).toBeUndefined();
  });
}

describe('MemoryDevices and MemoryLinks', () =>
  devicesContract(async () => {
    const accounts = new MemoryAccounts();
    return { accounts, devices: new MemoryDevices(accounts), links: new MemoryLinks(new MemoryQueue()), usernames: new MemoryUsernames(accounts) };
  }));

describe('DynamoDevices and DynamoLinks on dynalite', () => {
  const dynamo = useDynalite();
  devicesContract(async () => {
    const { db, names } = await dynamo.fresh();
    return {
      accounts: new DynamoAccounts(db, names.accounts),
      devices: new DynamoDevices(db, names.accounts),
      links: new DynamoLinks(db, names.queue),
      usernames: new DynamoUsernames(db, names.usernames, names.accounts),
    };
  });
});
