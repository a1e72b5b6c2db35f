import { EbbError } from '../../client-sdk/src';
import { Recovery } from '../../chat/recovery';

/** How the chat comes back after the client stopped reconnecting, on a fake clock and a scripted connect. */

beforeEach(() => jest.useFakeTimers());
afterEach(() => jest.useRealTimers());

/** A connect that fails with each of `failures` in turn, then succeeds; counts its calls. */
function scripted(...failures: EbbError[]) {
  const calls = { count: 0 };
  const connect = () => {
    calls.count++;
    const failure = failures.shift();
    return failure ? Promise.reject(failure) : Promise.resolve();
  };
  return { connect, calls };
}

async function advance(ms: number): Promise<void> {
  await jest.advanceTimersByTimeAsync(ms);
}

const lost = () => new EbbError('INTERNAL', 'could not connect to the server within 30000 ms');
const suspended = () => new EbbError('ACCOUNT_SUSPENDED', 'this account is suspended');

it('reconnects with growing waits after a lost connection, saying so once, and once when back', async () => {
  const lines: string[] = [];
  const { connect, calls } = scripted(lost(), lost());
  // random() = 1: each wait is its full ceiling, 1 s, 2 s, 4 s.
  const recovery = new Recovery(
    connect,
    (line) => lines.push(line),
    { baseDelayMs: 1000, maxDelayMs: 60_000 },
    () => 1,
  );
  recovery.failed(new EbbError('UNAUTHORIZED', 'connection refused'));
  expect(lines).toEqual(['connection lost (UNAUTHORIZED: connection refused): reconnecting']);

  await advance(999);
  expect(calls.count).toBe(0);
  await advance(1);
  expect(calls.count).toBe(1);
  await advance(1999);
  expect(calls.count).toBe(1);
  await advance(1);
  expect(calls.count).toBe(2);
  await advance(4000);
  expect(calls.count).toBe(3);
  expect(lines).toEqual(['connection lost (UNAUTHORIZED: connection refused): reconnecting', 'connected again']);
});

it('while suspended, tries at the slow interval, says so once, and says when it is lifted', async () => {
  const lines: string[] = [];
  const { connect, calls } = scripted(suspended(), suspended(), suspended());
  const recovery = new Recovery(connect, (line) => lines.push(line), { baseDelayMs: 10, suspendedRetryMs: 120_000 });
  recovery.failed(suspended());
  await advance(3 * 120_000 - 1);
  expect(calls.count).toBe(2);
  expect(lines).toEqual(['your account is suspended by the operator of this service: trying again every 2 min; chatting resumes once it is lifted']);
  await advance(1 + 120_000);
  expect(calls.count).toBe(4);
  expect(lines.at(-1)).toBe('your account is no longer suspended: connected again');
  expect(lines).toHaveLength(2);
});

it('does not retry what no retry can change, and stops when the chat closes', async () => {
  const lines: string[] = [];
  const { connect, calls } = scripted(lost());
  const recovery = new Recovery(connect, (line) => lines.push(line), { baseDelayMs: 10 });
  recovery.failed(new EbbError('SERVICE_SHUT_DOWN', 'the service has shut down; only status is answered'));
  await advance(60_000);
  expect(calls.count).toBe(0);
  expect(lines).toEqual(['not reconnecting: SERVICE_SHUT_DOWN: the service has shut down; only status is answered']);

  recovery.failed(lost());
  recovery.stop();
  await advance(60_000);
  expect(calls.count).toBe(0);
  recovery.failed(lost());
  expect(lines).toHaveLength(2);
});
