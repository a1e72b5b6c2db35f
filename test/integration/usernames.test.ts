import { connectUrl, makeIdentity, registerFrame } from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { sdkSuite } from '../support/local-stack';
import { codeOf } from '../support/sdk';

const env = sdkSuite();
const connected = () => env.connected();

describe('usernames through the local stack', () => {
  it('are found in any case, refused to a second user, and free for others once renamed', async () => {
    const [alice, bob, carol] = await Promise.all([connected(), connected(), connected()]);

    await alice.setUsername('Alice_1');
    expect(await bob.lookupUsername('alice_1')).toBe(alice.userId);
    expect(await carol.lookupUsername('ALICE_1')).toBe(alice.userId);
    expect(await bob.lookupUsername('nobody_here')).toBeNull();

    expect(await codeOf(bob.setUsername('alice_1'))).toBe('CONFLICT');
    expect(await codeOf(bob.setUsername('Admin'))).toBe('FORBIDDEN');
    await alice.setUsername('Alice_1'); // the current name again

    await alice.setUsername('alice_2');
    expect(await carol.lookupUsername('alice_1')).toBeNull();
    await bob.setUsername('alice_1');
    expect(await carol.lookupUsername('Alice_1')).toBe(bob.userId);
    expect(await carol.lookupUsername('alice_2')).toBe(alice.userId);
    expect(await env.stack.ports.accounts.get(alice.userId)).toMatchObject({ username: 'alice_2', usernameClaims: ['alice_2'] });
  });

  it('refuses an invalid name in the SDK before anything is sent', async () => {
    const alice = await connected();
    for (const name of ['ab', 'a'.repeat(33), 'with space', 'émile', 'dash-ed']) {
      expect(await codeOf(alice.setUsername(name))).toBe('BAD_REQUEST');
      expect(await codeOf(alice.lookupUsername(name))).toBe('BAD_REQUEST');
    }
  });

  it.each([
    ['too short', 'ab'],
    ['too long', 'a'.repeat(33)],
    ['a space', 'alice 1'],
    ['a non-ASCII letter', 'ålice'],
    ['a dash', 'alice-1'],
    ['not a string', 42],
  ])('answers a raw frame whose name is %s with BAD_REQUEST', async (_what, username) => {
    const id = makeIdentity();
    const socket = await RawSocket.open(connectUrl(env.stack.url, id));
    try {
      await socket.request(registerFrame(id));
      for (const action of ['username.set', 'username.lookup']) {
        expect(await socket.request({ action, username })).toMatchObject({ type: 'error', code: 'BAD_REQUEST', retryable: false });
      }
      // The longest name allowed, unique to this user.
      const longest = `x${id.uid.replace(/-/g, '_').slice(0, 31)}`;
      expect(await socket.request({ action: 'username.set', username: longest })).toMatchObject({ type: 'result', username: longest });
      expect(await socket.request({ action: 'username.lookup', username: longest.toUpperCase() })).toMatchObject({ type: 'result', userId: id.uid });
    } finally {
      await socket.close();
    }
  });
});
