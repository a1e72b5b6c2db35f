import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { LOCAL_AWS } from '../../local/dynamo';
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
    const account = await env.stack.ports.accounts.get(alice.userId);
    expect(account).toMatchObject({ username: 'alice_2', usernameClaims: [`alice_2/${account?.usernameToken}`] });
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

describe('a username set before claims had tokens', () => {
  it('can be respelled, and is released when the account takes another name', async () => {
    const id = makeIdentity();
    const socket = await RawSocket.open(connectUrl(env.stack.url, id));
    try {
      await socket.request(registerFrame(id));
      const legacy = `old_${id.uid.slice(0, 8).replace(/-/g, '_')}`.toLowerCase();
      // What the previous version stored: a bare noted name, a claim without a token, no usernameToken.
      const { accounts, usernames } = env.stack.ports;
      expect(await usernames.noteClaims(id.uid, [legacy])).toBe(true);
      expect(await usernames.claim(legacy, id.uid)).toBe(true);
      expect(await usernames.commitName(id.uid, legacy, legacy, null)).toBe(true);

      expect(await socket.request({ action: 'username.set', username: legacy.toUpperCase() })).toMatchObject({ type: 'result' });
      expect(await usernames.claimOf(legacy)).toEqual({ userId: id.uid, token: null });
      expect((await accounts.get(id.uid))?.username).toBe(legacy.toUpperCase());

      const next = `new_${id.uid.slice(0, 8).replace(/-/g, '_')}`.toLowerCase();
      expect(await socket.request({ action: 'username.set', username: next })).toMatchObject({ type: 'result', username: next });
      expect(await usernames.claimOf(legacy)).toBeUndefined();
      const account = await accounts.get(id.uid);
      expect(await usernames.claimOf(next)).toEqual({ userId: id.uid, token: account?.usernameToken });
      expect(account).toMatchObject({ username: next, usernameClaims: [`${next}/${account?.usernameToken}`] });
      expect(account?.usernameReleasing).toBeUndefined();
    } finally {
      await socket.close();
    }
  });
});

describe('username races through the local stack', () => {
  /** Every name the usernames table holds for `userId`. */
  async function namesHeldBy(userId: string): Promise<string[]> {
    const db = new DynamoDBClient({ endpoint: env.stack.dynamodbEndpoint, ...LOCAL_AWS });
    try {
      const items = (await db.send(new ScanCommand({ TableName: env.stack.tables.usernames, ConsistentRead: true }))).Items ?? [];
      return items.filter((item) => item.uid?.S === userId).map((item) => item.name!.S!);
    } finally {
      db.destroy();
    }
  }

  /** `count` sockets of one registered identity (as many devices' worth of tabs as a racer likes). */
  async function socketsOf(count: number): Promise<{ id: ReturnType<typeof makeIdentity>; sockets: RawSocket[] }> {
    const id = makeIdentity();
    const sockets = await Promise.all(Array.from({ length: count }, () => RawSocket.open(connectUrl(env.stack.url, id))));
    expect(await sockets[0]!.request(registerFrame(id))).toMatchObject({ type: 'result' });
    return { id, sockets };
  }

  /** Dozens of frames at once queue behind each other on a busy machine: each may wait longer than one alone. */
  const BURST_TIMEOUT_MS = 20_000;

  /** The reply to `frame`, or null when the socket closed first (account.delete closes the others). */
  const answer = (socket: RawSocket, frame: Record<string, unknown>) =>
    new Promise<Record<string, unknown> | null>((resolve) => {
      const closed = () => resolve(null);
      socket.ws.once('close', closed);
      socket.request(frame, BURST_TIMEOUT_MS).then(
        (reply) => (socket.ws.off('close', closed), resolve(reply)),
        () => resolve(null),
      );
    });

  it('40 concurrent sets of one account leave exactly one name held, the account’s own', async () => {
    const { id, sockets } = await socketsOf(8);
    try {
      const names = Array.from({ length: 40 }, (_, i) => `racer_${id.uid.slice(0, 6).replace(/-/g, '_')}_${i}`);
      await Promise.all(names.map((username, i) => sockets[i % sockets.length]!.request({ action: 'username.set', username }, BURST_TIMEOUT_MS)));
      const account = await env.stack.ports.accounts.get(id.uid);
      expect(account?.username).toBeDefined();
      expect(await namesHeldBy(id.uid)).toEqual([account!.username!.toLowerCase()]);
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
    }
  });

  it('sets racing account.delete leave no name held by the deleted account', async () => {
    const { id, sockets } = await socketsOf(6);
    try {
      const [deleter, ...setters] = sockets;
      const names = Array.from({ length: 30 }, (_, i) => `gone_${id.uid.slice(0, 6).replace(/-/g, '_')}_${i}`);
      const sets = names.map((username, i) => answer(setters[i % setters.length]!, { action: 'username.set', username }));
      // Let some sets land first, so the delete meets claims in every state.
      await new Promise((r) => setTimeout(r, 15));
      const deleted = deleter!.request({ action: 'account.delete' }, BURST_TIMEOUT_MS);
      await Promise.all([deleted, ...sets]);
      expect(await deleted).toMatchObject({ type: 'result', deleted: true });
      // Handlers whose sockets were closed still run to their end: wait until the table settles.
      let previous = '';
      for (;;) {
        await new Promise((r) => setTimeout(r, 300));
        const now = JSON.stringify(await namesHeldBy(id.uid));
        if (now === previous) break;
        previous = now;
      }
      expect(await env.stack.ports.accounts.get(id.uid)).toBeUndefined();
      expect(await namesHeldBy(id.uid)).toEqual([]);
    } finally {
      await Promise.all(sockets.map((s) => s.close()));
    }
  });
});
