import { EbbClient, type EbbClientOptions, type KeyStore, MemoryStore } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { inbox, until } from '../support/sdk';
import { UNTHROTTLED } from '../support/local-stack';

// Archives here are about what they carry, not their cost: sealed at a test-only cheap N (test/support/cheap-archives.ts).
jest.mock('../../client-sdk/src/archive/format', () => jest.requireActual('../support/cheap-archives').cheapArchiveFormat());

/**
 * An account moves between operators: Alice and Bob talk on deployment A, which goes read-only and
 * then shuts down; each exports an archive, imports it against deployment B, and they talk on.
 */

const HOUR_MS = 3_600_000;
const PASSPHRASE = 'moving day, same keys';

/** Each deployment runs on its own clock; A's is advanced through its sunset phases. */
const clockA = { t: Date.now(), now: () => clockA.t };
const clockB = { t: Date.now(), now: () => clockB.t };

let stackA: LocalStack;
let stackB: LocalStack;
const clients: EbbClient[] = [];

beforeAll(async () => {
  const sunset = { readOnlyAt: new Date(clockA.t + HOUR_MS).toISOString(), shutdownAt: new Date(clockA.t + 2 * HOUR_MS).toISOString() };
  [stackA, stackB] = await Promise.all([
    startLocalStack({ port: 0, now: clockA.now, sweepIntervalMs: 60_000, config: { sunset, rateLimits: UNTHROTTLED } }),
    startLocalStack({ port: 0, now: clockB.now, sweepIntervalMs: 60_000, config: { rateLimits: UNTHROTTLED } }),
  ]);
});
afterAll(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all([stackA.stop(), stackB.stop()]);
});

function options(stack: LocalStack, clock: { now: () => number }, store: KeyStore): EbbClientOptions {
  return { url: stack.url, store, now: clock.now, reconnect: { baseDelayMs: 20, maxDelayMs: 200 }, timeoutMs: 5_000 };
}

async function client(store: KeyStore): Promise<EbbClient> {
  const c = await EbbClient.create(options(stackA, clockA, store));
  clients.push(c);
  return c;
}

describe('taking an account to another deployment', () => {
  it('exports from a read-only and a shut-down deployment, imports against a new one, registers there with the same ids and keeps talking', async () => {
    const alice = await client(new MemoryStore());
    const bob = await client(new MemoryStore());
    await Promise.all([alice.connect(), bob.connect()]);
    const [aliceOnA, bobOnA] = [inbox(alice), inbox(bob)];
    await alice.send(bob.userId, 'hello on A');
    await until(() => bobOnA.length === 1, 'bob to receive on A');
    await bob.send(alice.userId, 'hi back on A');
    await until(() => aliceOnA.length === 1, 'alice to receive on A');

    clockA.t += HOUR_MS + 1000;
    expect((await alice.status()).phase).toBe('read-only');
    const aliceArchive = await alice.exportArchive(PASSPHRASE);

    clockA.t += HOUR_MS;
    expect((await bob.status()).phase).toBe('shut-down');
    const bobArchive = await bob.exportArchive(PASSPHRASE);
    await alice.close();
    const aliceAgain = await alice.exportArchive(PASSPHRASE); // closed, on a shut-down service
    expect(aliceAgain).not.toEqual(aliceArchive); // fresh salt and nonce

    const aliceOnB = await EbbClient.importArchive(aliceArchive, PASSPHRASE, options(stackB, clockB, new MemoryStore()));
    const bobOnB = await EbbClient.importArchive(bobArchive, PASSPHRASE, options(stackB, clockB, new MemoryStore()));
    clients.push(aliceOnB, bobOnB);
    expect([aliceOnB.userId, bobOnB.userId]).toEqual([alice.userId, bob.userId]);
    expect(await stackB.ports.accounts.get(alice.userId)).toBeUndefined();

    await Promise.all([aliceOnB.connect(), bobOnB.connect()]);
    // Registered on B under the same self-certifying ids, with fresh prekeys published there.
    for (const user of [alice.userId, bob.userId]) {
      expect(await stackB.ports.accounts.get(user)).toBeDefined();
      expect(await stackB.ports.prekeys.signedPrekey({ userId: user, device: 1 })).toBeDefined();
      expect(await stackB.ports.prekeys.countOneTime({ userId: user, device: 1 })).toBeGreaterThan(0);
    }

    const [aliceInbox, bobInbox] = [inbox(aliceOnB), inbox(bobOnB)];
    const bobPrekeys = await stackB.ports.prekeys.countOneTime({ userId: bob.userId, device: 1 });
    const sent = await aliceOnB.send(bob.userId, 'hello on B');
    await until(() => bobInbox.length === 1, 'bob to receive on B');
    expect(bobInbox[0]).toMatchObject({ id: sent.id, from: alice.userId, text: 'hello on B' });
    await bobOnB.send(alice.userId, 'hi back on B');
    await until(() => aliceInbox.length === 1, 'alice to receive on B');
    expect(aliceInbox[0]).toMatchObject({ from: bob.userId, text: 'hi back on B' });
    // No archived sending chain went on: Alice started a new session with X3DH, using one of Bob's
    // one-time prekeys on B; Bob answered on it.
    expect(await stackB.ports.prekeys.countOneTime({ userId: bob.userId, device: 1 })).toBe(bobPrekeys - 1);
  });
});
