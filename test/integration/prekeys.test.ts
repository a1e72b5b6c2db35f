import { startLocalStack, type LocalStack } from '../../local';
import { EbbClient, MemoryStore } from '../../client-sdk/src';
import { connectUrl, makeIdentity, oneTimePrekeys, registerFrame, signedPrekey, type TestIdentity } from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { RawSocket } from '../support/raw-socket';
import { until } from '../support/sdk';

/** One-time prekeys through the local stack: who may draw them down, how fast, and how they come back. */

let stack: LocalStack;
const sockets: RawSocket[] = [];
const clients: EbbClient[] = [];
beforeAll(async () => {
  stack = await startLocalStack({
    port: 0,
    config: { rateLimits: { ...UNTHROTTLED, bundlePerPairPerHour: 5 }, prekeyLowWater: 98, maxOneTimePrekeysPerDevice: 200 },
  });
});
afterEach(async () => {
  await Promise.all([...sockets.splice(0).map((s) => s.close()), ...clients.splice(0).map((c) => c.close())]);
});
afterAll(() => stack.stop());

/** A registered identity on a raw socket, with a signed prekey and `keys` one-time prekeys published. */
async function registered(keys = 0): Promise<{ id: TestIdentity; socket: RawSocket }> {
  const id = makeIdentity();
  const socket = await RawSocket.open(connectUrl(stack.url, id));
  sockets.push(socket);
  expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result' });
  const frame = { action: 'keys.publish', signedPrekey: signedPrekey(id), ...(keys > 0 && { oneTimePrekeys: oneTimePrekeys(keys) }) };
  expect(await socket.request(frame)).toMatchObject({ type: 'result', oneTimePrekeys: keys });
  return { id, socket };
}

const oneTimeLeft = (userId: string) => stack.ports.prekeys.countOneTime({ userId, device: 1 });

describe('keys.bundle per requester and target', () => {
  it('refuses a stranger past bundlePerPairPerHour, while another requester still gets a one-time prekey', async () => {
    const victim = await registered(50);
    const stranger = await registered();
    for (let i = 0; i < 5; i++) {
      const bundle = await stranger.socket.request({ action: 'keys.bundle', user: victim.id.uid });
      expect(bundle).toMatchObject({ type: 'result', devices: [{ device: 1, oneTimePrekey: { keyId: i + 1 } }] });
    }
    const refused = await stranger.socket.request({ action: 'keys.bundle', user: victim.id.uid });
    expect(refused).toMatchObject({ type: 'error', code: 'RATE_LIMITED', retryable: true });
    expect(refused.retryAfterSeconds).toBeGreaterThan(60);
    expect(await oneTimeLeft(victim.id.uid)).toBe(45);

    const friend = await registered();
    expect(await friend.socket.request({ action: 'keys.bundle', user: victim.id.uid })).toMatchObject({
      type: 'result',
      devices: [{ device: 1, oneTimePrekey: { keyId: 6 } }],
    });
  });
});

describe('keys.low', () => {
  it('is pushed to the owner once a bundle fetch leaves it low, and a connected SDK client refills', async () => {
    const owner = await EbbClient.create({ url: stack.url, store: new MemoryStore(), timeoutMs: 10_000 });
    clients.push(owner);
    await owner.connect();
    expect(await oneTimeLeft(owner.userId)).toBe(100);

    // Three strangers each take one: 97 left, under the low-water mark of 98.
    for (let i = 0; i < 3; i++) {
      const stranger = await registered();
      expect(await stranger.socket.request({ action: 'keys.bundle', user: owner.userId })).toMatchObject({ type: 'result' });
    }
    await until(async () => (await oneTimeLeft(owner.userId)) === 100, 'the owner to refill its one-time prekeys');
  });

  it('is a push frame with the device and how many are left', async () => {
    // 98 published, the low-water mark: the first bundle leaves 97.
    const owner = await registered(98);
    const stranger = await registered();
    const lowPushes = () => owner.socket.pushes.filter((f) => f.type === 'keys.low');
    await stranger.socket.request({ action: 'keys.bundle', user: owner.id.uid });
    await until(() => lowPushes().length === 1, 'the first keys.low');
    await stranger.socket.request({ action: 'keys.bundle', user: owner.id.uid });
    await until(() => lowPushes().length === 2, 'the second keys.low');
    expect(lowPushes()).toEqual([
      { type: 'keys.low', device: 1, remaining: 97 },
      { type: 'keys.low', device: 1, remaining: 96 },
    ]);
    // The stranger's own socket hears nothing of it.
    expect(stranger.socket.pushes).toEqual([]);
  });
});

describe('keys.publish', () => {
  it('refuses one-time prekeys beyond maxOneTimePrekeysPerDevice with CONFLICT and stores none of them', async () => {
    const owner = await registered(100);
    expect(await owner.socket.request({ action: 'keys.publish', oneTimePrekeys: oneTimePrekeys(100, 101) })).toMatchObject({
      type: 'result',
      oneTimePrekeys: 200,
    });
    const refused = await owner.socket.request({ action: 'keys.publish', oneTimePrekeys: oneTimePrekeys(1, 201) });
    expect(refused).toMatchObject({ type: 'error', code: 'CONFLICT', retryable: false });
    expect(await oneTimeLeft(owner.id.uid)).toBe(200);
  });

  it('refuses more than 100 one-time prekeys in one frame with BAD_REQUEST', async () => {
    const owner = await registered();
    expect(await owner.socket.request({ action: 'keys.publish', oneTimePrekeys: oneTimePrekeys(101) })).toMatchObject({
      type: 'error',
      code: 'BAD_REQUEST',
    });
    expect(await oneTimeLeft(owner.id.uid)).toBe(0);
  });

  it('refuses a frame naming one keyId twice with BAD_REQUEST (found by the route fuzzer: it was INTERNAL) and stores none', async () => {
    const owner = await registered();
    const [first, second] = oneTimePrekeys(2);
    const twice = [first!, { ...second!, keyId: first!.keyId }];
    expect(await owner.socket.request({ action: 'keys.publish', oneTimePrekeys: twice })).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    expect(await oneTimeLeft(owner.id.uid)).toBe(0);
    expect(await owner.socket.request({ action: 'status' })).toMatchObject({ type: 'result' });
  });
});
