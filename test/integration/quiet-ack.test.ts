import { startLocalStack, type LocalStack } from '../../local';
import { anyCommitment } from '../support/franking';
import { connectUrl, makeIdentity, messageId, registerFrame } from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { RawSocket } from '../support/raw-socket';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterAll(() => stack.stop());

async function registered() {
  const id = makeIdentity();
  const socket = await RawSocket.open(connectUrl(stack.url, id));
  expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result', created: true });
  return { id, socket };
}

describe('quiet acks through the local stack', () => {
  it('removes the message with one inbound frame and nothing sent back; a failing quiet ack is answered', async () => {
    const alice = await registered();
    const bob = await registered();
    const id = messageId();
    await alice.socket.request({
      action: 'send',
      id,
      to: bob.id.uid,
      messages: [{ device: 1, ciphertext: 'AAAAAAAA', commitment: anyCommitment() }],
    });
    const pushed = await bob.socket.nextPush();
    expect(pushed).toMatchObject({ type: 'message', id });

    const meter = stack.gateway.meter;
    const before = { inbound: meter.inboundMessages, outbound: meter.outboundMessages };
    bob.socket.ws.send(JSON.stringify({ action: 'ack', rid: 'quiet-1', quiet: true, messages: [{ id, sentAt: pushed.sentAt }] }));
    // The queue empties without any frame coming back for the ack.
    for (let i = 0; i < 200; i++) {
      const page = await stack.ports.queue.page({ userId: bob.id.uid, device: 1 }, null, 10, Date.now());
      if (page.messages.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect((await stack.ports.queue.page({ userId: bob.id.uid, device: 1 }, null, 10, Date.now())).messages).toEqual([]);
    expect({ inbound: meter.inboundMessages - before.inbound, outbound: meter.outboundMessages - before.outbound }).toEqual({
      inbound: 1,
      outbound: 0,
    });

    // A round trip after it: still no reply to the quiet ack.
    expect(await bob.socket.request({ action: 'status', rid: 'after' })).toMatchObject({ type: 'result', rid: 'after' });
    expect(bob.socket.replies.filter((r) => r.rid === 'quiet-1')).toEqual([]);

    const refused = await bob.socket.request({ action: 'ack', rid: 'quiet-2', quiet: true, messages: [] });
    expect(refused).toMatchObject({ type: 'error', rid: 'quiet-2', code: 'BAD_REQUEST' });
    await Promise.all([alice.socket.close(), bob.socket.close()]);
  });
});
