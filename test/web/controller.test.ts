import nacl from 'tweetnacl';
import { EbbClient, MemoryStore, type Phase } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { toBase64Url } from '../../protocol/base64url';
import { ChatController, type ChatView, type ConnectionStatus } from '../../web/controller';
import { explainCode, SendWording } from '../../web/errors';
import { UNTHROTTLED } from '../support/local-stack';
import { until } from '../support/sdk';

/** The web chat's logic without a browser: the controller over the SDK, against the local stack. */

/** A view that remembers what it was told. */
class RecordingView implements ChatView {
  accounts: (string | null)[] = [];
  connections: ConnectionStatus[] = [];
  phases: Phase[] = [];
  changes = 0;

  account(userId: string | null): void {
    this.accounts.push(userId);
  }
  connection(status: ConnectionStatus): void {
    this.connections.push(status);
  }
  sunset(phase: Phase): void {
    this.phases.push(phase);
  }
  conversations(): void {
    this.changes++;
  }
  chat(): void {
    this.changes++;
  }
}

interface Visitor {
  readonly chat: ChatController;
  readonly view: RecordingView;
  readonly store: MemoryStore;
  visible: boolean;
}

const opened: ChatController[] = [];

async function visit(
  url: string,
  options: { store?: MemoryStore; now?: () => number; retry?: { baseDelayMs: number; maxDelayMs: number } } = {},
): Promise<Visitor> {
  const view = new RecordingView();
  const store = options.store ?? new MemoryStore();
  const visitor = { view, store, visible: true } as { -readonly [K in keyof Visitor]: Visitor[K] };
  visitor.chat = await ChatController.start({
    url,
    store,
    historyStore: new MemoryStore(),
    view,
    isVisible: () => visitor.visible,
    ...(options.now && { now: options.now }),
    ...(options.retry && { retry: options.retry }),
  });
  opened.push(visitor.chat);
  return visitor;
}

let names = 0;
const uniqueName = (prefix: string) => `${prefix}_${process.pid % 10_000}_${++names}`;

afterEach(async () => {
  await Promise.all(opened.splice(0).map((chat) => chat.close()));
});

describe('on an open service', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
  });
  afterAll(() => stack?.stop());

  it('two people find each other by username and chat; the receiver counts unread until it opens the conversation', async () => {
    const alice = await visit(stack.url);
    const bob = await visit(stack.url);
    expect(alice.view.accounts).toEqual([alice.chat.userId]);
    expect(alice.view.connections.at(-1)).toEqual({ online: true, text: 'Connected' });

    const bobName = uniqueName('bob');
    expect(await bob.chat.setUsername(` ${bobName} `)).toBe(bobName);
    const conversation = await alice.chat.startConversation(bobName);
    expect(conversation).toMatchObject({ peerId: bob.chat.userId, label: bobName });
    expect(alice.chat.current).toBe(conversation);

    const message = alice.chat.send('see you at six', { expiresInSeconds: 3600 })!;
    await until(() => message.delivery === 'sent', 'the message to be sent');
    expect(message.expiresAt).toBe(message.at + 3_600_000);

    await until(() => bob.chat.conversations.length === 1, 'bob to get the conversation');
    const atBob = bob.chat.conversations[0]!;
    expect(atBob).toMatchObject({ peerId: alice.chat.userId, unread: 1 });
    expect(atBob.messages).toMatchObject([{ direction: 'in', text: 'see you at six' }]);
    bob.chat.select(atBob);
    expect(atBob.unread).toBe(0);

    // Blank messages and messages with no conversation open are not sent.
    expect(alice.chat.send('   ')).toBeUndefined();
  });

  it('says in plain words why a chat cannot start, before anything is sent', async () => {
    const alice = await visit(stack.url);
    // A well-formed user id nobody registered: its keys are looked up at once.
    const stranger = toBase64Url(nacl.randomBytes(24));
    await expect(alice.chat.startConversation(stranger)).rejects.toThrow(
      `No account has the user id ${stranger} on this service. Check the id with the person who gave it to you.`,
    );
    await expect(alice.chat.startConversation(alice.chat.userId!)).rejects.toThrow('That is your own user id.');
    await expect(alice.chat.startConversation('not an id!')).rejects.toThrow('Enter a user id (32 characters) or a username.');
    const nobody = uniqueName('nobody');
    await expect(alice.chat.startConversation(nobody)).rejects.toThrow(`Nobody is called ${nobody}.`);
    expect(alice.chat.conversations).toEqual([]);
    expect(alice.chat.current).toBeUndefined();
  });

  it('says why a username cannot be set: taken, reserved, malformed', async () => {
    const alice = await visit(stack.url);
    const bob = await visit(stack.url);
    const name = uniqueName('carol');
    await alice.chat.setUsername(name);
    await expect(bob.chat.setUsername(name.toUpperCase())).rejects.toThrow('That username is taken. Try another.');
    await expect(bob.chat.setUsername('admin')).rejects.toThrow('That username is reserved. Try another.');
    await expect(bob.chat.setUsername('no')).rejects.toThrow('A username is 3 to 32 characters of A–Z, a–z, 0–9 and _.');
  });

  it('exports only when the passphrase was typed the same twice, and the archive restores the account', async () => {
    const alice = await visit(stack.url);
    await expect(alice.chat.exportArchive('correct horse battery staple', 'correct horse battery stapel')).rejects.toThrow(
      'The two passphrases differ. Type the same passphrase in both fields.',
    );
    await expect(alice.chat.exportArchive('too short', 'too short')).rejects.toThrow('The passphrase must be at least 15 characters long.');
    const archive = await alice.chat.exportArchive('correct horse battery staple', 'correct horse battery staple');
    const restored = await EbbClient.importArchive(archive, 'correct horse battery staple', { url: stack.url, store: new MemoryStore() });
    expect(restored.userId).toBe(alice.chat.userId);
    await restored.close();
  });

  it('starts the burn timer of a burn-after-reading message only once the page can be seen', async () => {
    const alice = await visit(stack.url);
    const bob = await visit(stack.url);
    await alice.chat.startConversation(bob.chat.userId!);
    bob.visible = false;
    await bob.chat.startConversation(alice.chat.userId!);
    const sent = alice.chat.send('read me once', { burnAfterReadingSeconds: 30 })!;
    await until(() => sent.delivery === 'sent', 'the message to be sent');
    await until(() => bob.chat.current!.messages.length === 1, 'bob to receive it');
    const received = bob.chat.current!.messages[0]!;
    expect(received.burnAt).toBeUndefined();
    expect(bob.chat.current!.unread).toBe(1);

    bob.visible = true;
    const shownAt = Date.now();
    bob.chat.markShown(bob.chat.current!);
    expect(received.burnAt).toBeGreaterThanOrEqual(shownAt + 30_000);
    expect(bob.chat.current!.unread).toBe(0);
  });

  it('says so when the account is suspended, keeps trying, and is connected again once it is lifted', async () => {
    const alice = await visit(stack.url, { retry: { baseDelayMs: 50, maxDelayMs: 200 } });
    const userId = alice.chat.userId!;
    // The operator suspends the account and closes its connections, as `ebb-admin suspend --callback-url` does.
    await stack.ports.accounts.suspend(userId, 'test', Date.now());
    for (const { connectionId } of await stack.ports.connections.ofUser(userId, Date.now())) stack.gateway.sever(connectionId);
    const suspended = 'The operator of this service has suspended your account. Trying again shortly.';
    await until(() => alice.view.connections.some((status) => status.text === `Disconnected. ${suspended}`), 'the suspension to show');
    await until(() => alice.view.connections.some((status) => status.text === `Cannot connect. ${suspended}`), 'a retry');

    await stack.ports.accounts.unsuspend(userId);
    await until(() => alice.view.connections.at(-1)?.text === 'Connected', 'the page to connect again', 2000);
    const bob = await visit(stack.url);
    await alice.chat.startConversation(bob.chat.userId!);
    const message = alice.chat.send('back')!;
    await until(() => message.delivery === 'sent', 'the message to be sent');
  });

  it('marks a send to a changed identity as failed in plain words, and sends again once accepted', async () => {
    const alice = await visit(stack.url);
    const bobStore = new MemoryStore();
    const bob = await EbbClient.create({ url: stack.url, store: bobStore });
    await bob.connect();
    await alice.chat.startConversation(bob.userId);
    await bob.close();
    // Bob reinstalls keeping his signing key: same user id, new identity key.
    const { signingSeed } = JSON.parse((await bobStore.get('identity'))!) as { signingSeed: string };
    const reinstalledStore = new MemoryStore();
    await reinstalledStore.set('identity', JSON.stringify({ signingSeed, identitySecretKey: toBase64Url(nacl.randomBytes(32)) }));
    const reinstalled = await EbbClient.create({ url: stack.url, store: reinstalledStore });
    try {
      await reinstalled.connect();
      await reinstalled.send(alice.chat.userId!, 'new phone');
      await until(() => alice.chat.current!.identityChanged === true, 'the identity change to show');

      const blocked = alice.chat.send('is it you?')!;
      await until(() => blocked.delivery === 'failed', 'the send to fail');
      expect(explainCode(blocked.failure!, SendWording)).toBe(
        'Their safety number has changed. Compare it with them, then accept the new identity to send again.',
      );
      await alice.chat.acceptIdentity();
      expect(alice.chat.current!.identityChanged).toBe(false);
      await alice.chat.retry(alice.chat.current!, blocked);
      expect(blocked.delivery).toBe('sent');
    } finally {
      await reinstalled.close();
    }
  });
});

describe('after the service shut down', () => {
  const clock = { offset: 0, now: () => Date.now() + clock.offset };
  const day = 86_400_000;
  let stack: LocalStack;
  beforeAll(async () => {
    const start = Date.now();
    stack = await startLocalStack({
      port: 0,
      now: clock.now,
      config: {
        rateLimits: UNTHROTTLED,
        sunset: {
          signupsCloseAt: new Date(start + day).toISOString(),
          readOnlyAt: new Date(start + 2 * day).toISOString(),
          shutdownAt: new Date(start + 3 * day).toISOString(),
        },
      },
    });
  });
  afterAll(() => stack?.stop());

  it('a new visitor is shown the notice, not a new identity, and keeps nothing; an old account still sees its id', async () => {
    const aliceStore = new MemoryStore();
    const alice = await visit(stack.url, { store: aliceStore, now: clock.now });
    const aliceId = alice.chat.userId;
    await alice.chat.close();

    clock.offset = 4 * day;
    const visitor = await visit(stack.url, { now: clock.now });
    expect(visitor.view.accounts).toEqual([null]);
    expect(visitor.chat.userId).toBeNull();
    expect(visitor.chat.canSend).toBe(false);
    expect(visitor.view.connections).toEqual([{ online: false, text: 'This service has shut down.' }]);
    expect(visitor.view.phases).toEqual(['shut-down']);
    expect(await visitor.store.list('')).toEqual([]);

    const back = await visit(stack.url, { store: aliceStore, now: clock.now });
    expect(back.view.accounts).toEqual([aliceId]);
    expect(back.view.connections).toEqual([{ online: false, text: 'Cannot connect. This service has shut down.' }]);
    expect(back.view.phases).toEqual(['shut-down']);
    // Its keys stay: the account can still be exported.
    expect((await aliceStore.list('')).length).toBeGreaterThan(0);
  });
});
