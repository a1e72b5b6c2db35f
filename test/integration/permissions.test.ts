import { randomBytes } from 'node:crypto';
import { BatchGetItemCommand, BatchWriteItemCommand, DynamoDBClient, GetItemCommand, PutItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local';
import { LOCAL_AWS } from '../../local/dynamo';
import { grantedClient } from '../../local/grants';
import type { Logger } from '../../lambdas/core/ports';
import { Handlers, ScheduledHandlers, type HandlerSpec, type TableAction } from '../../lambdas/routes';
import { anyCommitment } from '../support/franking';
import {
  asLinkedDevice,
  connectUrl,
  deviceAddFrame,
  makeIdentity,
  makeLinkedDevice,
  messageId,
  registerFrame,
  signedPrekey,
  type TestIdentity,
} from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { UNTHROTTLED } from '../support/local-stack';

/**
 * The local stack runs each Lambda with exactly its manifest entry's grant (lambdas/routes.ts, from which infra
 * synthesizes IAM): what a route's grant lacks is refused here as DynamoDB refuses it on AWS.
 */

interface Logged {
  readonly level: string;
  readonly message: string;
  readonly fields: Record<string, unknown>;
}

function recordingLogger(lines: Logged[]): Logger {
  const log =
    (level: string) =>
    (message: string, fields: Record<string, unknown> = {}) =>
      void lines.push({ level, message, fields });
  return { info: log('info'), warn: log('warn'), error: log('error') };
}

/** The manifest with one grant changed by `edit`, as a test withholds something a route uses. */
function manifestWith(entry: string, edit: (spec: HandlerSpec) => HandlerSpec): HandlerSpec[] {
  return [...Handlers, ...ScheduledHandlers].map((spec) => (spec.entry === entry ? edit(spec) : spec));
}

function without(spec: HandlerSpec, table: keyof HandlerSpec['tables'], action: TableAction): HandlerSpec {
  return { ...spec, tables: { ...spec.tables, [table]: spec.tables[table]!.filter((a) => a !== action) } };
}

async function withStack<T>(options: LocalStackOptions, run: (stack: LocalStack) => Promise<T>): Promise<T> {
  const stack = await startLocalStack({ port: 0, ...options, config: { rateLimits: UNTHROTTLED, ...options.config } });
  try {
    return await run(stack);
  } finally {
    await stack.stop();
  }
}

async function registered(stack: LocalStack, id: TestIdentity = makeIdentity()): Promise<RawSocket> {
  const socket = await RawSocket.open(connectUrl(stack.url, id));
  expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result', created: true });
  return socket;
}

const sendFrame = (to: string) => ({
  action: 'send',
  id: messageId(),
  to,
  messages: [{ device: 1, ciphertext: toBase64Url(new Uint8Array(randomBytes(40))), commitment: anyCommitment() }],
});

describe('GIVEN a DynamoDB client granted only what a manifest entry names', () => {
  let stack: LocalStack;
  let shared: DynamoDBClient;
  const seen: string[] = [];
  const probe: HandlerSpec = { entry: 'probe', tables: { accounts: ['GetItem'] }, manageConnections: false, returnsResponse: true };
  beforeAll(async () => {
    stack = await startLocalStack({ port: 0 });
    shared = new DynamoDBClient({ endpoint: stack.dynamodbEndpoint, ...LOCAL_AWS });
    shared.middlewareStack.add(
      (next, context) => async (args) => {
        seen.push(String(context.commandName));
        return next(args);
      },
      { step: 'initialize', name: 'seen' },
    );
  });
  afterAll(async () => {
    shared.destroy();
    await stack.stop();
  });

  const refusalOf = (promise: Promise<unknown>) =>
    promise.then(
      () => undefined,
      (error: unknown) => error as { name: string; $fault: string; $metadata: { httpStatusCode?: number }; message: string },
    );

  it('THEN a granted action on a named table goes through', async () => {
    const db = grantedClient(shared, probe, stack.tables);
    await expect(db.send(new GetItemCommand({ TableName: stack.tables.accounts, Key: { uid: { S: 'someone' } } }))).resolves.toBeDefined();
  });

  it('THEN an action it lacks is refused as AccessDeniedException naming the action and table, not the item', async () => {
    const db = grantedClient(shared, probe, stack.tables);
    const error = await refusalOf(db.send(new PutItemCommand({ TableName: stack.tables.accounts, Item: { uid: { S: 'secret-user-id' } } })));
    expect(error).toMatchObject({ name: 'AccessDeniedException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
    expect(error!.message).toContain('dynamodb:PutItem');
    expect(error!.message).toContain(`table/${stack.tables.accounts}`);
    expect(error!.message).not.toContain('secret-user-id');
    expect(await stack.ports.accounts.get('secret-user-id')).toBeUndefined();
  });

  it('THEN a table it does not name is refused, whatever the action', async () => {
    const db = grantedClient(shared, probe, stack.tables);
    const error = await refusalOf(db.send(new GetItemCommand({ TableName: stack.tables.prekeys, Key: { owner: { S: 'x' }, kid: { S: 'spk' } } })));
    expect(error).toMatchObject({ name: 'AccessDeniedException' });
    expect(error!.message).toContain(`dynamodb:GetItem on resource: arn:aws:dynamodb:local:000000000000:table/${stack.tables.prekeys}`);
    await expect(refusalOf(db.send(new ScanCommand({ TableName: stack.tables.accounts })))).resolves.toMatchObject({ name: 'AccessDeniedException' });
  });

  it('THEN a batch is refused unless its action is granted on every table of RequestItems', async () => {
    const both: HandlerSpec = { ...probe, tables: { accounts: ['BatchGetItem', 'BatchWriteItem'] } };
    const db = grantedClient(shared, both, stack.tables);
    await expect(
      db.send(new BatchGetItemCommand({ RequestItems: { [stack.tables.accounts]: { Keys: [{ uid: { S: 'a' } }] } } })),
    ).resolves.toBeDefined();
    const put = (uid: string) => ({ PutRequest: { Item: { uid: { S: uid } } } });
    const error = await refusalOf(
      db.send(
        new BatchWriteItemCommand({
          RequestItems: { [stack.tables.accounts]: [put('b')], [stack.tables.usernames]: [{ PutRequest: { Item: { name: { S: 'n' } } } }] },
        }),
      ),
    );
    expect(error).toMatchObject({ name: 'AccessDeniedException' });
    expect(error!.message).toContain(`dynamodb:BatchWriteItem on resource: arn:aws:dynamodb:local:000000000000:table/${stack.tables.usernames}`);
    expect(await stack.ports.accounts.get('b')).toBeUndefined();
  });

  it('THEN the shared client still sees every request, refused ones too', async () => {
    seen.length = 0;
    const db = grantedClient(shared, probe, stack.tables);
    await db.send(new GetItemCommand({ TableName: stack.tables.accounts, Key: { uid: { S: 'a' } } }));
    await refusalOf(db.send(new PutItemCommand({ TableName: stack.tables.accounts, Item: { uid: { S: 'a' } } })));
    expect(seen).toEqual(['GetItemCommand', 'PutItemCommand']);
  });
});

describe('GIVEN a route whose manifest entry lacks an action it uses', () => {
  it('THEN the route answers INTERNAL without details and the log names AccessDeniedException', async () => {
    const lines: Logged[] = [];
    const handlers = manifestWith('hello', (spec) => without(spec, 'accounts', 'GetItem'));
    await withStack({ handlers, logger: recordingLogger(lines) }, async (stack) => {
      const socket = await registered(stack);
      const reply = await socket.request({ action: 'hello', rid: 'h' });
      expect(reply).toEqual({ type: 'error', rid: 'h', code: 'INTERNAL', message: 'internal error, retry later', retryable: true });
      expect(lines).toContainEqual({
        level: 'error',
        message: 'route failed',
        fields: expect.objectContaining({ action: 'hello', error: 'AccessDeniedException' }),
      });
      // Only that route: the others keep their grants.
      expect(await socket.request({ action: 'keys.count', rid: 'c' })).toMatchObject({ type: 'result', oneTimePrekeys: 0 });
      await socket.close();
    });
  });

  it('THEN the authorizer without its nonce grant lets no one connect', async () => {
    const lines: Logged[] = [];
    const handlers = manifestWith('authorize', (spec) => without(spec, 'nonces', 'PutItem'));
    await withStack({ handlers, logger: recordingLogger(lines) }, async (stack) => {
      await expect(RawSocket.open(connectUrl(stack.url, makeIdentity()))).rejects.toMatchObject({ status: 500 });
      expect(lines.some((l) => l.message === 'connect' && l.fields.allow === true)).toBe(false);
    });
  });

  it('THEN a route not granted the franking keyring or the management API has neither', async () => {
    const lines: Logged[] = [];
    const handlers = manifestWith('send', (spec) => ({ ...spec, frankingKeys: false }));
    await withStack({ handlers, logger: recordingLogger(lines) }, async (stack) => {
      const [alice, bob] = [await registered(stack), await registered(stack)];
      const bobId = ((await bob.request({ action: 'hello' })) as { userId: string }).userId;
      expect(await alice.request(sendFrame(bobId))).toMatchObject({ type: 'error', code: 'INTERNAL' });
      expect(lines).toContainEqual({ level: 'error', message: 'route failed', fields: expect.objectContaining({ action: 'send' }) });
      await Promise.all([alice.close(), bob.close()]);
    });
    const pushes = manifestWith('send', (spec) => ({ ...spec, manageConnections: false }));
    await withStack({ handlers: pushes }, async (stack) => {
      const [alice, bob] = [await registered(stack), await registered(stack)];
      const bobId = ((await bob.request({ action: 'hello' })) as { userId: string }).userId;
      expect(await alice.request(sendFrame(bobId))).toMatchObject({ type: 'error', code: 'INTERNAL' });
      await Promise.all([alice.close(), bob.close()]);
    });
  });

  it('THEN the scheduled purge without Scan on a table fails, as its Lambda would', async () => {
    const lines: Logged[] = [];
    const T0 = Date.parse('2030-01-01T00:00:00Z');
    let now = T0;
    const handlers = manifestWith('lifecycle', (spec) => without(spec, 'reports', 'Scan'));
    const sunset = { shutdownAt: new Date(T0 + 60_000).toISOString(), purgeAt: new Date(T0 + 120_000).toISOString() };
    await withStack(
      { handlers, logger: recordingLogger(lines), now: () => now, config: { sunset }, lifecycleIntervalMs: 3_600_000 },
      async (stack) => {
        now = T0 + 180_000;
        await stack.lifecycleTick();
        expect(lines).toContainEqual({ level: 'error', message: 'lifecycle failed', fields: { task: 'purge', error: 'AccessDeniedException' } });
      },
    );
  });
});

describe('GIVEN acks riding on a send (ARCH §6.5)', () => {
  /** Alice sends Bob a message; Bob answers with a send that carries its ack. */
  async function ackRidingOnReply(stack: LocalStack) {
    const [aliceId, bobId] = [makeIdentity(), makeIdentity()];
    const [alice, bob] = [await registered(stack, aliceId), await registered(stack, bobId)];
    const first = sendFrame(bobId.uid);
    expect(await alice.request(first)).toMatchObject({ type: 'result', duplicate: false });
    const pushed = await bob.nextPush();
    const reply = await bob.request({ ...sendFrame(aliceId.uid), acks: [{ id: first.id, sentAt: pushed.sentAt }] });
    const bobQueue = await stack.ports.queue.page({ userId: bobId.uid, device: 1 }, null, 10, Date.now());
    await Promise.all([alice.close(), bob.close()]);
    return { reply, bobQueue: bobQueue.messages };
  }

  it("THEN send's grant as deployed removes them from the caller's queue", async () => {
    await withStack({}, async (stack) => {
      const { reply, bobQueue } = await ackRidingOnReply(stack);
      expect(reply).toMatchObject({ type: 'result', duplicate: false, acksApplied: true });
      expect(bobQueue).toEqual([]);
    });
  });

  it('THEN without DeleteItem on the queue the local stack refuses the removal: the send lands, the answer says the acks were not applied', async () => {
    const handlers = manifestWith('send', (spec) => without(spec, 'queue', 'DeleteItem'));
    await withStack({ handlers, logger: recordingLogger([]) }, async (stack) => {
      const { reply, bobQueue } = await ackRidingOnReply(stack);
      expect(reply).toMatchObject({ type: 'result', duplicate: false, acksApplied: false });
      expect(bobQueue).toHaveLength(1);
    });
  });
});

describe('GIVEN the manifest as infra deploys it', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
  });
  afterAll(() => stack.stop());

  it('THEN keys.publish stores a signed prekey and publishes it again (its count reads the signed prekey)', async () => {
    const id = makeIdentity();
    const socket = await registered(stack, id);
    for (const keyId of [1, 2]) {
      expect(await socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(id, keyId) })).toMatchObject({
        type: 'result',
        signedPrekeyId: keyId,
      });
    }
    await socket.close();
  });

  it("THEN a send to one's own other device is queued (one account read as a batch of one)", async () => {
    const id = makeIdentity();
    const socket = await registered(stack, id);
    const key = makeLinkedDevice(id);
    expect(await socket.request(deviceAddFrame(key))).toMatchObject({ type: 'result', device: 2 });
    const linked = asLinkedDevice(id, key);
    const second = await RawSocket.open(connectUrl(stack.url, linked, { dev: 2, withPk: false }));
    expect(await second.request({ action: 'keys.publish', signedPrekey: signedPrekey(linked) })).toMatchObject({ type: 'result' });
    const frame = { ...sendFrame(id.uid), messages: [{ ...sendFrame(id.uid).messages[0]!, device: 2 }] };
    expect(await socket.request(frame)).toMatchObject({ type: 'result', duplicate: false, missing: [], stale: [] });
    const page = await second.request({ action: 'fetch' });
    expect(page.messages).toHaveLength(1);
    await Promise.all([socket.close(), second.close()]);
  });
});
