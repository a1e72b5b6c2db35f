import {
  deliverWakeups,
  type NativePushTarget,
  type PushResult,
  type PushTarget,
  type WakeupAddress,
  type WakeupPorts,
  type WebPushTarget,
} from '../../lambdas/core/push-wake';

const USER = 'u'.repeat(32);
const web: WebPushTarget = { endpoint: 'https://push.example.net/s/1', keys: { p256dh: 'B'.repeat(87), auth: 'a'.repeat(22) } };
const apns: NativePushTarget = { platform: 'apns', token: 'ab'.repeat(32) };

interface Fakes {
  ports: WakeupPorts;
  tokens: Map<number, PushTarget>;
  removed: { address: WakeupAddress; only: PushTarget }[];
  webSent: WebPushTarget[];
  mobileSent: NativePushTarget[];
  logs: { level: string; message: string; fields?: Record<string, unknown> }[];
}

/** Fakes at the adapter boundary: a token store, the two push services answering `answer`, a recording logger. */
function fakes(answer: (target: PushTarget) => PushResult | Promise<PushResult>, options: { getFails?: boolean; removeFails?: boolean } = {}): Fakes {
  const tokens = new Map<number, PushTarget>();
  const removed: Fakes['removed'] = [];
  const webSent: WebPushTarget[] = [];
  const mobileSent: NativePushTarget[] = [];
  const logs: Fakes['logs'] = [];
  const log = (level: string) => (message: string, fields?: Record<string, unknown>) => logs.push({ level, message, fields });
  return {
    tokens,
    removed,
    webSent,
    mobileSent,
    logs,
    ports: {
      pushTokens: {
        get: async (address) => {
          if (options.getFails) throw new Error('ProvisionedThroughputExceededException');
          return address.userId === USER ? tokens.get(address.device) : undefined;
        },
        remove: async (address, only) => {
          if (options.removeFails) throw new Error('InternalServerError');
          removed.push({ address, only });
          tokens.delete(address.device);
          return true;
        },
      },
      webPush: { send: async (s) => (webSent.push(s), answer(s)) },
      mobilePush: { send: async (t) => (mobileSent.push(t), answer(t)) },
      logger: { info: log('info'), warn: log('warn'), error: log('error') },
    },
  };
}

const record = (id: string, device: number) => ({ id, address: { userId: USER, device } });

describe('GIVEN a batch of wake-ups from the queue', () => {
  test('WHEN each device has a token THEN each is pushed once through its own service and nothing is retried', async () => {
    const f = fakes(() => 'sent');
    f.tokens.set(1, web);
    f.tokens.set(2, apns);
    const outcome = await deliverWakeups(f.ports, [record('m1', 1), record('m2', 2)]);
    expect(outcome.failed).toEqual([]);
    expect(f.webSent).toEqual([web]);
    expect(f.mobileSent).toEqual([apns]);
    expect(outcome.counts).toMatchObject({ sent: 2, failed: 0 });
  });

  test('WHEN a service calls a token expired THEN exactly that token is removed, conditioned on it, and the record is done', async () => {
    const f = fakes((t) => (t === apns ? 'expired' : 'sent'));
    f.tokens.set(1, web);
    f.tokens.set(2, apns);
    const outcome = await deliverWakeups(f.ports, [record('m1', 1), record('m2', 2)]);
    expect(outcome.failed).toEqual([]);
    expect(f.removed).toEqual([{ address: { userId: USER, device: 2 }, only: apns }]);
    expect(f.tokens.get(1)).toBe(web);
    expect(outcome.counts).toMatchObject({ sent: 1, expired: 1 });
  });

  test('WHEN a push fails in a way that may pass THEN only its record is handed back to SQS, and the token stays', async () => {
    const f = fakes((t) => (t === web ? 'failed' : 'sent'));
    f.tokens.set(1, web);
    f.tokens.set(2, apns);
    const outcome = await deliverWakeups(f.ports, [record('m1', 1), record('m2', 2)]);
    expect(outcome.failed).toEqual(['m1']);
    expect(f.removed).toEqual([]);
  });

  test('WHEN a service throws (a network fault, a bug) THEN the record is retried', async () => {
    const f = fakes(() => Promise.reject(new Error('ECONNRESET')));
    f.tokens.set(1, web);
    expect((await deliverWakeups(f.ports, [record('m1', 1)])).failed).toEqual(['m1']);
  });

  test('WHEN the token cannot be read, or an expired token cannot be removed THEN the record is retried', async () => {
    const unreadable = fakes(() => 'sent', { getFails: true });
    expect((await deliverWakeups(unreadable.ports, [record('m1', 1)])).failed).toEqual(['m1']);
    expect(unreadable.webSent).toEqual([]);

    const stuck = fakes(() => 'expired', { removeFails: true });
    stuck.tokens.set(1, web);
    expect((await deliverWakeups(stuck.ports, [record('m1', 1)])).failed).toEqual(['m1']);
  });

  test('WHEN a push is rejected for good, the platform is off, or the device has no token any more THEN it is dropped, not retried, token kept', async () => {
    const f = fakes((t) => (t === web ? 'rejected' : 'off'));
    f.tokens.set(1, web);
    f.tokens.set(2, apns);
    const outcome = await deliverWakeups(f.ports, [record('m1', 1), record('m2', 2), record('m3', 3)]);
    expect(outcome.failed).toEqual([]);
    expect(outcome.counts).toMatchObject({ rejected: 1, off: 1, none: 1 });
    expect(f.removed).toEqual([]);
  });

  test('WHEN a record did not parse THEN it is dropped, logged as an error with counts only, and never retried', async () => {
    const f = fakes(() => 'sent');
    const outcome = await deliverWakeups(f.ports, [{ id: 'm1', address: undefined }]);
    expect(outcome.failed).toEqual([]);
    expect(f.logs).toEqual([
      { level: 'error', message: 'push wake-ups: malformed records dropped', fields: { devices: 1 } },
      expect.objectContaining({ level: 'info' }),
    ]);
  });

  test('THEN the log line carries counts only: no user id, device, endpoint or token', async () => {
    const f = fakes((t) => (t === web ? 'failed' : 'expired'));
    f.tokens.set(1, web);
    f.tokens.set(2, apns);
    await deliverWakeups(f.ports, [record('m1', 1), record('m2', 2)]);
    expect(f.logs).toHaveLength(1);
    expect(f.logs[0]!.fields).toEqual({ devices: 2, notified: 0, gone: 1, rejected: 0, failed: 1, skipped: 0 });
    const line = JSON.stringify(f.logs[0]);
    for (const secret of [USER, web.endpoint, apns.token, web.keys.auth]) expect(line).not.toContain(secret);
    expect(Object.values(f.logs[0]!.fields!).every((v) => typeof v === 'number')).toBe(true);
  });
});
