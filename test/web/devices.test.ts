import { EbbClient, MemoryStore, type Phase } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { ChatController, type ChatView, type ConnectionStatus } from '../../web/controller';
import { UNTHROTTLED } from '../support/local-stack';
import { until } from '../support/sdk';

/** The web chat's devices (ARCH §8.6) without a browser: linking, sent copies, receipts, removal. */

class RecordingView implements ChatView {
  accounts: (string | null)[] = [];
  connections: ConnectionStatus[] = [];
  phases: Phase[] = [];

  account(userId: string | null): void {
    this.accounts.push(userId);
  }
  connection(status: ConnectionStatus): void {
    this.connections.push(status);
  }
  sunset(phase: Phase): void {
    this.phases.push(phase);
  }
  conversations(): void {}
  chat(): void {}
}

interface Browser {
  readonly chat: ChatController;
  readonly view: RecordingView;
  readonly store: MemoryStore;
  readonly historyStore: MemoryStore;
}

const opened: ChatController[] = [];
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterEach(async () => {
  await Promise.all(opened.splice(0).map((chat) => chat.close()));
});
afterAll(() => stack?.stop());

/** Opens the page's controller on `stores` (new ones: a first visit) without connecting. */
async function open(stores: { store?: MemoryStore; historyStore?: MemoryStore } = {}): Promise<Browser> {
  const view = new RecordingView();
  const store = stores.store ?? new MemoryStore();
  const historyStore = stores.historyStore ?? new MemoryStore();
  const chat = await ChatController.open({
    url: stack.url,
    store,
    historyStore,
    view,
    retry: { baseDelayMs: 50, maxDelayMs: 200 },
    reconnect: { baseDelayMs: 20, maxDelayMs: 200 },
  });
  opened.push(chat);
  return { chat, view, store, historyStore };
}

async function connected(): Promise<Browser> {
  const browser = await open();
  await browser.chat.connect();
  return browser;
}

/** A second browser of `first`'s account: linked, connected. */
async function linkedTo(first: Browser, name: string): Promise<Browser> {
  const second = await open();
  const { code, linked } = await second.chat.startLink();
  expect(code).toMatch(/^ebb-link:/);
  await first.chat.approveLink(` ${code} `, name);
  await linked;
  return second;
}

it('a first visit asks before it registers, also after a reload; once chosen it never asks again', async () => {
  const first = await open();
  expect(first.chat.choosing).toBe(true);
  await first.chat.close();
  const reloaded = await open({ store: first.store, historyStore: first.historyStore });
  expect(reloaded.chat.choosing).toBe(true);
  await reloaded.chat.connect();
  expect(reloaded.chat.choosing).toBe(false);
  expect(reloaded.view.connections.at(-1)).toEqual({ online: true, text: 'Connected' });
  await reloaded.chat.close();
  expect((await open({ store: first.store, historyStore: first.historyStore })).chat.choosing).toBe(false);
});

it('links a second browser to an account: same user id, its own device number, listed by name', async () => {
  const phone = await connected();
  const laptop = await linkedTo(phone, 'laptop');
  expect(laptop.chat.userId).toBe(phone.chat.userId);
  expect([phone.chat.device, laptop.chat.device]).toEqual([1, 2]);
  expect([phone.chat.holdsAccountKey, laptop.chat.holdsAccountKey]).toEqual([true, false]);
  expect(laptop.chat.choosing).toBe(false);
  expect(laptop.view.accounts).toEqual([phone.chat.userId]);
  expect(laptop.view.connections.at(-1)).toEqual({ online: true, text: 'Connected' });
  const devices = await phone.chat.devices();
  expect(devices.map(({ device, name, current }) => ({ device, name, current }))).toEqual([
    { device: 1, name: null, current: true },
    { device: 2, name: 'laptop', current: false },
  ]);
  // A reload of the linked browser connects as that device, without asking.
  await laptop.chat.close();
  const again = await open({ store: laptop.store, historyStore: laptop.historyStore });
  expect(again.chat.choosing).toBe(false);
  await again.chat.connect();
  expect(again.chat.device).toBe(2);
});

it('both browsers chat with a third person: sent copies, ✓ delivered, ✓✓ read, read state shared', async () => {
  const phone = await connected();
  const laptop = await linkedTo(phone, 'laptop');
  const bob = await connected();
  const aliceId = phone.chat.userId!;

  await phone.chat.startConversation(bob.chat.userId!);
  const fromPhone = phone.chat.send('sent from the phone')!;
  await until(() => fromPhone.delivery === 'sent', 'the send');
  // The laptop shows it in its conversation with Bob, as sent by this account from device 1.
  await until(() => laptop.chat.conversations.some((c) => c.messages.length > 0), 'the sent copy on the laptop');
  const copy = laptop.chat.conversations[0]!;
  expect(copy.peerId).toBe(bob.chat.userId);
  expect(copy.messages).toMatchObject([
    { direction: 'out', text: 'sent from the phone', delivery: 'sent', fromDevice: 1, messageId: fromPhone.messageId },
  ]);

  // Bob's page gets it (delivered); it is not on screen yet, so not read.
  await until(() => bob.chat.conversations.length === 1, 'bob to receive it');
  await until(() => fromPhone.receipt === 'delivered', '✓ on the phone');
  await until(() => copy.messages[0]!.receipt === 'delivered', '✓ on the laptop');
  bob.chat.select(bob.chat.conversations[0]!);
  await until(() => fromPhone.receipt === 'read', '✓✓ on the phone');
  await until(() => copy.messages[0]!.receipt === 'read', '✓✓ on the laptop');

  // The laptop answers in the same conversation; the phone shows that too.
  laptop.chat.select(copy);
  const fromLaptop = laptop.chat.send('and this from the laptop')!;
  await until(() => fromLaptop.delivery === 'sent', 'the laptop send');
  const atPhone = phone.chat.current!;
  await until(() => atPhone.messages.some((m) => m.text === 'and this from the laptop' && m.fromDevice === 2), 'the laptop copy on the phone');
  await until(() => bob.chat.current!.messages.length === 2, 'bob to get both');
  expect(bob.chat.current!.messages.map((m) => m.text)).toEqual(['sent from the phone', 'and this from the laptop']);

  // Bob writes back: both of Alice's browsers get it. Reading it on the laptop marks it read on the phone.
  bob.chat.send('hello both of you');
  await until(() => atPhone.messages.some((m) => m.text === 'hello both of you'), 'the phone to receive it');
  await until(() => copy.messages.some((m) => m.text === 'hello both of you'), 'the laptop to receive it');
  const onPhone = atPhone.messages.find((m) => m.text === 'hello both of you')!;
  // The laptop shows that conversation: read there at once, and so on the phone.
  await until(() => onPhone.read === true, 'the read state to reach the phone');
  const bobsOwn = bob.chat.current!.messages.find((m) => m.text === 'hello both of you')!;
  await until(() => bobsOwn.receipt === 'read', '✓✓ at bob');
  expect(aliceId).toBe(laptop.chat.userId);
});

it('says in plain words why a code cannot be approved, and nothing is linked', async () => {
  const phone = await connected();
  await expect(phone.chat.approveLink('ebb-link:nonsense', 'tablet')).rejects.toThrow('That is not a link code.');
  const laptop = await linkedTo(phone, 'laptop');
  const tablet = await open();
  const { code } = await tablet.chat.startLink();
  await expect(laptop.chat.approveLink(code, 'tablet')).rejects.toThrow('Only your first device, which holds the account key, can approve');
  await phone.chat.approveLink(code, 'tablet');
  await expect(phone.chat.approveLink(code, 'tablet again')).rejects.toThrow('That link code was used already.');
  expect((await phone.chat.devices()).map((d) => d.name)).toEqual([null, 'laptop', 'tablet']);
});

it('removes a device: from the first device it is refused from then on; removing itself, a browser forgets the account', async () => {
  const phone = await connected();
  const laptop = await linkedTo(phone, 'laptop');
  const tablet = await linkedTo(phone, 'tablet');
  await expect(laptop.chat.removeDevice(1)).rejects.toThrow('The first device holds the account key and cannot be removed');

  await phone.chat.removeDevice(laptop.chat.device);
  // Told by the service before its socket closed, as a browser could not read a refused upgrade.
  await until(
    () => laptop.view.connections.at(-1)?.text.startsWith('This device was removed from the account') === true,
    'the laptop to say it was removed',
  );
  expect(laptop.view.accounts.at(-1)).toBeNull();
  expect(await laptop.store.list('')).toEqual([]);
  expect(await laptop.historyStore.list('')).toEqual([]);

  const tabletKeys = new MemoryStore();
  for (const key of await tablet.store.list('')) await tabletKeys.set(key, (await tablet.store.get(key))!);
  await tablet.chat.removeDevice(tablet.chat.device);
  expect(tablet.view.accounts.at(-1)).toBeNull();
  expect(tablet.view.connections.at(-1)?.text).toMatch(/^This browser is no longer a device of the account, and has forgotten it/);
  expect(await tablet.store.list('')).toEqual([]);
  expect(await tablet.historyStore.list('')).toEqual([]);
  expect((await phone.chat.devices()).map((d) => d.device)).toEqual([1]);
  // The page's old keys can do nothing: a client made from them is refused.
  const client = await EbbClient.create({ url: stack.url, store: tabletKeys });
  await expect(client.connect()).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  await client.close();
});
