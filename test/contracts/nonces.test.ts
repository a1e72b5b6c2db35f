import { DynamoNonces } from '../../lambdas/adapters/dynamodb';
import { MemoryNonces } from '../../lambdas/adapters/memory';
import type { Nonces } from '../../lambdas/core/ports';
import { T0, freshUserId, useDynalite } from './backends';

/** The Nonces contract (lambdas/core/ports.ts), run against the memory and the DynamoDB adapter. */
function noncesContract(make: () => Promise<Nonces>): void {
  let nonces: Nonces;
  beforeEach(async () => {
    nonces = await make();
  });
  const expiresAt = T0 / 1000 + 300;

  it('grants the first claim of a key and refuses it again until it expires', async () => {
    const key = `${freshUserId()}#n1`;
    expect(await nonces.claim(key, expiresAt, T0)).toBe(true);
    expect(await nonces.claim(key, expiresAt + 100, T0 + 1)).toBe(false);
    expect(await nonces.claim(key, expiresAt + 100, expiresAt * 1000 - 1)).toBe(false);
    expect(await nonces.claim(`${freshUserId()}#n1`, expiresAt, T0)).toBe(true);
  });

  it('counts an expired claim as absent from the second it expires: the key may be claimed anew', async () => {
    const key = `${freshUserId()}#n2`;
    await nonces.claim(key, expiresAt, T0);
    expect(await nonces.claim(key, expiresAt + 60, expiresAt * 1000)).toBe(true);
    expect(await nonces.claim(key, expiresAt + 60, expiresAt * 1000 + 1)).toBe(false);
  });

  it('grants exactly one of many concurrent claims of one key', async () => {
    const key = `${freshUserId()}#n3`;
    const results = await Promise.all(Array.from({ length: 8 }, () => nonces.claim(key, expiresAt, T0)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });
}

describe('MemoryNonces', () => noncesContract(async () => new MemoryNonces()));

describe('DynamoNonces on dynalite', () => {
  const dynamo = useDynalite();
  noncesContract(async () => {
    const { db, names } = await dynamo.fresh();
    return new DynamoNonces(db, names.nonces);
  });
});
