import { randomBytes } from 'node:crypto';
import { DynamoPrekeys } from '../../lambdas/adapters/dynamodb';
import { MemoryPrekeys } from '../../lambdas/adapters/memory';
import type { DeviceAddress, Prekeys } from '../../lambdas/core/ports';
import { freshUserId, useDynalite } from './backends';

/** The Prekeys contract (lambdas/core/ports.ts), run against the memory and the DynamoDB adapter. */
function prekeysContract(make: () => Promise<Prekeys>): void {
  let prekeys: Prekeys;
  let owner: DeviceAddress;
  beforeEach(async () => {
    prekeys = await make();
    owner = { userId: freshUserId(), device: 1 };
  });

  const key = () => randomBytes(32).toString('base64url');
  const oneTime = (...ids: number[]) => ids.map((keyId) => ({ keyId, publicKey: key() }));
  const signed = (keyId: number) => ({ keyId, publicKey: key(), signature: randomBytes(64).toString('base64url') });

  it('reads a device without prekeys as no signed prekey, none to count and none to take', async () => {
    expect(await prekeys.signedPrekey(owner)).toBeUndefined();
    expect(await prekeys.countOneTime(owner)).toBe(0);
    expect(await prekeys.countOneTime(owner, 5)).toBe(0);
    expect(await prekeys.takeOneTime(owner)).toBeUndefined();
    await prekeys.removeOneTime(owner, [1, 2]);
  });

  it('keeps the latest signed prekey per device', async () => {
    const [first, second] = [signed(1), signed(2)];
    await prekeys.putSignedPrekey(owner, first);
    await prekeys.putSignedPrekey(owner, second);
    expect(await prekeys.signedPrekey(owner)).toEqual(second);
    expect(await prekeys.signedPrekey({ ...owner, device: 2 })).toBeUndefined();
  });

  it('counts one-time prekeys, up to a bound when given, a re-upload of a key id counting once', async () => {
    await prekeys.putOneTimePrekeys(owner, oneTime(1, 2, 3, 4, 5));
    await prekeys.putOneTimePrekeys(owner, oneTime(5, 6));
    await prekeys.putSignedPrekey(owner, signed(1));
    expect(await prekeys.countOneTime(owner)).toBe(6);
    expect(await prekeys.countOneTime(owner, 4)).toBe(4);
    expect(await prekeys.countOneTime(owner, 10)).toBe(6);
    expect(await prekeys.countOneTime(owner, 1)).toBe(1);
    expect(await prekeys.countOneTime(owner, 0)).toBe(0);
  });

  it('hands out the lowest key id first, each once, as uploaded', async () => {
    const keys = oneTime(30, 7, 12);
    await prekeys.putOneTimePrekeys(owner, keys);
    const taken = [await prekeys.takeOneTime(owner), await prekeys.takeOneTime(owner), await prekeys.takeOneTime(owner)];
    expect(taken).toEqual([keys[1], keys[2], keys[0]]);
    expect(await prekeys.takeOneTime(owner)).toBeUndefined();
  });

  it('never hands one key to two concurrent takers', async () => {
    await prekeys.putOneTimePrekeys(owner, oneTime(...Array.from({ length: 8 }, (_, i) => i + 1)));
    const taken = await Promise.all(Array.from({ length: 12 }, () => prekeys.takeOneTime(owner)));
    const ids = taken.filter((k) => k !== undefined).map((k) => k.keyId);
    expect(ids.sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(taken.filter((k) => k === undefined)).toHaveLength(4);
  });

  it('removes the given one-time prekeys, missing ones being no error', async () => {
    await prekeys.putOneTimePrekeys(owner, oneTime(1, 2, 3));
    await prekeys.removeOneTime(owner, [2, 9]);
    expect(await prekeys.countOneTime(owner)).toBe(2);
    expect((await prekeys.takeOneTime(owner))?.keyId).toBe(1);
    expect((await prekeys.takeOneTime(owner))?.keyId).toBe(3);
  });

  it("removes every prekey of the device and counts them, leaving the user's other devices alone", async () => {
    const other = { ...owner, device: 2 };
    await prekeys.putSignedPrekey(owner, signed(1));
    await prekeys.putOneTimePrekeys(owner, oneTime(1, 2, 3));
    await prekeys.putOneTimePrekeys(other, oneTime(1));
    expect(await prekeys.removeAll(owner)).toBe(4);
    expect(await prekeys.signedPrekey(owner)).toBeUndefined();
    expect(await prekeys.countOneTime(owner)).toBe(0);
    expect(await prekeys.countOneTime(other)).toBe(1);
    expect(await prekeys.removeAll(owner)).toBe(0);
  });
}

describe('MemoryPrekeys', () => prekeysContract(async () => new MemoryPrekeys()));

describe('DynamoPrekeys on dynalite', () => {
  const dynamo = useDynalite();
  prekeysContract(async () => {
    const { db, names } = await dynamo.fresh();
    return new DynamoPrekeys(db, names.prekeys);
  });
});
