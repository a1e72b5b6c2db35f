import { ApiGatewayManagementApiClient, GetConnectionCommand, GoneException } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EbbClient, MemoryStore } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { LOCAL_AWS } from '../../local/dynamo';
import { toBase64Url } from '../../protocol';
import { connectUrl, makeIdentity, type TestIdentity } from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { codeOf, inbox, until } from '../support/sdk';
import { UNTHROTTLED } from '../support/local-stack';

/** A store that, while `holding`, fails to record messages as seen: the SDK then leaves them unacked in the queue. */
class HoldingStore extends MemoryStore {
  holding = false;
  override async set(key: string, value: string): Promise<void> {
    if (this.holding && key.startsWith('seen/')) throw new Error('held');
    return super.set(key, value);
  }
}

let stack: LocalStack;
const clients: EbbClient[] = [];

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(() => stack.stop());

async function client(store = new MemoryStore()): Promise<EbbClient> {
  // Without receipts: one still queued for Alice when Bob deletes his account would name him until she acks it.
  const c = await EbbClient.create({ url: stack.url, store, reconnect: { baseDelayMs: 20, maxDelayMs: 200 }, timeoutMs: 10_000, receipts: false });
  clients.push(c);
  return c;
}

/** An SDK store holding `id`, so raw sockets can connect as the same user. */
async function storeOf(id: TestIdentity): Promise<HoldingStore> {
  const store = new HoldingStore();
  await store.set(
    'identity',
    JSON.stringify({ signingSeed: toBase64Url(id.signing.secretKey.subarray(0, 32)), identitySecretKey: toBase64Url(id.identity.secretKey) }),
  );
  return store;
}

async function queuedFor(userId: string): Promise<number> {
  return (await stack.ports.queue.page({ userId, device: 1 }, null, 100, Date.now())).messages.length;
}

/** Every stored item whose attributes mention `text`, by table. */
async function itemsMentioning(text: string): Promise<{ table: string; item: Record<string, unknown> }[]> {
  const db = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, ...LOCAL_AWS });
  try {
    const found: { table: string; item: Record<string, unknown> }[] = [];
    for (const [table, name] of Object.entries(stack.tables)) {
      const items = (await db.send(new ScanCommand({ TableName: name, ConsistentRead: true }))).Items ?? [];
      for (const item of items) if (JSON.stringify(item).includes(text)) found.push({ table, item });
    }
    return found;
  } finally {
    db.destroy();
  }
}

describe('account deletion through the local stack', () => {
  it('removes everything of Bob, closes his connections, and makes him unknown to Alice', async () => {
    const bobId = makeIdentity();
    const bobStore = await storeOf(bobId);
    const [alice, bob] = [await client(), await client(bobStore)];
    await Promise.all([alice.connect(), bob.connect()]);
    expect(bob.userId).toBe(bobId.uid);
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];

    await alice.send(bob.userId, 'hi bob');
    await until(() => bobInbox.length === 1, 'bob to receive');
    await bob.send(alice.userId, 'hi alice');
    await until(() => aliceInbox.length === 1, 'alice to receive');
    await bob.setUsername('Bob_Leaving');
    await until(async () => (await queuedFor(bob.userId)) === 0, "bob's acks");

    bobStore.holding = true;
    await alice.send(bob.userId, 'one');
    await alice.send(bob.userId, 'two');
    expect(await queuedFor(bob.userId)).toBe(2);
    // Another live connection of Bob's, which the server must close.
    const bobTab = await RawSocket.open(connectUrl(stack.url, bobId, { withPk: false }));
    const connectionIds = (await stack.ports.connections.ofUser(bob.userId, 0)).map((c) => c.connectionId);
    expect(connectionIds).toHaveLength(2);

    await bob.deleteAccount();

    await bobTab.waitClosed();
    const management = new ApiGatewayManagementApiClient({ endpoint: stack.callbackUrl, ...LOCAL_AWS, maxAttempts: 1 });
    try {
      for (const connectionId of connectionIds) {
        await until(
          () =>
            management.send(new GetConnectionCommand({ ConnectionId: connectionId })).then(
              () => false,
              (err: unknown) => err instanceof GoneException,
            ),
          `connection ${connectionId} to be gone`,
        );
      }
    } finally {
      management.destroy();
    }

    // What still names Bob: his connect nonces (they expire within minutes) and his rate-limit buckets (expired
    // once full again, within a minute; counts only). The send marker of his message in Alice's queue is keyed by
    // a hash of sender and message id, so it does not.
    const left = await itemsMentioning(bob.userId);
    expect(left.filter((entry) => entry.table !== 'nonces' && entry.table !== 'rateLimits')).toEqual([]);

    await expect(RawSocket.open(connectUrl(stack.url, bobId, { withPk: false }))).rejects.toMatchObject({ status: 401 });
    // Deleting again (a retry after a lost answer) is answered the same.
    const retry = await RawSocket.open(connectUrl(stack.url, bobId));
    expect(await retry.request({ action: 'account.delete' })).toMatchObject({ type: 'result', deleted: true });
    await retry.close();
    expect(await codeOf(alice.send(bob.userId, 'still there?'))).toBe('NOT_FOUND');
    expect(await alice.lookupUsername('bob_leaving')).toBeNull();
    await alice.setUsername('bob_leaving');

    // The same keys register again, as a new and empty account.
    bobStore.holding = false;
    const bobAgain = await client(bobStore);
    const again = inbox(bobAgain);
    await bobAgain.connect();
    expect(bobAgain.userId).toBe(bobId.uid);
    expect(again).toEqual([]);
    expect(await bobAgain.lookupUsername('bob_leaving')).toBe(alice.userId);
  });

  it('closes the client and clears its registration flag, keeping the identity keys in the store', async () => {
    const store = new MemoryStore();
    const carol = await client(store);
    await carol.connect();
    expect(await store.get('account/registered')).toBe(stack.url);

    await carol.deleteAccount();

    expect(await store.get('account/registered')).toBeUndefined();
    expect(await store.get('identity')).toBeDefined();
    expect(await codeOf(carol.status())).toBe('INTERNAL');
    expect(await stack.ports.accounts.get(carol.userId)).toBeUndefined();
  });
});
