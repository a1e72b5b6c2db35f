import { register } from '../../lambdas/core/accounts';
import { fetch, send } from '../../lambdas/core/delivery';
import { route as ackRoute } from '../../lambdas/handlers/ack';
import { anyCommitment } from '../support/franking';
import { makeIdentity, messageId, registerFrame, type TestIdentity } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';
import { identityEvent } from '../support/ws-event';

/** An `ack` frame as API Gateway hands it to the route, from `id`'s connection. */
const ackEvent = (id: TestIdentity, body: unknown) => identityEvent('ack', id, body);

let world: MemoryWorld;
let aliceId: TestIdentity;
let bobId: TestIdentity;
beforeEach(async () => {
  world = memoryWorld();
  aliceId = makeIdentity();
  bobId = makeIdentity();
  for (const id of [aliceId, bobId]) await register(world.ports, callerOf(id), registerFrame(id) as never);
});

/** Alice queues `n` messages for Bob; their `{ id, sentAt }` as Bob would ack them. */
async function queued(n: number): Promise<{ id: string; sentAt: number }[]> {
  for (let i = 0; i < n; i++) {
    await send(world.ports, callerOf(aliceId), {
      action: 'send',
      rid: 's',
      id: messageId(),
      to: bobId.uid,
      messages: [{ device: 1, ciphertext: 'AAAA', commitment: anyCommitment() }],
    });
  }
  const page = await fetch(world.ports, callerOf(bobId), { action: 'fetch', rid: 'f' });
  return page.messages.map(({ id, sentAt }) => ({ id, sentAt }));
}

const remaining = async () => (await fetch(world.ports, callerOf(bobId), { action: 'fetch', rid: 'f' })).messages.length;

describe('a quiet ack', () => {
  it('removes the messages and sends no result frame, where an ordinary ack answers one', async () => {
    const [first, second] = await queued(2);
    const quiet = await ackRoute.invoke(ackEvent(bobId, { action: 'ack', rid: 'q', quiet: true, messages: [first] }), world.ports);
    expect(quiet).toEqual({ statusCode: 200 });
    expect(await remaining()).toBe(1);
    const answered = await ackRoute.invoke(ackEvent(bobId, { action: 'ack', rid: 'a', messages: [second] }), world.ports);
    expect(JSON.parse(answered.body!)).toEqual({ type: 'result', rid: 'a', acked: 1 });
    const explicit = await ackRoute.invoke(ackEvent(bobId, { action: 'ack', rid: 'b', quiet: false, messages: [second] }), world.ports);
    expect(JSON.parse(explicit.body!)).toMatchObject({ type: 'result', rid: 'b' });
    expect(await remaining()).toBe(0);
    expect(world.notifier.pushes).toEqual([]);
  });

  it('is still answered when it fails: a malformed frame, and a caller with no account', async () => {
    const bad = await ackRoute.invoke(ackEvent(bobId, { action: 'ack', rid: 'q1', quiet: true, messages: [] }), world.ports);
    expect(JSON.parse(bad.body!)).toMatchObject({ type: 'error', rid: 'q1', code: 'BAD_REQUEST' });
    const stranger = makeIdentity();
    const [message] = await queued(1);
    const refused = await ackRoute.invoke(ackEvent(stranger, { action: 'ack', rid: 'q2', quiet: true, messages: [message] }), world.ports);
    expect(JSON.parse(refused.body!)).toMatchObject({ type: 'error', rid: 'q2' });
    expect(await remaining()).toBe(1);
  });

  it("acks only the caller's own queue: another user naming the recipient's messages removes nothing, silently as any success", async () => {
    const [message] = await queued(1);
    const other = await ackRoute.invoke(ackEvent(aliceId, { action: 'ack', rid: 'q3', quiet: true, messages: [message] }), world.ports);
    expect(other).toEqual({ statusCode: 200 });
    expect(await remaining()).toBe(1);
  });
});
