import { randomBytes } from 'node:crypto';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { LOCAL_AWS } from '../../local/dynamo';
import { anyCommitment } from '../support/franking';
import { asLinkedDevice, deviceAddFrame, makeLinkedDevice, messageId } from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { ManualClock, MatrixCast, type Member } from '../support/matrix-world';

/**
 * ARCH §6.6, as the attacks: strangers flooding a victim's queue must not crowd out the people the victim
 * wrote to, and after an ack nothing stored links a sender to its recipient.
 */
const MAX = 20;
/** `strangerQueuePercent` 50 of MAX. */
const STRANGER_SLOTS = 10;

const clock = new ManualClock();
let stack: LocalStack;
let cast: MatrixCast;
/** Query requests the handlers sent to the queue table. */
let queueQueries = 0;

beforeAll(async () => {
  stack = await startLocalStack({
    port: 0,
    now: clock.now,
    sweepIntervalMs: 3_600_000,
    config: { maxQueueDepth: MAX, strangerQueuePercent: 50, rateLimits: UNTHROTTLED },
    instrumentDynamo: (client) =>
      client.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { TableName?: string };
          if ((context as { commandName?: string }).commandName === 'QueryCommand' && input.TableName === stack.tables.queue) queueQueries++;
          return next(args);
        },
        { step: 'initialize', name: 'countQueueQueries' },
      ),
  });
  cast = new MatrixCast(stack, clock);
});
afterAll(() => stack?.stop());

const token = () => toBase64Url(new Uint8Array(randomBytes(32)));

function sendFrame(to: Member, deliveryToken?: string, id = messageId()) {
  return {
    action: 'send',
    id,
    to: to.id.uid,
    messages: [{ device: 1, ciphertext: toBase64Url(new Uint8Array(randomBytes(48))), commitment: anyCommitment() }],
    ...(deliveryToken !== undefined && { deliveryToken }),
  };
}

async function setToken(member: Member, value: string): Promise<void> {
  expect(await member.socket.request({ action: 'deliveryToken.set', token: value })).toMatchObject({ type: 'result' });
}

/** Fresh stranger accounts send to `victim` until each is refused; returns how many were queued. */
async function flood(victim: Member, strangers: number): Promise<number> {
  let queued = 0;
  for (let s = 0; s < strangers; s++) {
    const stranger = await cast.registered();
    for (;;) {
      const reply = await stranger.socket.request(sendFrame(victim));
      if (reply.type === 'error') {
        expect(reply).toMatchObject({ code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: 60 });
        break;
      }
      queued++;
      if (queued > MAX) throw new Error('the flood was never refused');
    }
    await stranger.socket.close();
  }
  return queued;
}

async function fetchAll(member: Member): Promise<Record<string, unknown>[]> {
  const reply = await member.socket.request({ action: 'fetch' });
  expect(reply).toMatchObject({ type: 'result' });
  return reply.messages as Record<string, unknown>[];
}

describe('GIVEN strangers flooding a victim whose contact holds its delivery token', () => {
  it('THEN the strangers fill only their share, and the contact still gets through and is received', async () => {
    const [victim, contact] = [await cast.registered(), await cast.registered()];
    const victimToken = token();
    await setToken(victim, victimToken);

    expect(await flood(victim, 5)).toBe(STRANGER_SLOTS);

    const fromContact = sendFrame(victim, victimToken);
    expect(await contact.socket.request(fromContact)).toMatchObject({ type: 'result', duplicate: false });
    const queued = await fetchAll(victim);
    expect(queued.map((m) => m.id)).toContain(fromContact.id);
    expect(queued).toHaveLength(STRANGER_SLOTS + 1);
  });

  it('THEN a wrong or stale token counts as a stranger, and the current one as a contact', async () => {
    const [victim, contact] = [await cast.registered(), await cast.registered()];
    const stale = token();
    await setToken(victim, stale);
    await flood(victim, 1);

    expect(await contact.socket.request(sendFrame(victim, token()))).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    const current = token();
    await setToken(victim, current);
    expect(await contact.socket.request(sendFrame(victim, stale))).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    expect(await contact.socket.request(sendFrame(victim, current))).toMatchObject({ type: 'result' });
  });

  it("THEN a message from one's own other device counts as contact", async () => {
    const victim = await cast.registered();
    const key = makeLinkedDevice(victim.id);
    expect(await victim.socket.request(deviceAddFrame(key))).toMatchObject({ type: 'result', device: 2 });
    const second = await cast.connect(asLinkedDevice(victim.id, key), { dev: 2, withPk: false });
    await flood(victim, 1);
    expect(await second.socket.request(sendFrame(victim))).toMatchObject({ type: 'result' });
    await second.socket.close();
  });

  it('THEN contacts may fill the whole queue, after which everyone is refused', async () => {
    const [victim, contact] = [await cast.registered(), await cast.registered()];
    const victimToken = token();
    await setToken(victim, victimToken);
    for (let i = 0; i < MAX; i++) expect(await contact.socket.request(sendFrame(victim, victimToken))).toMatchObject({ type: 'result' });
    expect(await contact.socket.request(sendFrame(victim, victimToken))).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    expect(await flood(victim, 1)).toBe(0);
  });

  it('THEN a burst of refused sends re-counts the queue a bounded number of times', async () => {
    const victim = await cast.registered();
    await flood(victim, 1);
    const stranger = await cast.registered();
    const before = queueQueries;
    for (let i = 0; i < 30; i++) expect(await stranger.socket.request(sendFrame(victim))).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    // At most one recount (one page here) for the whole burst, not one per refusal.
    expect(queueQueries - before).toBeLessThanOrEqual(1);
    // Once the interval has passed a refusal may count again, still at most once.
    clock.advance(61_000);
    const later = queueQueries;
    for (let i = 0; i < 10; i++) expect(await stranger.socket.request(sendFrame(victim))).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    expect(queueQueries - later).toBeLessThanOrEqual(1);
  });
});

/** Every item of every table, as stored (binary attributes as base64url). */
async function everyItem(): Promise<{ table: string; item: Record<string, AttributeValue>; text: string }[]> {
  const client = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, ...LOCAL_AWS });
  try {
    const out: { table: string; item: Record<string, AttributeValue>; text: string }[] = [];
    for (const table of Object.values(stack.tables)) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: table, ExclusiveStartKey: start }));
        for (const item of page.Items ?? []) {
          out.push({
            table,
            item,
            text: JSON.stringify(item, (_k, v: unknown) => (v instanceof Uint8Array ? Buffer.from(v).toString('base64url') : v)),
          });
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return out;
  } finally {
    client.destroy();
  }
}

describe('GIVEN a message sent, retried and acked', () => {
  it('THEN the retry dedupes before the ack, and afterwards no stored item links sender and recipient', async () => {
    const [sender, recipient] = [await cast.registered(), await cast.registered()];
    const frame = sendFrame(recipient);
    expect(await sender.socket.request(frame)).toMatchObject({ type: 'result', duplicate: false });
    clock.advance(5);
    expect(await sender.socket.request(frame)).toMatchObject({ type: 'result', duplicate: true });
    const queued = await fetchAll(recipient);
    expect(queued.map((m) => m.id)).toEqual([frame.id]);

    const { id, sentAt } = queued[0] as { id: string; sentAt: number };
    expect(await recipient.socket.request({ action: 'ack', messages: [{ id, sentAt }] })).toMatchObject({ type: 'result', acked: 1 });

    const items = await everyItem();
    const inRecipientPartition = items.filter(({ item }) => Object.values(item).some((v) => v.S?.startsWith(recipient.id.uid)));
    expect(inRecipientPartition.length).toBeGreaterThan(0);
    for (const { text } of inRecipientPartition) expect(text).not.toContain(sender.id.uid);
    for (const { text } of items) expect(text.includes(sender.id.uid) && text.includes(recipient.id.uid)).toBe(false);

    // The hashed marker still stops a late retry from queueing the message again.
    expect(await sender.socket.request(frame)).toMatchObject({ type: 'result', duplicate: true });
    expect(await fetchAll(recipient)).toEqual([]);
  });
});
