import { randomBytes } from 'node:crypto';
import { toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { register } from '../../lambdas/core/accounts';
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
