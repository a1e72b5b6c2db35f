import type { SQSEvent } from 'aws-lambda';
import { pushServicesFromEnv, wakeTtlSeconds } from '../../lambdas/adapters/push-services';
import { WAKEUP_MAX_RECEIVES, type PushTarget, type WakeupPorts } from '../../lambdas/core/push-wake';
import { sendWakeups } from '../../lambdas/handlers/push-wake';
import { resolveConfig } from '../../protocol/config';
import { localWakeupConsumer } from '../../local/push-wake';

const USER = 'A'.repeat(32);
const web: PushTarget = { endpoint: 'https://push.example.net/s/1', keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) } };

function ports(answer: 'sent' | 'failed'): WakeupPorts & { pushed: number } {
  const state = {
    pushed: 0,
    pushTokens: { get: async () => web, remove: async () => true },
    webPush: { send: async () => (state.pushed++, answer) },
    mobilePush: { send: async () => answer },
    logger: { info() {}, warn() {}, error() {} },
  };
  return state;
}

const sqsEvent = (...bodies: [string, string][]): SQSEvent => ({ Records: bodies.map(([messageId, body]) => ({ messageId, body }) as never) });

describe('GIVEN an SQS batch at the push-wake handler', () => {
  test('WHEN a record fails THEN exactly its message id is reported in batchItemFailures', async () => {
    const ok = { userId: USER, device: 1 };
    expect(await sendWakeups(sqsEvent(['m1', JSON.stringify(ok)], ['m2', JSON.stringify({ ...ok, device: 2 })]), ports('sent'))).toEqual({
      batchItemFailures: [],
    });
    expect(await sendWakeups(sqsEvent(['m1', JSON.stringify(ok)]), ports('failed'))).toEqual({ batchItemFailures: [{ itemIdentifier: 'm1' }] });
  });

  test.each([
    ['a field beyond userId and device', JSON.stringify({ userId: USER, device: 1, from: 'someone' })],
    ['a device of 0', JSON.stringify({ userId: USER, device: 0 })],
    ['a user id that is not one', JSON.stringify({ userId: 'x', device: 1 })],
    ['not JSON', '{'],
  ])('WHEN a body has %s THEN nothing is pushed and it is not retried', async (_label, body) => {
    const p = ports('sent');
    expect(await sendWakeups(sqsEvent(['m1', body]), p)).toEqual({ batchItemFailures: [] });
    expect(p.pushed).toBe(0);
  });
});

describe('GIVEN the local event source', () => {
  test('WHEN the sender fails a message fewer than the receive limit THEN it is received again with a growing count until it passes', async () => {
    const counts: string[] = [];
    let failures = WAKEUP_MAX_RECEIVES - 1;
    const consume = localWakeupConsumer(async (event) => {
      const record = event.Records[0]!;
      counts.push(record.attributes.ApproximateReceiveCount);
      return { batchItemFailures: failures-- > 0 ? [{ itemIdentifier: record.messageId }] : [] };
    });
    await consume('{"userId":"x","device":1}');
    expect(counts).toEqual(['1', '2', '3', '4', '5']);
  });

  test('WHEN it fails (or throws) on every receive THEN the consumer rejects after the limit, so the queue keeps it as dead-lettered', async () => {
    let receives = 0;
    const consume = localWakeupConsumer(async () => {
      receives++;
      throw new Error('push service down');
    });
    await expect(consume('{}')).rejects.toThrow('dead-letter');
    expect(receives).toBe(WAKEUP_MAX_RECEIVES);
  });
});

describe('GIVEN the sender environment on AWS', () => {
  test('THEN a wake-up is held by the push service as long as its message may wait, within four weeks', () => {
    expect(wakeTtlSeconds(resolveConfig({ retentionDays: 1 }))).toBe(86_400);
    expect(wakeTtlSeconds(resolveConfig({ retentionDays: 30 }))).toBe(28 * 86_400);
  });

  test('THEN a missing VAPID secret or a subject that is not mailto:/https: fails naming the variable', () => {
    const config = resolveConfig({});
    expect(() => pushServicesFromEnv(config, { EBB_VAPID_SUBJECT: 'mailto:ops@example.org' })).toThrow('EBB_VAPID_SECRET');
    expect(() => pushServicesFromEnv(config, { EBB_VAPID_SECRET: 'arn:aws:secretsmanager:x', EBB_VAPID_SUBJECT: 'http://x' })).toThrow(
      'EBB_VAPID_SUBJECT',
    );
    expect(() =>
      pushServicesFromEnv(config, { EBB_VAPID_SECRET: 'arn:aws:secretsmanager:x', EBB_VAPID_SUBJECT: 'mailto:ops@example.org' }),
    ).not.toThrow();
  });
});
