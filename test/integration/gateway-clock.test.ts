/**
 * The local gateway's 10-minute idle and 2-hour connection limits follow the stack's clock (ARCH §11.1), so a
 * test that moves the clock sees what API Gateway would do: connections closed, SDK clients reconnecting
 * and draining what was queued meanwhile.
 */
import { connectUrl, makeIdentity } from '../support/identity';
import { startLocalStack } from '../../local';
import { UNTHROTTLED, sdkSuite } from '../support/local-stack';
import { RawSocket } from '../support/raw-socket';
import { inbox, until } from '../support/sdk';

const MINUTE = 60_000;
const clock = { t: Date.UTC(2027, 0, 1), now: () => clock.t };
const env = sdkSuite({ now: clock.now }, { now: clock.now, reconnect: { baseDelayMs: 5, maxDelayMs: 50 } });

const open = () => RawSocket.open(connectUrl(env.stack.url, makeIdentity(), { ts: clock.t }));
/** Lets the gateway look at the clock: it checks on a short interval. */
const settle = () => new Promise((r) => setTimeout(r, 300));

describe('the gateway on the stack clock', () => {
  it('closes a connection idle for 10 minutes of stack time with 1001, not before', async () => {
    const socket = await open();
    clock.t += 9 * MINUTE;
    await settle();
    expect(socket.closed).toBeUndefined();
    clock.t += 2 * MINUTE;
    expect(await socket.waitClosed(2000)).toEqual({ code: 1001, reason: 'Going away' });
  });

  it('closes a busy connection at 2 hours of stack time, not before', async () => {
    const socket = await open();
    for (let elapsed = 0; elapsed < 115; elapsed += 5) {
      clock.t += 5 * MINUTE;
      expect(await socket.request({ action: 'status' })).toMatchObject({ type: 'result' });
    }
    await settle();
    expect(socket.closed).toBeUndefined();
    clock.t += 5 * MINUTE + 1000;
    expect(await socket.waitClosed(2000)).toEqual({ code: 1001, reason: 'Going away' });
  });

  it('closes an SDK client at 2 hours; it reconnects and receives what was queued meanwhile', async () => {
    const start = clock.t;
    const alice = await env.connected();
    const received = inbox(alice);
    // Alice stays busy, so only the 2-hour limit can close her connection.
    while (clock.t < start + 115 * MINUTE) {
      clock.t += 5 * MINUTE;
      await alice.status();
    }
    const bob = await env.connected();
    await bob.send(alice.userId, 'warm-up');
    await until(() => received.length === 1, 'the warm-up message');

    // Keep Alice offline once she is closed: the authorizer cannot claim nonces.
    env.stack.faults.dynamodb = (operation, table) => (operation === 'PutItem' && table === env.stack.tables.nonces ? 'error' : undefined);
    const connectsBefore = env.stack.gateway.meter.connects;
    try {
      clock.t = start + 2 * 60 * MINUTE + 1000;
      await until(() => env.stack.gateway.connectionCount === 1, "Alice's connection closed at 2 hours", 3000);
      await bob.send(alice.userId, 'while you were away');
      expect(received).toHaveLength(1);
    } finally {
      env.stack.faults.dynamodb = undefined;
    }
    await until(() => received.length === 2, 'the queued message after reconnecting', 10_000);
    expect(received.map((m) => m.text)).toEqual(['warm-up', 'while you were away']);
    expect(env.stack.gateway.meter.connects).toBeGreaterThan(connectsBefore);
  });

  it('applies an idleTimeoutMs override in stack time', async () => {
    const stack = await startLocalStack({ port: 0, now: clock.now, idleTimeoutMs: 30 * MINUTE, config: { rateLimits: UNTHROTTLED } });
    try {
      const socket = await RawSocket.open(connectUrl(stack.url, makeIdentity(), { ts: clock.t }));
      clock.t += 20 * MINUTE;
      await settle();
      expect(socket.closed).toBeUndefined();
      clock.t += 11 * MINUTE;
      expect(await socket.waitClosed(2000)).toEqual({ code: 1001, reason: 'Going away' });
    } finally {
      await stack.stop();
    }
  });
});
