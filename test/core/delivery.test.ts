import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol';
import { register } from '../../lambdas/core/accounts';
import { connectionOpened } from '../../lambdas/core/connect';
import { ack, fetch, send } from '../../lambdas/core/delivery';
import { queueShareOf, setDeliveryToken } from '../../lambdas/core/delivery-tokens';
import { Refusal } from '../../lambdas/core/refusal';
import type { Caller } from '../../lambdas/core/ports';
import { makeIdentity, messageId, registerFrame, type TestIdentity } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';
import { anyCommitment } from '../support/franking';

const ciphertext = (bytes = 64) => toBase64Url(nacl.randomBytes(bytes));

async function registered(world: MemoryWorld, id: TestIdentity): Promise<Caller> {
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  return caller;
}

function sendFrame(to: string, id = messageId(), extra: Record<string, unknown> = {}) {
  return { action: 'send' as const, rid: 'r', id, to, messages: [{ device: 1, ciphertext: ciphertext(), commitment: anyCommitment() }], ...extra };
}

async function expectRefusal(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toBeInstanceOf(Refusal);
  await expect(promise).rejects.toMatchObject({ code });
}

/** Alice and Bob, registered in a fresh world for every test. */
let world: MemoryWorld;
let alice: Caller;
let bob: Caller;
beforeEach(async () => {
  world = memoryWorld();
  alice = await registered(world, makeIdentity());
  bob = await registered(world, makeIdentity());
});

describe('send', () => {
  it('queues durably before pushing, and pushes to the recipient device only', async () => {
    await connectionOpened(world.ports, bob);
    await connectionOpened(world.ports, alice);
    const frame = sendFrame(bob.userId);
    const result = await send(world.ports, alice, frame);

    expect(result).toMatchObject({ id: frame.id, sentAt: world.clock.t, duplicate: false });
    const page = await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t);
    expect(page.messages.map((m) => m.id)).toEqual([frame.id]);
    expect(world.notifier.pushes).toHaveLength(1);
    expect(world.notifier.pushes[0]).toMatchObject({
      connectionId: bob.connectionId,
      frame: { type: 'message', id: frame.id, from: { user: alice.userId, device: 1 } },
    });
  });

  it('loses nothing when the push fails: the message waits in the queue', async () => {
    await connectionOpened(world.ports, bob);
    world.notifier.gone.add(bob.connectionId);
    const frame = sendFrame(bob.userId);
    await send(world.ports, alice, frame);
    const page = await fetch(world.ports, bob, { action: 'fetch', rid: 'f' });
    expect(page.messages.map((m) => m.id)).toEqual([frame.id]);
  });

  it('deletes the recipient connection on a gone push, never the sender connection', async () => {
    await connectionOpened(world.ports, bob);
    await connectionOpened(world.ports, alice);
    world.notifier.gone.add(bob.connectionId);
    await send(world.ports, alice, sendFrame(bob.userId));
    expect(await world.connections.ofUser(bob.userId, world.clock.t)).toEqual([]);
    expect((await world.connections.ofUser(alice.userId, world.clock.t)).map((c) => c.connectionId)).toEqual([alice.connectionId]);
  });

  it('is idempotent by message id: a retry at a later server time is queued once and answers the original time', async () => {
    const frame = sendFrame(bob.userId);
    const first = await send(world.ports, alice, frame);
    world.clock.t += 1500;
    const retry = await send(world.ports, alice, frame);
    expect(retry).toMatchObject({ id: frame.id, sentAt: first.sentAt, duplicate: true });
    const page = await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t);
    expect(page.messages).toHaveLength(1);
  });

  it('keeps the message when a retry arrives in the same millisecond (the copy shares its key)', async () => {
    const frame = sendFrame(bob.userId);
    await send(world.ports, alice, frame);
    await expect(send(world.ports, alice, frame)).resolves.toMatchObject({ duplicate: true });
    const page = await world.queue.page({ userId: bob.userId, device: 1 }, null, 10, world.clock.t);
    expect(page.messages.map((m) => m.id)).toEqual([frame.id]);
  });

  it('refuses a send to a full queue with RATE_LIMITED and retryAfterSeconds', async () => {
    world = memoryWorld({ maxQueueDepth: 2, strangerQueuePercent: 100 });
    [alice, bob] = [await registered(world, makeIdentity()), await registered(world, makeIdentity())];
    await send(world.ports, alice, sendFrame(bob.userId));
    await send(world.ports, alice, sendFrame(bob.userId));
    await expect(send(world.ports, alice, sendFrame(bob.userId))).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
  });

  it('does not requeue a retry that arrives after the recipient acked the original', async () => {
    const frame = sendFrame(bob.userId);
    const first = await send(world.ports, alice, frame);
    await ack(world.ports, bob, { action: 'ack', rid: 'a', messages: [{ id: frame.id, sentAt: first.sentAt }] });
    world.clock.t += 10;
    await send(world.ports, alice, frame);
    expect((await fetch(world.ports, bob, { action: 'fetch', rid: 'f' })).messages).toEqual([]);
  });

  it('keeps two senders that chose the same id apart', async () => {
    const carol = await registered(world, makeIdentity());
    const id = messageId();
    await send(world.ports, alice, sendFrame(bob.userId, id));
    world.clock.t += 1;
    const fromCarol = await send(world.ports, carol, sendFrame(bob.userId, id));
    expect(fromCarol.duplicate).toBe(false);
    expect((await fetch(world.ports, bob, { action: 'fetch', rid: 'f' })).messages.map((m) => m.from.user)).toEqual([alice.userId, carol.userId]);
  });

  it('caps expiresInSeconds at retentionDays', async () => {
    const result = await send(world.ports, alice, sendFrame(bob.userId, messageId(), { expiresInSeconds: 365 * 86400 }));
    expect(result.expiresAt).toBe(Math.ceil((world.clock.t + 30 * 86400 * 1000) / 1000) * 1000);
    const short = await send(world.ports, alice, sendFrame(bob.userId, messageId(), { expiresInSeconds: 5 }));
    expect(short.expiresAt).toBe(Math.ceil((world.clock.t + 5000) / 1000) * 1000);
  });

  it('refuses unknown recipients, oversize ciphertext and unregistered senders, and writes nothing for unknown devices', async () => {
    await expectRefusal(send(world.ports, alice, sendFrame(makeIdentity().uid)), 'NOT_FOUND');
    // A device the recipient does not have is stale (ARCH §6.8): answered, never written.
    await expect(
      send(world.ports, alice, { ...sendFrame(bob.userId), messages: [{ device: 2, ciphertext: ciphertext(), commitment: anyCommitment() }] }),
    ).resolves.toMatchObject({ duplicate: false, missing: [1], stale: [2] });
    expect(world.queue.messages.get(`${bob.userId}#2`)).toBeUndefined();
    await expectRefusal(
      send(world.ports, alice, { ...sendFrame(bob.userId), messages: [{ device: 1, ciphertext: ciphertext(16385), commitment: anyCommitment() }] }),
      'PAYLOAD_TOO_LARGE',
    );
    await expectRefusal(send(world.ports, callerOf(makeIdentity()), sendFrame(bob.userId)), 'FORBIDDEN');
    expect((await fetch(world.ports, bob, { action: 'fetch', rid: 'f' })).messages).toEqual([]);
  });
});

describe("delivery tokens and the strangers' share (ARCH §6.6)", () => {
  const token = () => toBase64Url(nacl.randomBytes(32));
  const setToken = (caller: Caller, value: string) => setDeliveryToken(world.ports, caller, { action: 'deliveryToken.set', rid: 't', token: value });

  it('lets strangers fill only their share and contacts presenting the token the rest', async () => {
    world = memoryWorld({ maxQueueDepth: 4, strangerQueuePercent: 50 });
    const [alice, bob, carol] = [
      await registered(world, makeIdentity()),
      await registered(world, makeIdentity()),
      await registered(world, makeIdentity()),
    ];
    const bobToken = token();
    await expect(setToken(bob, bobToken)).resolves.toEqual({ changed: true });
    await send(world.ports, alice, sendFrame(bob.userId));
    await send(world.ports, alice, sendFrame(bob.userId));
    await expect(send(world.ports, alice, sendFrame(bob.userId))).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
    await expect(send(world.ports, alice, sendFrame(bob.userId, messageId(), { deliveryToken: token() }))).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    await send(world.ports, carol, sendFrame(bob.userId, messageId(), { deliveryToken: bobToken }));
    await send(world.ports, carol, sendFrame(bob.userId, messageId(), { deliveryToken: bobToken }));
    await expect(send(world.ports, carol, sendFrame(bob.userId, messageId(), { deliveryToken: bobToken }))).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });

    const page = await fetch(world.ports, bob, { action: 'fetch', rid: 'f' });
    const fromAlice = page.messages.find((m) => m.from.user === alice.userId)!;
    await ack(world.ports, bob, { action: 'ack', rid: 'a', messages: [{ id: fromAlice.id, sentAt: fromAlice.sentAt }] });
    await expect(send(world.ports, alice, sendFrame(bob.userId))).resolves.toMatchObject({ duplicate: false });
  });

  it("counts a sender as a contact only for the recipient's current token", async () => {
    const recipient = (await world.accounts.get(bob.userId))!;
    expect(queueShareOf(recipient, alice.userId, token())).toBe('stranger');
    expect(queueShareOf(recipient, bob.userId, undefined)).toBe('contact');
    const first = token();
    await setToken(bob, first);
    expect(queueShareOf((await world.accounts.get(bob.userId))!, alice.userId, first)).toBe('contact');
    await expect(setToken(bob, first)).resolves.toEqual({ changed: false });
    await setToken(bob, token());
    const rotated = (await world.accounts.get(bob.userId))!;
    expect(queueShareOf(rotated, alice.userId, first)).toBe('stranger');
    expect(queueShareOf(rotated, alice.userId, undefined)).toBe('stranger');
    // Only a hash is stored.
    expect(JSON.stringify(rotated)).not.toContain(first);
  });

  it('sets the token whenever send is allowed, and refuses it from read-only on and to the unregistered', async () => {
    world = memoryWorld({
      sunset: {
        signupsCloseAt: '2027-01-02T00:00:00Z',
        readOnlyAt: '2027-01-03T00:00:00Z',
        shutdownAt: null,
        purgeAt: null,
        noticeUrl: null,
        message: null,
      },
    });
    const carol = await registered(world, makeIdentity());
    await expectRefusal(
      setDeliveryToken(world.ports, callerOf(makeIdentity()), { action: 'deliveryToken.set', rid: 't', token: token() }),
      'FORBIDDEN',
    );
    world.clock.t = Date.UTC(2027, 0, 2, 12);
    await expect(setDeliveryToken(world.ports, carol, { action: 'deliveryToken.set', rid: 't', token: token() })).resolves.toEqual({ changed: true });
    world.clock.t = Date.UTC(2027, 0, 3, 12);
    await expectRefusal(setDeliveryToken(world.ports, carol, { action: 'deliveryToken.set', rid: 't', token: token() }), 'SERVICE_READ_ONLY');
  });

  it('logs no line naming both sender and recipient, nor the token', async () => {
    const lines: Record<string, unknown>[] = [];
    const record = (message: string, fields?: Record<string, unknown>) => void lines.push({ message, ...fields });
    const ports = { ...world.ports, logger: { info: record, warn: record, error: record } };
    const bobToken = token();
    await setDeliveryToken(ports, bob, { action: 'deliveryToken.set', rid: 't', token: bobToken });
    await connectionOpened(world.ports, bob);
    world.notifier.gone.add(bob.connectionId);
    await send(ports, alice, sendFrame(bob.userId, messageId(), { deliveryToken: bobToken }));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const text = JSON.stringify(line);
      expect(text.includes(alice.userId) && text.includes(bob.userId)).toBe(false);
      expect(text).not.toContain(bobToken);
      if (line.message !== 'delivery token set') expect(text).not.toContain(bob.userId);
    }
  });
});

describe('fetch and ack', () => {
  it('drains in send order across pages', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) {
      const frame = sendFrame(bob.userId);
      ids.push(frame.id);
      await send(world.ports, alice, frame);
      world.clock.t += 1;
    }
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await fetch(world.ports, bob, { action: 'fetch', rid: 'f', limit: 3, after });
      seen.push(...page.messages.map((m) => m.id));
      if (!page.more) break;
      after = page.cursor!;
    }
    expect(seen).toEqual(ids);
  });

  it('keeps a page within one API Gateway message', async () => {
    for (let i = 0; i < 8; i++) {
      await send(world.ports, alice, {
        ...sendFrame(bob.userId),
        messages: [{ device: 1, ciphertext: ciphertext(16384), commitment: anyCommitment() }],
      });
      world.clock.t += 1;
    }
    const page = await fetch(world.ports, bob, { action: 'fetch', rid: 'f' });
    expect(page.more).toBe(true);
    expect(JSON.stringify(page).length).toBeLessThan(128 * 1024);
    const rest = await fetch(world.ports, bob, { action: 'fetch', rid: 'f', after: page.cursor! });
    expect(page.messages.length + rest.messages.length).toBe(8);
  });

  it('filters expired messages even before TTL deletes them', async () => {
    await send(world.ports, alice, sendFrame(bob.userId, messageId(), { expiresInSeconds: 1 }));
    world.clock.t += 3000;
    expect((await fetch(world.ports, bob, { action: 'fetch', rid: 'f' })).messages).toEqual([]);
  });

  it('acks delete from the caller own queue only', async () => {
    const frame = sendFrame(bob.userId);
    const sent = await send(world.ports, alice, frame);
    // Alice tries to ack Bob's message: her own queue is addressed, Bob's is untouched.
    await ack(world.ports, alice, { action: 'ack', rid: 'a', messages: [{ id: frame.id, sentAt: sent.sentAt }] });
    expect((await fetch(world.ports, bob, { action: 'fetch', rid: 'f' })).messages).toHaveLength(1);
    await ack(world.ports, bob, { action: 'ack', rid: 'a', messages: [{ id: frame.id, sentAt: sent.sentAt }] });
    expect((await fetch(world.ports, bob, { action: 'fetch', rid: 'f' })).messages).toHaveLength(0);
  });

  it('rejects a cursor it did not produce', async () => {
    await expectRefusal(fetch(world.ports, bob, { action: 'fetch', rid: 'f', after: 'd#someone#xxxxxxxxxxxxxxxx' }), 'BAD_REQUEST');
  });
});

describe('send without transactions under faults', () => {
  it('never loses a message when the process dies between the queue write and the dedup marker', async () => {
    const world = memoryWorld();
    const alice = await registered(world, makeIdentity());
    const bob = await registered(world, makeIdentity());
    const frame = sendFrame(bob.userId);
    const claim = world.queue.claim.bind(world.queue);
    world.queue.claim = async () => {
      throw new Error('crash');
    };
    await expect(send(world.ports, alice, frame)).rejects.toThrow('crash');
    world.queue.claim = claim;
    world.clock.t += 5;
    await send(world.ports, alice, frame);
    const ids = (await fetch(world.ports, bob, { action: 'fetch', rid: 'f' })).messages.map((m) => m.id);
    // At-least-once: both copies carry the same id, which the SDK delivers to the app once.
    expect(ids.length).toBeGreaterThanOrEqual(1);
    expect(new Set(ids)).toEqual(new Set([frame.id]));
  });
});
