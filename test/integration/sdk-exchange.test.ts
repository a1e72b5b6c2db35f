import { DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import { EbbError, MemoryStore } from '../../client-sdk/src';
import { LOCAL_AWS } from '../../local/dynamo';
import { makeIdentity } from '../support/identity';
import { inbox, until } from '../support/sdk';
import { sdkSuite } from '../support/local-stack';

/** A shared clock for the stack and every client: phases and TTLs move without sleeping. */
const clock = { t: Date.now(), now: () => clock.t };

const env = sdkSuite({ now: clock.now, sweepIntervalMs: 60_000 }, { now: clock.now, reconnect: { baseDelayMs: 20, maxDelayMs: 200 } });
afterEach(() => {
  env.stack.gateway.faults = {};
});

const client = (store?: MemoryStore) => env.client(store);

async function queuedFor(userId: string): Promise<number> {
  const page = await env.stack.ports.queue.page({ userId, device: 1 }, null, 100, clock.now());
  return page.messages.length;
}

describe('two SDK clients through the local stack', () => {
  it('exchange messages both ways', async () => {
    const alice = await client();
    const bob = await client();
    await Promise.all([alice.connect(), bob.connect()]);
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];

    const sent = await alice.send(bob.userId, 'hi bob');
    await until(() => bobInbox.length === 1, 'bob to receive');
    expect(bobInbox[0]).toMatchObject({ id: sent.id, from: alice.userId, fromDevice: 1, text: 'hi bob' });
    expect(bobInbox[0]!.sentAt.getTime()).toBe(sent.sentAt.getTime());

    await bob.send(alice.userId, new Uint8Array([1, 2, 3]));
    await until(() => aliceInbox.length === 1, 'alice to receive');
    expect(aliceInbox[0]!.text).toBeUndefined();
    expect([...aliceInbox[0]!.body]).toEqual([1, 2, 3]);
    await until(async () => (await queuedFor(bob.userId)) === 0, 'acks');
  });

  it('deliver five messages to an offline recipient in order, exactly once, after it connects; acked ones are not redelivered', async () => {
    const alice = await client();
    const bobStore = new MemoryStore();
    const bobFirst = await client(bobStore);
    await Promise.all([alice.connect(), bobFirst.connect()]);
    const bobId = bobFirst.userId;
    await bobFirst.close();

    const texts = ['one', 'two', 'three', 'four', 'five'];
    for (const text of texts) {
      await alice.send(bobId, text);
      clock.t += 1;
    }
    expect(await queuedFor(bobId)).toBe(5);

    const bob = await client(bobStore);
    const received = inbox(bob);
    await bob.connect(); // resolves after the queue is drained
    expect(received.map((m) => m.text)).toEqual(texts);
    await bob.close();
    expect(await queuedFor(bobId)).toBe(0);

    const bobAgain = await client(bobStore);
    const again = inbox(bobAgain);
    await bobAgain.connect();
    expect(again).toEqual([]);
  });

  it('does not deliver a 1-second message to a recipient who connects 3 s later', async () => {
    const alice = await client();
    const bobStore = new MemoryStore();
    const bobFirst = await client(bobStore);
    await Promise.all([alice.connect(), bobFirst.connect()]);
    await bobFirst.close();

    await alice.send(bobFirst.userId, 'gone soon', { expiresInSeconds: 1 });
    await alice.send(bobFirst.userId, 'stays');
    clock.t += 3000;
    const bob = await client(bobStore);
    const received = inbox(bob);
    await bob.connect();
    expect(received.map((m) => m.text)).toEqual(['stays']);
    // The sweeper then deletes it from storage, as DynamoDB TTL would.
    expect(await env.stack.sweep()).toBeGreaterThanOrEqual(1);
  });

  it('refuses a send to an unknown user with NOT_FOUND', async () => {
    const alice = await client();
    await alice.connect();
    const error = await alice.send(makeIdentity().uid, 'anyone?').catch((e: unknown) => e);
    expect(EbbError.is(error, 'NOT_FOUND')).toBe(true);
    expect(error).toMatchObject({ code: 'NOT_FOUND', retryable: false });
  });

  it('delivers a send once when its reply is lost and the SDK retries it with the same id', async () => {
    const alice = await client();
    const bob = await client();
    await Promise.all([alice.connect(), bob.connect()]);
    const received = inbox(bob);
    let severed = 0;
    env.stack.gateway.faults = {
      beforeReply: (routeKey) => (routeKey === 'send' && severed++ === 0 ? 'sever' : 'deliver'),
    };
    const sent = await alice.send(bob.userId, 'retried');
    expect(severed).toBeGreaterThanOrEqual(2);
    await until(() => received.length >= 1, 'bob to receive');
    await new Promise((r) => setTimeout(r, 200));
    expect(received.map((m) => [m.id, m.text])).toEqual([[sent.id, 'retried']]);
  });

  it('leaves no plaintext in any table after a conversation', async () => {
    const secret = `plaintext-${Math.random().toString(36).slice(2)}`;
    const alice = await client();
    const bobStore = new MemoryStore();
    const bob = await client(bobStore);
    await Promise.all([alice.connect(), bob.connect()]);
    await bob.close();
    await alice.send(bob.userId, `${secret} (queued)`);
    const bobBack = await client(bobStore);
    const received = inbox(bobBack);
    await bobBack.connect();
    await alice.send(bob.userId, `${secret} (pushed)`);
    await until(() => received.length === 2, 'both messages');
    // Queue the last one unread, so a ciphertext is certainly in storage while we look.
    await bobBack.close();
    await alice.send(bob.userId, `${secret} (unread)`);

    const needles = [secret, Buffer.from(secret).toString('base64'), Buffer.from(secret).toString('base64url'), Buffer.from(secret).toString('hex')];
    let items = 0;
    const db = new DynamoDBClient({ endpoint: env.stack.dynamodbEndpoint, ...LOCAL_AWS });
    for (const table of Object.values(env.stack.tables)) {
      const scan = await db.send(new ScanCommand({ TableName: table }));
      for (const item of scan.Items ?? []) {
        items++;
        const raw = JSON.stringify(item, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('latin1') : v));
        for (const needle of needles) expect(raw).not.toContain(needle);
      }
    }
    db.destroy();
    expect(items).toBeGreaterThan(0);
  });
});
