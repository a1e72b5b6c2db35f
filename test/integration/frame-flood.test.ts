/**
 * One connection flooding frames spends the stage throttle every user shares; API Gateway has no
 * per-connection throttle, so ebb counts frames per connection itself and closes a flooder.
 */
import { startLocalStack, type LocalStack } from '../../local';
import { connectUrl, makeIdentity } from '../support/identity';
import { RawSocket } from '../support/raw-socket';

let stack: LocalStack;
beforeAll(async () => {
  // The default frame budget; only connects are lifted, as every test socket comes from 127.0.0.1.
  stack = await startLocalStack({ port: 0, config: { rateLimits: { connectPerMinute: 100_000 } } });
});
afterAll(() => stack?.stop());

describe('a connection flooding frames', () => {
  it('is answered RATE_LIMITED and closed; another user keeps its connection', async () => {
    const flooder = await RawSocket.open(connectUrl(stack.url, makeIdentity()));
    const bystander = await RawSocket.open(connectUrl(stack.url, makeIdentity()));
    for (let i = 0; i < 2000 && flooder.ws.readyState === flooder.ws.OPEN; i++) flooder.ws.send(JSON.stringify({ action: 'status', rid: `f${i}` }));
    const closed = await flooder.waitClosed(15_000);
    expect(closed.code).toBe(1000);
    expect(flooder.replies.some((r) => r.type === 'error' && r.code === 'RATE_LIMITED' && r.retryable === true)).toBe(true);
    expect(await bystander.request({ action: 'status' })).toMatchObject({ type: 'result', phase: 'open' });
    await bystander.close();
  });

  it('is not closed for the bursts the SDK makes (a few hundred frames)', async () => {
    const socket = await RawSocket.open(connectUrl(stack.url, makeIdentity()));
    const replies = await Promise.all(Array.from({ length: 300 }, () => socket.request({ action: 'status' })));
    expect(replies.every((r) => r.type === 'result')).toBe(true);
    expect(socket.closed).toBeUndefined();
    await socket.close();
  });
});
