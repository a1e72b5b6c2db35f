import { randomBytes } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../lambdas/adapters/dynamodb';
import { DEPTH_SORT_KEY } from '../../lambdas/adapters/queue-keys';
import { LOCAL_AWS } from '../../local/dynamo';
import { toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { register } from '../../lambdas/core/accounts';
import { connectionOpened } from '../../lambdas/core/connect';
import { ack, fetch, send } from '../../lambdas/core/delivery';
import { setDeliveryToken } from '../../lambdas/core/delivery-tokens';
import type { Caller } from '../../lambdas/core/ports';
import { Refusal } from '../../lambdas/core/refusal';
import { anyCommitment } from '../support/franking';
import { makeIdentity, messageId, registerFrame } from '../support/identity';
import { callerOf } from '../support/memory-ports';
import { UNTHROTTLED } from '../support/local-stack';

/**
 * `maxQueueDepth` on the DynamoDB adapters (dynalite): a counter per device, reconciled against the queue when it
 * says full. Senders here are contacts (they present the recipient's delivery token), who may fill the whole queue.
 */
const MAX = 4;
const T0 = Date.UTC(2027, 0, 1);
let stack: LocalStack;
let clock = T0;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { maxQueueDepth: MAX, rateLimits: UNTHROTTLED }, now: () => clock, sweepIntervalMs: 3_600_000 });
});
afterAll(() => stack.stop());

const tokens = new Map<string, string>();

async function registered(): Promise<Caller> {
  const id = makeIdentity();
  const caller = callerOf(id);
  await register(stack.ports, caller, registerFrame(id) as never);
  const token = toBase64Url(new Uint8Array(randomBytes(32)));
  await setDeliveryToken(stack.ports, caller, { action: 'deliveryToken.set', rid: 't', token });
  tokens.set(caller.userId, token);
  return caller;
}

const frameTo = (to: Caller, id = messageId(), expiresInSeconds?: number) => ({
  action: 'send' as const,
  rid: 's',
  id,
  to: to.userId,
  deliveryToken: tokens.get(to.userId),
  messages: [{ device: 1, ciphertext: toBase64Url(new Uint8Array(randomBytes(48))), commitment: anyCommitment() }],
  ...(expiresInSeconds !== undefined && { expiresInSeconds }),
});

async function refusalOf(promise: Promise<unknown>): Promise<Refusal> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Refusal);
  return error as Refusal;
}

it('refuses a send to a full queue with a typed, retryable error, and takes it again once the recipient acks', async () => {
  const [alice, bob] = [await registered(), await registered()];
  for (let i = 0; i < MAX; i++) await send(stack.ports, alice, frameTo(bob));
  const refusal = await refusalOf(send(stack.ports, alice, frameTo(bob)));
  expect(refusal).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
  expect(refusal.message).toMatch(/queue is full/);

  const page = await fetch(stack.ports, bob, { action: 'fetch', rid: 'f' });
  expect(page.messages).toHaveLength(MAX);
  await ack(stack.ports, bob, { action: 'ack', rid: 'a', messages: page.messages.slice(0, 2).map(({ id, sentAt }) => ({ id, sentAt })) });
  // Acking the same messages again must not give back room twice.
  await ack(stack.ports, bob, { action: 'ack', rid: 'a', messages: page.messages.slice(0, 2).map(({ id, sentAt }) => ({ id, sentAt })) });
  await send(stack.ports, alice, frameTo(bob));
  await send(stack.ports, alice, frameTo(bob));
  await refusalOf(send(stack.ports, alice, frameTo(bob)));
});

it('does not count a retried send twice', async () => {
  const [alice, bob] = [await registered(), await registered()];
  const frame = frameTo(bob);
  for (let i = 0; i < MAX + 2; i++) await expect(send(stack.ports, alice, frame)).resolves.toMatchObject({ id: frame.id });
  for (let i = 1; i < MAX; i++) await send(stack.ports, alice, frameTo(bob));
  await refusalOf(send(stack.ports, alice, frameTo(bob)));
});

it('makes room for messages that expired before TTL removed them', async () => {
  const [alice, bob] = [await registered(), await registered()];
  for (let i = 0; i < MAX; i++) await send(stack.ports, alice, frameTo(bob, messageId(), 60));
  await refusalOf(send(stack.ports, alice, frameTo(bob)));
  clock += 61_000;
  // Not swept yet (the sweeper is idle), as TTL on AWS may lag: the counter is reconciled against unexpired messages.
  await send(stack.ports, alice, frameTo(bob));
  const page = await fetch(stack.ports, bob, { action: 'fetch', rid: 'f' });
  expect(page.messages).toHaveLength(1);
});

it('counts per device: one full queue does not stop messages to another user', async () => {
  const [alice, bob, carol] = [await registered(), await registered(), await registered()];
  for (let i = 0; i < MAX; i++) await send(stack.ports, alice, frameTo(bob));
  await refusalOf(send(stack.ports, alice, frameTo(bob)));
  await expect(send(stack.ports, alice, frameTo(carol))).resolves.toMatchObject({ duplicate: false });
});

describe('strangers and contacts on the DynamoDB counters', () => {
  /** `strangerQueuePercent` (50 by default) of MAX. */
  const STRANGER_MAX = MAX / 2;
  const strangerFrame = (to: Caller) => ({ ...frameTo(to), deliveryToken: undefined });

  async function depthItem(of: Caller): Promise<Record<string, unknown> | undefined> {
    const db = documentClient(new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, ...LOCAL_AWS }));
    try {
      return (
        await db.send(new GetCommand({ TableName: stack.tables.queue, Key: { rcpt: `${of.userId}#1`, sk: DEPTH_SORT_KEY }, ConsistentRead: true }))
      ).Item;
    } finally {
      db.destroy();
    }
  }

  it('lets strangers fill only their share, contacts the rest, and an ack gives back the share it was taken from', async () => {
    const [alice, bob, carol] = [await registered(), await registered(), await registered()];
    for (let i = 0; i < STRANGER_MAX; i++) await send(stack.ports, alice, strangerFrame(bob));
    const refusal = await refusalOf(send(stack.ports, alice, strangerFrame(bob)));
    expect(refusal).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: 60 });
    expect(refusal.message).toMatch(/has not written to/);
    for (let i = STRANGER_MAX; i < MAX; i++) await send(stack.ports, carol, frameTo(bob));
    await refusalOf(send(stack.ports, carol, frameTo(bob)));
    expect(await depthItem(bob)).toMatchObject({ queuedMessages: MAX, strangerMessages: STRANGER_MAX });

    const page = await fetch(stack.ports, bob, { action: 'fetch', rid: 'f' });
    const fromAlice = page.messages.find((m) => m.from.user === alice.userId)!;
    await ack(stack.ports, bob, { action: 'ack', rid: 'a', messages: [{ id: fromAlice.id, sentAt: fromAlice.sentAt }] });
    expect(await depthItem(bob)).toMatchObject({ queuedMessages: MAX - 1, strangerMessages: STRANGER_MAX - 1 });
    await send(stack.ports, alice, strangerFrame(bob));
    expect(await depthItem(bob)).toMatchObject({ queuedMessages: MAX, strangerMessages: STRANGER_MAX });
  });

  it('keeps the counts right when the recipient acks a retry’s pushed copy before the route drops it', async () => {
    const [alice, bob] = [await registered(), await registered()];
    const frame = strangerFrame(bob);
    const first = await send(stack.ports, alice, frame);
    await connectionOpened(stack.ports, bob);
    clock += 1500;
    // The retry's own copy is pushed after its put, before its claim finds the original: bob's SDK acks what it
    // receives, and here that ack lands first. Then the route drops the copy (found gone: nothing to give back)
    // and pushes the original, which bob acks too.
    const pushed: { id: string; sentAt: number }[] = [];
    const ports = {
      ...stack.ports,
      notifier: {
        ...stack.ports.notifier,
        push: async (_connectionId: string, data: string) => {
          const { id, sentAt } = JSON.parse(data) as { id: string; sentAt: number };
          pushed.push({ id, sentAt });
          await ack(stack.ports, bob, { action: 'ack', rid: 'a', messages: [{ id, sentAt }] });
          return 'sent' as const;
        },
      },
    };
    await expect(send(ports, alice, frame)).resolves.toMatchObject({ duplicate: true, sentAt: first.sentAt });
    expect(pushed).toEqual([
      { id: frame.id, sentAt: clock },
      { id: frame.id, sentAt: first.sentAt },
    ]);
    expect((await fetch(stack.ports, bob, { action: 'fetch', rid: 'f' })).messages).toEqual([]);
    expect(await depthItem(bob)).toMatchObject({ queuedMessages: 0, strangerMessages: 0 });
  });

  it('keeps both counts right when a retry in the same millisecond is counted under another share', async () => {
    const [alice, bob] = [await registered(), await registered()];
    const frame = frameTo(bob);
    await send(stack.ports, alice, frame);
    // The same message again, now without the token (a stale one, say): its copy overwrites the original's item.
    await expect(send(stack.ports, alice, { ...frame, deliveryToken: undefined })).resolves.toMatchObject({ duplicate: true });
    const page = await fetch(stack.ports, bob, { action: 'fetch', rid: 'f' });
    expect(page.messages.map((m) => m.id)).toEqual([frame.id]);
    await ack(stack.ports, bob, { action: 'ack', rid: 'a', messages: page.messages.map(({ id, sentAt }) => ({ id, sentAt })) });
    expect(await depthItem(bob)).toMatchObject({ queuedMessages: 0, strangerMessages: 0 });
  });
});
