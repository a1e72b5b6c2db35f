import { register } from '../../lambdas/core/accounts';
import { ack, send } from '../../lambdas/core/delivery';
import { fanout } from '../../lambdas/core/fanout';
import type { Caller, Ports, QueueCounts } from '../../lambdas/core/ports';
import { route as fanoutRoute } from '../../lambdas/handlers/fanout';
import { route as sendRoute } from '../../lambdas/handlers/send';
import { Limits } from '../../protocol/limits';
import type { SendFrame } from '../../protocol/frames';
import { anyCommitment } from '../support/franking';
import { makeIdentity, messageId, registerFrame, type TestIdentity } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';
import { identityEvent } from '../support/ws-event';

/**
 * Acks riding on `send` and `fanout` (ARCH §6.5): they remove only from the caller's own queue, only for a
 * current, unsuspended caller, and never at the cost of the send.
 */

type Ref = { id: string; sentAt: number };

let world: MemoryWorld;
let aliceId: TestIdentity;
let bobId: TestIdentity;
let alice: Caller;
let bob: Caller;

function setUp(config: Parameters<typeof memoryWorld>[0] = {}) {
  return async () => {
    world = memoryWorld(config);
    aliceId = makeIdentity();
    bobId = makeIdentity();
    alice = callerOf(aliceId);
    bob = callerOf(bobId);
    for (const id of [aliceId, bobId]) await register(world.ports, callerOf(id), registerFrame(id) as never);
  };
}

const sendFrame = (to: string, acks?: Ref[]): SendFrame => ({
  action: 'send',
  rid: 's',
  id: messageId(),
  to,
  messages: [{ device: 1, ciphertext: 'AAAA', commitment: anyCommitment() }],
  ...(acks && { acks }),
});

/** `from` queues `n` messages for `to`; their refs as `to` would ack them. */
async function queued(from: Caller, to: Caller, n: number): Promise<Ref[]> {
  for (let i = 0; i < n; i++) await send(world.ports, from, sendFrame(to.userId));
  return queue(to);
}

/** What is left in `of`'s queue, read from the store (a suspended caller may not fetch). */
const queue = async (of: Caller): Promise<Ref[]> =>
  (await world.queue.page({ userId: of.userId, device: of.device }, null, 1000, world.clock.now())).messages.map(({ id, sentAt }) => ({
    id,
    sentAt,
  }));

/** The route's answer: returned, or posted first when work followed it (a wake-up, ARCH §6.13). */
function answerOf(response: { body?: string }, id: TestIdentity): Record<string, unknown> {
  if (response.body !== undefined) return JSON.parse(response.body) as Record<string, unknown>;
  return world.notifier.pushes.filter((p) => p.connectionId === `c-${id.uid.slice(0, 6)}`).at(-1)!.frame;
}

describe('acks riding on a send', () => {
  beforeEach(setUp());

  it("remove the sender's own acked messages, and the send is delivered as without them", async () => {
    const toBob = await queued(alice, bob, 3);
    const receipt = await send(world.ports, bob, sendFrame(alice.userId, toBob.slice(0, 2)));
    expect(receipt).toMatchObject({ duplicate: false, acksApplied: true });
    expect(await queue(bob)).toEqual(toBob.slice(2));
    expect(await queue(alice)).toHaveLength(1);
  });

  it('answer no acksApplied when the frame carries no acks', async () => {
    const result = await send(world.ports, bob, sendFrame(alice.userId));
    expect(result).not.toHaveProperty('acksApplied');
  });

  it("of another user's message ids remove nothing from the recipient's queue", async () => {
    const toBob = await queued(alice, bob, 2);
    // Alice names Bob's messages (ids and times she knows as their sender): only her own queue is searched.
    const result = await send(world.ports, alice, sendFrame(bob.userId, toBob));
    expect(result.acksApplied).toBe(true);
    expect(await queue(bob)).toEqual(expect.arrayContaining(toBob));
    expect(await queue(bob)).toHaveLength(3);
  });

  it("of a suspended account's send are refused with it and remove nothing", async () => {
    const toBob = await queued(alice, bob, 2);
    await world.accounts.suspend(bob.userId, 'spam', world.clock.now());
    await expect(send(world.ports, bob, sendFrame(alice.userId, toBob))).rejects.toMatchObject({ code: 'ACCOUNT_SUSPENDED' });
    expect(await queue(bob)).toEqual(toBob);
    expect(await queue(alice)).toEqual([]);
  });

  it("of a device the account no longer has are refused with its send and remove nothing from that device's queue", async () => {
    const gone = callerOf(bobId, 'c-gone', 7);
    await world.queue.put({
      recipient: { userId: bob.userId, device: 7 },
      id: messageId(),
      from: { userId: alice.userId, device: 1 },
      sentAt: world.clock.now(),
      expiresAt: Math.ceil(world.clock.now() / 1000) + 3600,
      ciphertext: 'AAAA',
      frank: { commitment: anyCommitment(), tag: 'x', kid: 'k' },
      share: 'contact',
    });
    const left = await world.queue.page({ userId: bob.userId, device: 7 }, null, 10, world.clock.now());
    const refs = left.messages.map(({ id, sentAt }) => ({ id, sentAt }));
    await expect(send(world.ports, gone, sendFrame(alice.userId, refs))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect((await world.queue.page({ userId: bob.userId, device: 7 }, null, 10, world.clock.now())).messages).toHaveLength(1);
  });

  it('still apply when the send itself is refused: a spent rate limit, an unknown recipient', async () => {
    await setUp({ rateLimits: { sendPerMinute: 3 } })();
    const toBob = await queued(alice, bob, 3);
    await send(world.ports, bob, sendFrame(alice.userId));
    await send(world.ports, bob, sendFrame(alice.userId));
    await send(world.ports, bob, sendFrame(alice.userId));
    await expect(send(world.ports, bob, sendFrame(alice.userId, [toBob[0]!]))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(await queue(bob)).toEqual(toBob.slice(1));
    await expect(send(world.ports, bob, sendFrame(makeIdentity().uid, [toBob[1]!]))).rejects.toMatchObject({ code: 'RATE_LIMITED' });
    expect(await queue(bob)).toEqual(toBob.slice(2));
  });

  it('that fail to apply leave the send delivered and answered acksApplied: false', async () => {
    const toBob = await queued(alice, bob, 1);
    const remove = jest.spyOn(world.queue, 'remove').mockRejectedValueOnce(new Error('throttled'));
    const result = await send(world.ports, bob, sendFrame(alice.userId, toBob));
    expect(remove).toHaveBeenCalled();
    expect(result).toMatchObject({ acksApplied: false, duplicate: false });
    expect(await queue(alice)).toHaveLength(1);
    expect(await queue(bob)).toEqual(toBob);
  });

  it('applied twice (a send re-sent, then the same ack) give back each message once', async () => {
    const toBob = await queued(alice, bob, 1);
    const released: QueueCounts[] = [];
    // The memory queue counts what it holds; the DynamoDB one subtracts what `release` is given.
    const port: Ports['queue'] = world.queue;
    jest.spyOn(port, 'release').mockImplementation(async (address, counts) => {
      if (address.userId === bob.userId) released.push(counts);
    });
    const frame = sendFrame(alice.userId, toBob);
    await send(world.ports, bob, frame);
    const again = await send(world.ports, bob, frame);
    expect(again).toMatchObject({ duplicate: true, acksApplied: true });
    await ack(world.ports, bob, { action: 'ack', rid: 'a', messages: toBob });
    // Bob's queue only: the re-sent send's own dropped copy gives back a place in Alice's.
    expect(released.filter((c) => c.messages > 0)).toEqual([{ messages: 1, strangers: 1 }]);
    expect(await queue(bob)).toEqual([]);
  });
});

describe('acks riding on a fanout', () => {
  beforeEach(setUp());

  const fanoutFrame = (to: Caller, acks?: Ref[]) => ({
    action: 'fanout' as const,
    rid: 'g',
    id: messageId(),
    ciphertext: 'AAAA',
    commitment: anyCommitment(),
    recipients: [{ user: to.userId, devices: [1] }],
    ...(acks && { acks }),
  });

  it("remove the caller's own acked messages and nobody else's", async () => {
    const toBob = await queued(alice, bob, 2);
    const result = await fanout(world.ports, bob, fanoutFrame(alice, [toBob[0]!]));
    expect(result).toMatchObject({ acksApplied: true, unknown: [], full: [] });
    expect(await queue(bob)).toEqual([toBob[1]]);
    const other = await fanout(world.ports, alice, fanoutFrame(bob, [toBob[1]!]));
    expect(other.acksApplied).toBe(true);
    expect(await queue(bob)).toHaveLength(2);
  });

  it("of a suspended account's fanout remove nothing", async () => {
    const toBob = await queued(alice, bob, 1);
    await world.accounts.suspend(bob.userId, 'spam', world.clock.now());
    await expect(fanout(world.ports, bob, fanoutFrame(alice, toBob))).rejects.toMatchObject({ code: 'ACCOUNT_SUSPENDED' });
    expect(await queue(bob)).toEqual(toBob);
  });
});

describe('a malformed acks field', () => {
  beforeEach(setUp());

  const ref = { id: 'AAAAAAAAAAAAAAAAAAAAAA', sentAt: Date.UTC(2027, 0, 1) };
  const cases: [string, unknown][] = [
    ['an empty list', []],
    ['an entry without sentAt', [{ id: ref.id }]],
    ['not a list', { ...ref }],
    ['an id that is not a message id', [{ id: 'not an id!', sentAt: ref.sentAt }]],
    ['more entries than one ack may name', Array.from({ length: Limits.maxAckBatch + 1 }, (_, i) => ({ ...ref, sentAt: ref.sentAt + i }))],
  ];

  it.each(cases)('is BAD_REQUEST and nothing is sent or removed: %s', async (_, acks) => {
    const toBob = await queued(alice, bob, 1);
    const badSend = await sendRoute.invoke(identityEvent('send', bobId, { ...sendFrame(alice.userId), rid: 'b1', acks }), world.ports);
    expect(answerOf(badSend, bobId)).toMatchObject({ type: 'error', rid: 'b1', code: 'BAD_REQUEST' });
    const badFanout = await fanoutRoute.invoke(
      identityEvent('fanout', bobId, {
        action: 'fanout',
        rid: 'b2',
        id: messageId(),
        ciphertext: 'AAAA',
        commitment: anyCommitment(),
        recipients: [{ user: alice.userId, devices: [1] }],
        acks,
      }),
      world.ports,
    );
    expect(answerOf(badFanout, bobId)).toMatchObject({ type: 'error', rid: 'b2', code: 'BAD_REQUEST' });
    expect(await queue(alice)).toEqual([]);
    expect(await queue(bob)).toEqual(toBob);
  });

  it('is accepted at the bound: as many entries as one ack may name', async () => {
    const toBob = await queued(alice, bob, 1);
    const acks = [...toBob, ...Array.from({ length: Limits.maxAckBatch - 1 }, (_, i) => ({ ...ref, sentAt: ref.sentAt + i }))];
    const answer = await sendRoute.invoke(identityEvent('send', bobId, { ...sendFrame(alice.userId), rid: 'ok', acks }), world.ports);
    expect(answerOf(answer, bobId)).toMatchObject({ type: 'result', rid: 'ok', acksApplied: true });
    expect(await queue(bob)).toEqual([]);
  });
});
