import { createServer } from 'node:net';
import type { Phase } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { WAKE_PAYLOAD } from '../../lambdas/adapters/web-push';
import { ChatController, type ChatView, type ConnectionStatus } from '../../web/controller';
import { PlainError } from '../../web/errors';
import { WAKE_BODY, WAKE_TITLE, isWake, wakeAction, wakeNotification } from '../../web/wake';
import { MemoryStore } from '../../client-sdk/src';
import { UNTHROTTLED } from '../support/local-stack';
import { until } from '../support/sdk';

/**
 * The web chat's notifications without a browser (ARCH §6.13): the worker's decisions (web/wake.ts), and the
 * controller's push calls against the local stack. test/browser/notifications.test.ts drives the page and worker.
 */

describe('the worker’s decisions', () => {
  it('takes the payload the sender pushes for a wake-up, and nothing else', () => {
    expect(isWake(WAKE_PAYLOAD)).toBe(true);
    for (const other of [null, undefined, '', 'wake', '{"t":"other"}', '{"type":"wake"}', '["wake"]', 'null', '{']) expect(isWake(other)).toBe(false);
  });

  it('notifies when no chat window is in view, and passes the wake-up on when one is', () => {
    expect(wakeAction([])).toBe('notify');
    expect(wakeAction([{ visibilityState: 'hidden' }, { visibilityState: 'hidden' }])).toBe('notify');
    expect(wakeAction([{ visibilityState: 'hidden' }, { visibilityState: 'visible' }])).toBe('tell');
  });

  it('says "New message" and nothing about who or what', () => {
    expect(WAKE_TITLE).toBe('New message');
    expect(wakeNotification()).toEqual({ body: WAKE_BODY, tag: 'ebb-wake', renotify: true });
    expect(WAKE_BODY).not.toMatch(/\{|\$|from/i);
  });
});

class RecordingView implements ChatView {
  connections: ConnectionStatus[] = [];
  account(): void {}
  connection(status: ConnectionStatus): void {
    this.connections.push(status);
  }
  sunset(_phase: Phase): void {}
  conversations(): void {}
  chat(): void {}
}

function open(url: string, view = new RecordingView(), retry = { baseDelayMs: 60_000, maxDelayMs: 60_000 }): Promise<ChatController> {
  return ChatController.open({ url, store: new MemoryStore(), historyStore: new MemoryStore(), view, retry });
}

describe('the controller on the local stack', () => {
  let stack: LocalStack;
  const chats: ChatController[] = [];
  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
  });
  afterEach(async () => {
    await Promise.all(chats.splice(0).map((chat) => chat.close()));
  });
  afterAll(() => stack?.stop());

  it('gives the key status announces, registers a subscription for this device, and unregisters it', async () => {
    const chat = await open(stack.url);
    chats.push(chat);
    await chat.connect();
    expect(await chat.pushKey()).toBe(stack.vapidPublicKey);
    const subscription = stack.pushReceiver.subscription();
    await chat.registerPush(subscription);
    const device = { userId: chat.userId!, device: 1 };
    expect(await stack.ports.pushTokens.get(device)).toEqual(expect.objectContaining({ endpoint: subscription.endpoint }));
    await chat.unregisterPush();
    expect(await stack.ports.pushTokens.get(device)).toBeUndefined();
  });

  it('refuses a subscription the service would not post to, in plain words, storing nothing', async () => {
    const chat = await open(stack.url);
    chats.push(chat);
    await chat.connect();
    const { keys } = stack.pushReceiver.subscription();
    const refused = await chat.registerPush({ endpoint: 'https://localhost/push/1', keys }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(PlainError);
    expect((refused as PlainError).message).toBe('The service does not accept the push address this browser gave. Notifications stay off.');
    expect(await stack.ports.pushTokens.get({ userId: chat.userId!, device: 1 })).toBeUndefined();
  });
});

it('a wake-up passed on to a page waiting to connect again connects it now, not when its timer says', async () => {
  // A port with nothing listening yet: the first connect fails and the next try is a minute away.
  const port = await new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
  const view = new RecordingView();
  const chat = await open(`ws://127.0.0.1:${port}`, view);
  let stack: LocalStack | undefined;
  try {
    await chat.connect();
    expect(view.connections.at(-1)).toEqual(expect.objectContaining({ online: false }));
    stack = await startLocalStack({ port, config: { rateLimits: UNTHROTTLED } });
    chat.wake();
    await until(() => view.connections.at(-1)?.online === true, 'connected after the wake-up', 15_000);
    // Once online there is nothing to hurry: a second wake-up starts no connect.
    const reports = view.connections.length;
    chat.wake();
    expect(view.connections.length).toBe(reports);
  } finally {
    await chat.close();
    await stack?.stop();
  }
});
