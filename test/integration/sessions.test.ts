import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore, type KeyStore, MemoryStore } from '../../client-sdk/src';
import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { inbox, until } from '../support/sdk';
import { sdkSuite } from '../support/local-stack';

/**
 * Signal-style sessions through the real local stack. An identity change is a device that keeps
 * its signing key (so its user id) but comes back with a new X25519 identity key: registering
 * again, signed by the same signing key, rotates the key the service holds.
 */

const clock = { t: Date.now(), now: () => clock.t };

const env = sdkSuite({ now: clock.now, sweepIntervalMs: 60_000 }, { now: clock.now, reconnect: { baseDelayMs: 20, maxDelayMs: 200 } });

const client = (store?: KeyStore) => env.client(store);

/** Ciphertexts queued for `userId`'s device 1, oldest first. */
async function queued(userId: string): Promise<Uint8Array[]> {
  const page = await env.stack.ports.queue.page({ userId, device: 1 }, null, 100, clock.now());
  return page.messages.map((m) => fromBase64Url(m.ciphertext));
}

/** A registered account that is offline, with its store to come back with. */
async function offlineAccount(store: KeyStore = new MemoryStore()): Promise<{ userId: string; store: KeyStore }> {
  const c = await client(store);
  await c.connect();
  await c.close();
  return { userId: c.userId, store };
}

describe('sessions through the local stack', () => {
  it('encrypts identical plaintexts sent twice to unrelated ciphertexts', async () => {
    const bob = await offlineAccount();
    const alice = await client();
    await alice.connect();
    await alice.send(bob.userId, 'same words');
    clock.t += 1;
    await alice.send(bob.userId, 'same words');

    const [first, second] = await queued(bob.userId);
    expect(first!.length).toBe(second!.length);
    // Same X3DH header until Bob replies (170 bytes); the ratchet header and ciphertext differ.
    expect(first!.subarray(0, 170)).toEqual(second!.subarray(0, 170));
    const rest = [first!.subarray(170 + 32 + 8), second!.subarray(170 + 32 + 8)];
    const equalBytes = rest[0]!.filter((b, i) => b === rest[1]![i]).length;
    expect(equalBytes).toBeLessThan(rest[0]!.length / 16); // ~1/256 coincide by chance

    const bobBack = await client(bob.store);
    const received = inbox(bobBack);
    await bobBack.connect();
    expect(received.map((m) => m.text)).toEqual(['same words', 'same words']);
  });

  it('hands each one-time prekey out once: two initiators get different ones', async () => {
    const bob = await offlineAccount();
    const before = await env.stack.ports.prekeys.countOneTime({ userId: bob.userId, device: 1 });
    const [carol, dave] = [await client(), await client()];
    await Promise.all([carol.connect(), dave.connect()]);
    await Promise.all([carol.send(bob.userId, 'from carol'), dave.send(bob.userId, 'from dave')]);
    expect(await env.stack.ports.prekeys.countOneTime({ userId: bob.userId, device: 1 })).toBe(before - 2);

    const oneTimeIds = (await queued(bob.userId)).map((c) => Buffer.from(c.subarray(166, 170)).readUInt32BE(0));
    expect(oneTimeIds).toHaveLength(2);
    expect(oneTimeIds[0]).not.toBe(oneTimeIds[1]);
    const privateBefore = (await bob.store.list('prekeys/one-time/')).length;

    const bobBack = await client(bob.store);
    const received = inbox(bobBack);
    await bobBack.connect();
    expect(received.map((m) => m.text).sort()).toEqual(['from carol', 'from dave']);
    // Bob deleted both private halves once the sessions were stored.
    for (const id of oneTimeIds) expect(await bob.store.get(`prekeys/one-time/${id}`)).toBeUndefined();
    expect((await bob.store.list('prekeys/one-time/')).length).toBe(privateBefore - 2);
  });

  it('carries a conversation on in both directions after both clients restart from their FileStores', async () => {
    const dirs = await Promise.all([mkdtemp(join(tmpdir(), 'ebb-alice-')), mkdtemp(join(tmpdir(), 'ebb-bob-'))]);
    try {
      const [aliceDir, bobDir] = dirs as [string, string];
      let alice = await client(new FileStore(aliceDir));
      let bob = await client(new FileStore(bobDir));
      await Promise.all([alice.connect(), bob.connect()]);
      let [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
      await alice.send(bob.userId, 'a1');
      await until(() => bobInbox.length === 1, 'a1');
      await bob.send(alice.userId, 'b1');
      await until(() => aliceInbox.length === 1, 'b1');
      await Promise.all([alice.close(), bob.close()]);

      alice = await client(new FileStore(aliceDir));
      bob = await client(new FileStore(bobDir));
      await alice.connect();
      const bobPrekeys = await env.stack.ports.prekeys.countOneTime({ userId: bob.userId, device: 1 });
      await alice.send(bob.userId, 'a2, while bob is away');
      // Alice continued her ratchet: a plain ratchet message, and no bundle fetched.
      const [a2] = await queued(bob.userId);
      expect([a2![0], a2![1]]).toEqual([2, 0]);
      expect(await env.stack.ports.prekeys.countOneTime({ userId: bob.userId, device: 1 })).toBe(bobPrekeys);
      [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
      await bob.connect();
      expect(bobInbox.map((m) => m.text)).toEqual(['a2, while bob is away']);
      await bob.send(alice.userId, 'b2');
      await until(() => aliceInbox.length === 1, 'b2');
      expect(aliceInbox[0]!.text).toBe('b2');
    } finally {
      await env.closeAll();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  });

  it('fires identityChanged when a peer comes back with a new identity key, and blocks sends until accepted', async () => {
    const alice = await client();
    await alice.connect();
    const bobStore = new MemoryStore();
    const bob = await client(bobStore);
    await bob.connect();
    const bobInbox = inbox(bob);
    await alice.send(bob.userId, 'before');
    await until(() => bobInbox.length === 1, 'the first message');
    await bob.close();

    // Bob reinstalls keeping only his signing key: same user id, fresh X25519 identity key.
    const { signingSeed } = JSON.parse((await bobStore.get('identity'))!) as { signingSeed: string };
    const reinstalledStore = new MemoryStore();
    await reinstalledStore.set(
      'identity',
      JSON.stringify({ signingSeed, identitySecretKey: toBase64Url(nacl.randomBytes(nacl.box.secretKeyLength)) }),
    );
    const reinstalled = await client(reinstalledStore);
    expect(reinstalled.userId).toBe(bob.userId);
    await reinstalled.connect();
    const reinstalledInbox = inbox(reinstalled);

    const changes: string[] = [];
    alice.on('identityChanged', (e) => changes.push(e.userId));
    const aliceInbox = inbox(alice);
    await reinstalled.send(alice.userId, 'new phone, who dis');
    await until(() => aliceInbox.length === 1, 'the message from the new identity');
    expect(changes).toEqual([bob.userId]);
    expect(aliceInbox[0]).toMatchObject({ text: 'new phone, who dis', identityChanged: true });
    expect(await alice.safetyNumber(bob.userId)).toBe(await reinstalled.safetyNumber(alice.userId));

    await expect(alice.send(bob.userId, 'blocked')).rejects.toMatchObject({ code: 'FORBIDDEN', retryable: false });
    await alice.acceptIdentity(bob.userId);
    await alice.send(bob.userId, 'welcome back');
    await until(() => reinstalledInbox.length === 1, 'the reply after acceptance');
    expect(reinstalledInbox[0]!.text).toBe('welcome back');
  });
});
