import { randomBytes } from 'node:crypto';
import { toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { anyCommitment } from '../support/franking';
import { connectUrl, makeIdentity, messageId, registerFrame, type TestIdentity } from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { UNTHROTTLED } from '../support/local-stack';

/** The local stack's fault hooks behave as the AWS services they stand in for (the chaos suite builds on them). */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterEach(() => {
  stack.faults.dynamodb = undefined;
  stack.faults.management = undefined;
});
afterAll(() => stack.stop());

async function registeredSocket(id: TestIdentity = makeIdentity()): Promise<{ id: TestIdentity; socket: RawSocket }> {
  const socket = await RawSocket.open(connectUrl(stack.url, id));
  expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result' });
  return { id, socket };
}

const sendFrame = (to: string, id = messageId()) => ({
  action: 'send',
  id,
  to,
  messages: [{ device: 1, ciphertext: toBase64Url(new Uint8Array(randomBytes(40))), commitment: anyCommitment() }],
});

it('absorbs occasional DynamoDB throttling through the AWS SDK retries', async () => {
  const [alice, bob] = [await registeredSocket(), await registeredSocket()];
  let calls = 0;
  stack.faults.dynamodb = (operation) => (operation === 'PutItem' && calls++ % 2 === 0 ? 'throttle' : undefined);
  const reply = await alice.socket.request(sendFrame(bob.id.uid));
  expect(reply).toMatchObject({ type: 'result', duplicate: false });
  expect(calls).toBeGreaterThan(1);
  await Promise.all([alice.socket.close(), bob.socket.close()]);
});

it('answers a retryable INTERNAL when DynamoDB keeps failing, and the retried send is queued once', async () => {
  const [alice, bob] = [await registeredSocket(), await registeredSocket()];
  await bob.socket.close();
  const frame = sendFrame(bob.id.uid);
  stack.faults.dynamodb = (operation, table) => (operation === 'PutItem' && table === stack.tables.queue ? 'error' : undefined);
  expect(await alice.socket.request(frame)).toMatchObject({ type: 'error', code: 'INTERNAL', retryable: true });
  stack.faults.dynamodb = undefined;
  expect(await alice.socket.request(frame)).toMatchObject({ type: 'result' });
  expect(await alice.socket.request(frame)).toMatchObject({ type: 'result', duplicate: true });

  const again = await RawSocket.open(connectUrl(stack.url, bob.id, { withPk: false }));
  const page = await again.request({ action: 'fetch' });
  expect((page.messages as { id: string }[]).map((m) => m.id)).toEqual([frame.id]);
  await Promise.all([alice.socket.close(), again.close()]);
});

it('loses nothing when pushes fail with 500 or 410: the message waits in the queue', async () => {
  const [alice, bob] = [await registeredSocket(), await registeredSocket()];
  const statuses = [500, 410];
  stack.faults.management = (method) => (method === 'POST' ? statuses.shift() : undefined);
  const first = sendFrame(bob.id.uid);
  const second = sendFrame(bob.id.uid);
  expect(await alice.socket.request(first)).toMatchObject({ type: 'result' });
  expect(await alice.socket.request(second)).toMatchObject({ type: 'result' });
  expect(bob.socket.pushes).toHaveLength(0);
  const page = await bob.socket.request({ action: 'fetch' });
  expect((page.messages as { id: string }[]).map((m) => m.id)).toEqual([first.id, second.id]);
  await Promise.all([alice.socket.close(), bob.socket.close()]);
});
