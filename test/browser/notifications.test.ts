import type { Browser, BrowserContext, CDPSession, Locator, Page, Worker } from 'playwright-core';
import { EbbClient, MemoryStore } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import type { MintedSubscription, ReceivedWebPush } from '../../local/push-receiver';
import { serveWebChat } from '../../local/web';
import { WAKE_PAYLOAD } from '../../lambdas/adapters/web-push';
import { WAKE_BODY, WAKE_POST, WAKE_TAG, WAKE_TITLE } from '../../web/wake';
import { launchChromium } from '../support/chromium';
import { UNTHROTTLED } from '../support/local-stack';
import { until } from '../support/sdk';

/**
 * Notifications of wake-ups in the web chat (ARCH §6.13), in Debian's chromium against a local stack. Headless
 * chromium reaches no push service, so the browser's `PushManager.subscribe` is replaced (before the page's script
 * runs) by one handing out a subscription the stack's push receiver minted, whose keys the receiver holds; the
 * page's own code registers the worker, subscribes and registers the subscription. The wake-up the service then
 * sends goes to the receiver, which opens it; the test hands the payload it opened to the page's service worker
 * with CDP's `ServiceWorker.deliverPushMessage`, as the browser's push service would deliver it.
 */
jest.setTimeout(60_000);

const UI_TIMEOUT = 15_000;
/** The fake push service's record of the subscription it gave, in the page's localStorage. */
const FAKE_KEY = 'test-push-subscription';

let browser: Browser;
let stack: LocalStack;
let pageUrl: string;
let origin: string;
const clients: EbbClient[] = [];
beforeAll(async () => {
  browser = await launchChromium();
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
  pageUrl = await serveWebChat(stack.gateway);
  origin = new URL(pageUrl).origin;
});
afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  await browser?.close();
  await stack?.stop();
});

/** A browser profile that allows notifications from the chat, with `subscription` as its push service's answer. */
async function profile(subscription: MintedSubscription): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  await context.grantPermissions(['notifications'], { origin });
  await context.addInitScript(
    ({ minted, key }) => {
      const made = (serverKey: ArrayBuffer) => ({
        endpoint: minted.endpoint,
        expirationTime: null,
        options: { userVisibleOnly: true, applicationServerKey: serverKey },
        toJSON: () => ({ endpoint: minted.endpoint, expirationTime: null, keys: minted.keys }),
        unsubscribe: async () => {
          localStorage.removeItem(key);
          return true;
        },
      });
      const bytes = (text: string) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0)).buffer;
      PushManager.prototype.subscribe = async function (options?: PushSubscriptionOptionsInit) {
        const serverKey = new Uint8Array(options!.applicationServerKey as ArrayBuffer);
        localStorage.setItem(key, btoa(String.fromCharCode(...serverKey)));
        return made(serverKey.buffer) as unknown as PushSubscription;
      };
      PushManager.prototype.getSubscription = async function () {
        const stored = localStorage.getItem(key);
        return stored === null ? null : (made(bytes(stored)) as unknown as PushSubscription);
      };
    },
    { minted: subscription, key: FAKE_KEY },
  );
  return context;
}

async function newAccount(context: BrowserContext): Promise<{ page: Page; userId: string }> {
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.getByRole('button', { name: 'Create a new account' }).click({ timeout: UI_TIMEOUT });
  await connected(page);
  await page.waitForFunction(() => /^[A-Za-z0-9_-]{32}$/.test(document.getElementById('user-id')?.textContent ?? ''));
  return { page, userId: (await page.getByLabel('Your user id').textContent())! };
}

async function connected(page: Page): Promise<void> {
  await hasText(page.getByRole('status', { name: 'Connection' }), 'Connected');
}

async function hasText(locator: Locator, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: UI_TIMEOUT });
}

async function enableNotifications(page: Page): Promise<void> {
  await page.getByRole('button', { name: 'Enable notifications' }).click({ timeout: UI_TIMEOUT });
  await hasText(page.getByRole('status', { name: 'Notifications' }), 'Notifications are on');
  await page.getByRole('button', { name: 'Turn off notifications' }).waitFor({ timeout: UI_TIMEOUT });
}

/** The id CDP knows the chat's service worker registration by, through a session on any page of the profile. */
async function registrationId(cdp: CDPSession): Promise<string> {
  const ids = new Map<string, string>();
  cdp.on('ServiceWorker.workerRegistrationUpdated', ({ registrations }) => {
    for (const registration of registrations) if (!registration.isDeleted) ids.set(registration.scopeURL, registration.registrationId);
  });
  await cdp.send('ServiceWorker.enable');
  await until(() => ids.has(`${origin}/`), 'the chat registered its service worker', UI_TIMEOUT);
  return ids.get(`${origin}/`)!;
}

/** What the push service would hand the browser: the payload the receiver opened with the subscription's keys. */
async function wakeupFor(subscription: MintedSubscription, before: number): Promise<ReceivedWebPush> {
  let push: ReceivedWebPush | undefined;
  await until(
    () => {
      push = stack.pushReceiver.received.slice(before).find((p): p is ReceivedWebPush => p.service === 'web' && p.endpoint === subscription.endpoint);
      return push !== undefined;
    },
    'a wake-up at the push service',
    UI_TIMEOUT,
  );
  return push!;
}

interface Shown {
  readonly title: string;
  readonly body: string;
  readonly tag: string;
}

/** The notifications the chat's worker has showing, asked of the running worker. */
async function shown(context: BrowserContext): Promise<Shown[]> {
  const worker: Worker = context.serviceWorkers().at(-1) ?? (await context.waitForEvent('serviceworker', { timeout: UI_TIMEOUT }));
  return worker.evaluate(async () => {
    const scope = self as unknown as { registration: ServiceWorkerRegistration };
    return (await scope.registration.getNotifications()).map(({ title, body, tag }) => ({ title, body, tag }));
  });
}

async function sender(): Promise<EbbClient> {
  const client = await EbbClient.create({ url: stack.url, store: new MemoryStore(), timeoutMs: 10_000 });
  clients.push(client);
  await client.connect();
  return client;
}

it('serves the worker beside the page, as a script under a policy that lets it fetch nothing', async () => {
  const worker = await fetch(new URL('/sw.js', pageUrl));
  expect(worker.status).toBe(200);
  expect(worker.headers.get('content-type')).toMatch(/^text\/javascript/);
  expect(worker.headers.get('content-security-policy')).toBe("default-src 'none'");
  expect(await worker.text()).toContain(WAKE_TITLE);
});

it('a closed chat is woken by a push and shows "New message", naming no one and quoting nothing; opening the chat clears it', async () => {
  const subscription = stack.pushReceiver.subscription();
  const context = await profile(subscription);
  const alice = await newAccount(context);
  await enableNotifications(alice.page);

  // The page subscribed with the key status announces, and registered that subscription for its device.
  const usedKey = await alice.page.evaluate((key) => localStorage.getItem(key), FAKE_KEY);
  expect(usedKey).toBe(Buffer.from(stack.vapidPublicKey, 'base64url').toString('base64'));
  expect(await stack.ports.pushTokens.get({ userId: alice.userId, device: 1 })).toEqual(
    expect.objectContaining({ endpoint: subscription.endpoint, keys: subscription.keys }),
  );

  // A blank page (no window of the chat) carries the CDP session once the chat is closed.
  const blank = await context.newPage();
  const cdp = await context.newCDPSession(blank);
  const registration = await registrationId(cdp);
  await alice.page.close();

  const bob = await sender();
  const before = stack.pushReceiver.received.length;
  await bob.send(alice.userId, 'the plan for Saturday');
  const push = await wakeupFor(subscription, before);
  expect(push.payload).toBe(WAKE_PAYLOAD);

  await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: registration, data: push.payload! });
  let notifications: Shown[] = [];
  await until(async () => (notifications = await shown(context)).length > 0, 'a notification', UI_TIMEOUT);
  expect(notifications).toEqual([{ title: WAKE_TITLE, body: WAKE_BODY, tag: WAKE_TAG }]);
  for (const secret of [bob.userId, bob.userId.slice(0, 8), 'plan', 'Saturday']) expect(JSON.stringify(notifications)).not.toContain(secret);

  // Opening the chat connects, shows the message, and closes the notification it announced.
  const page = await context.newPage();
  await page.goto(pageUrl);
  await connected(page);
  await page
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('button', { name: new RegExp(`^${bob.userId.slice(0, 8)}`) })
    .click({ timeout: UI_TIMEOUT });
  await page.getByRole('log', { name: 'Messages' }).locator('li', { hasText: 'the plan for Saturday' }).waitFor({ timeout: UI_TIMEOUT });
  await until(async () => (await shown(context)).length === 0, 'the notification closed', UI_TIMEOUT);
  // The reload renewed the subscription without asking: still on, still registered.
  await page.getByRole('button', { name: 'Turn off notifications' }).waitFor({ timeout: UI_TIMEOUT });
  await context.close();
});

it('a chat in view gets the wake-up passed on and shows no notification; turning them off unregisters the device', async () => {
  const subscription = stack.pushReceiver.subscription();
  const context = await profile(subscription);
  const alice = await newAccount(context);
  await enableNotifications(alice.page);
  const cdp = await context.newCDPSession(alice.page);
  const registration = await registrationId(cdp);

  // The page keeps what the worker posts to it; the listener is in place before the push.
  await alice.page.evaluate(() => {
    const page = window as unknown as { posted: unknown[] };
    page.posted = [];
    navigator.serviceWorker.addEventListener('message', (event) => page.posted.push(event.data));
  });
  await cdp.send('ServiceWorker.deliverPushMessage', { origin, registrationId: registration, data: WAKE_PAYLOAD });
  await alice.page.waitForFunction(() => (window as unknown as { posted: unknown[] }).posted.length > 0, undefined, { timeout: UI_TIMEOUT });
  expect(await alice.page.evaluate(() => (window as unknown as { posted: unknown[] }).posted)).toEqual([{ type: WAKE_POST }]);
  expect(await shown(context)).toEqual([]);

  await alice.page.getByRole('button', { name: 'Turn off notifications' }).click();
  await hasText(alice.page.getByRole('status', { name: 'Notifications' }), 'Notifications are off.');
  expect(await stack.ports.pushTokens.get({ userId: alice.userId, device: 1 })).toBeUndefined();
  expect(await alice.page.evaluate((key) => localStorage.getItem(key), FAKE_KEY)).toBeNull();
  await alice.page.getByRole('button', { name: 'Enable notifications' }).waitFor({ timeout: UI_TIMEOUT });
  await context.close();
});
