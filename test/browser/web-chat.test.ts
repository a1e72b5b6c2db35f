import { existsSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import nacl from 'tweetnacl';
import { EbbClient, MemoryStore } from '../../client-sdk/src';
import { toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { serveWebChat } from '../../local/web';
import { UNTHROTTLED } from '../support/local-stack';

/**
 * The web chat in Debian's chromium (`apt-get install chromium`, see .ci/run; never `playwright install`),
 * against a local stack serving it. Screenshots go to `EBB_SCREENSHOTS` (default: a directory in the
 * system's temp dir); docs/web-chat.png is `web-chat.png` from there.
 */
jest.setTimeout(60_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SHOTS = process.env.EBB_SCREENSHOTS ?? join(tmpdir(), 'ebb-web-chat-screenshots');
const UI_TIMEOUT = 15_000;

let browser: Browser;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  await mkdir(SHOTS, { recursive: true });
});
afterAll(() => browser?.close());

/** A person with a browser profile of their own: the context keeps IndexedDB across pages. */
async function person(url: string): Promise<{ context: BrowserContext; page: Page; userId: string }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 640 }, acceptDownloads: true });
  const page = await open(context, url, { firstVisit: true });
  return { context, page, userId: await userIdOf(page) };
}

/** Opens the page; on a first visit, chooses a new account (rather than linking to an existing one). */
async function open(context: BrowserContext, url: string, { firstVisit = false } = {}): Promise<Page> {
  const page = await context.newPage();
  await page.goto(url);
  if (firstVisit) await page.getByRole('button', { name: 'Create a new account' }).click();
  await expectText(page.getByRole('status', { name: 'Connection' }), 'Connected');
  return page;
}

async function userIdOf(page: Page): Promise<string> {
  const id = page.getByLabel('Your user id');
  await page.waitForFunction(() => /^[A-Za-z0-9_-]{32}$/.test(document.getElementById('user-id')?.textContent ?? ''));
  return (await id.textContent())!;
}

async function startChat(page: Page, peer: string): Promise<void> {
  await page.getByLabel('User id or username').fill(peer);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await page.getByRole('log', { name: 'Messages' }).waitFor();
}

async function send(page: Page, text: string, options: { expires?: string; burn?: string } = {}): Promise<void> {
  if (options.expires) await page.getByLabel('Disappear after').selectOption({ label: options.expires });
  if (options.burn) await page.getByLabel('Burn after reading').selectOption({ label: options.burn });
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await expectText(bubble(page, text).locator('.delivery'), 'sent');
  if (options.expires) await page.getByLabel('Disappear after').selectOption({ label: 'never' });
  if (options.burn) await page.getByLabel('Burn after reading').selectOption({ label: 'off' });
}

function bubble(page: Page, text: string) {
  return page.getByRole('log', { name: 'Messages' }).locator('li', { hasText: text });
}

/** Opens the conversation with `name` in the sidebar (it appears when the first message arrives). */
async function openConversation(page: Page, name: string | RegExp): Promise<void> {
  await page.getByRole('navigation', { name: 'Conversations' }).getByRole('button', { name }).click({ timeout: UI_TIMEOUT });
}

async function expectText(locator: ReturnType<Page['locator']>, text: string | RegExp): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout: UI_TIMEOUT });
}

async function gone(locator: ReturnType<Page['locator']>, timeout = UI_TIMEOUT): Promise<void> {
  await locator.waitFor({ state: 'detached', timeout });
}

describe('web chat on the local stack', () => {
  let stack: LocalStack;
  let pageUrl: string;
  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
    pageUrl = await serveWebChat(stack.gateway);
  });
  afterAll(() => stack?.stop());

  it('serves the page, its stylesheet and the bundle beside the WebSocket', async () => {
    const page = await fetch(pageUrl);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    expect((await fetch(new URL('/app.js', pageUrl))).headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(new URL('/nope', pageUrl))).status).toBe(404);
  });

  it('two people register, chat both ways, compare safety numbers, and one catches up after being away', async () => {
    const alice = await person(pageUrl);
    const bob = await person(pageUrl);
    const logs: string[] = [];
    for (const page of [alice.page, bob.page]) page.on('console', (message) => logs.push(message.text()));

    await bob.page.getByLabel('Username', { exact: true }).fill('bob_builder');
    await bob.page.getByRole('button', { name: 'Set username' }).click();
    await expectText(bob.page.getByRole('status').filter({ hasText: 'You are' }), 'You are bob_builder');

    await alice.page.getByLabel('Username', { exact: true }).fill('alice');
    await alice.page.getByRole('button', { name: 'Set username' }).click();
    await expectText(alice.page.getByRole('status').filter({ hasText: 'You are' }), 'You are alice');
    await startChat(alice.page, 'bob_builder');
    await send(alice.page, 'Hi Bob! Are we still on for the climbing gym at 6?');
    await openConversation(bob.page, /^.{8}…/);
    await bubble(bob.page, 'climbing gym at 6').waitFor({ timeout: UI_TIMEOUT });
    await send(bob.page, 'Yes! I booked the 6 pm slot. Bring your own chalk.');
    await bubble(alice.page, 'Bring your own chalk').waitFor({ timeout: UI_TIMEOUT });
    await send(alice.page, 'Perfect. I will bring snacks too.');
    await bubble(bob.page, 'bring snacks').waitFor({ timeout: UI_TIMEOUT });

    const digits = async (page: Page) => {
      await page.getByText('Safety number', { exact: true }).click();
      await page
        .getByLabel('Safety number digits')
        .filter({ hasText: /^(\d{5} ){11}\d{5}$/ })
        .waitFor({ timeout: UI_TIMEOUT });
      return page.getByLabel('Safety number digits').textContent();
    };
    expect(await digits(alice.page)).toBe(await digits(bob.page));
    await bob.page.getByText('Safety number', { exact: true }).click();

    // Bob closes the tab: his socket goes. Alice's message waits in his queue until he is back.
    await bob.page.close();
    await send(alice.page, 'See you there, I just left work.', { expires: '1 hour' });
    await alice.page.getByText('Safety number', { exact: true }).click();
    await alice.page.screenshot({ path: join(SHOTS, 'web-chat.png') });

    bob.page = await open(bob.context, pageUrl);
    expect(await userIdOf(bob.page)).toBe(bob.userId);
    await openConversation(bob.page, /^.{8}…/);
    await bubble(bob.page, 'I just left work').waitFor({ timeout: UI_TIMEOUT });
    // The earlier conversation is still there, from the chat's IndexedDB.
    await bubble(bob.page, 'climbing gym at 6').waitFor();
    await bob.page.screenshot({ path: join(SHOTS, 'web-chat-bob.png') });

    // Nothing the pages log contains message text or the user's keys.
    expect(logs.filter((line) => /climbing|snacks|left work|chalk/.test(line))).toEqual([]);
    await Promise.all([alice.context.close(), bob.context.close()]);
  });

  it('warns when a contact comes back with a new identity key, pauses sending, and resumes after accepting', async () => {
    const alice = await person(pageUrl);
    // Bob uses the SDK from Node; then he "reinstalls", keeping only his signing key: same user id, new identity key.
    const bobStore = new MemoryStore();
    const bob = await EbbClient.create({ url: stack.url, store: bobStore, timeoutMs: 10_000 });
    await bob.connect();
    await bob.send(alice.userId, 'first phone');
    await openConversation(alice.page, new RegExp(`^${bob.userId.slice(0, 8)}`));
    await bubble(alice.page, 'first phone').waitFor({ timeout: UI_TIMEOUT });
    await bob.close();

    const { signingSeed } = JSON.parse((await bobStore.get('identity'))!) as { signingSeed: string };
    const reinstalledStore = new MemoryStore();
    await reinstalledStore.set(
      'identity',
      JSON.stringify({ signingSeed, identitySecretKey: toBase64Url(nacl.randomBytes(nacl.box.secretKeyLength)) }),
    );
    const reinstalled = await EbbClient.create({ url: stack.url, store: reinstalledStore, timeoutMs: 10_000 });
    await reinstalled.connect();
    expect(reinstalled.userId).toBe(bob.userId);
    await reinstalled.send(alice.userId, 'new phone, who dis');

    const warning = alice.page.getByRole('alert').filter({ hasText: 'safety number' });
    await warning.waitFor({ timeout: UI_TIMEOUT });
    await expectText(warning, /has changed/);
    await alice.page.getByLabel('Message', { exact: true }).fill('are you really Bob?');
    await alice.page.getByRole('button', { name: 'Send', exact: true }).click();
    await expectText(bubble(alice.page, 'are you really Bob?').locator('.delivery'), 'not sent');
    await expectText(bubble(alice.page, 'are you really Bob?'), 'Their safety number has changed.');

    await alice.page.getByRole('button', { name: 'Accept new identity' }).click();
    await gone(warning.filter({ visible: true }));
    await send(alice.page, 'ok, welcome back');
    await reinstalled.close();
    await alice.context.close();
  });

  it('has a favicon, and setting a username never moves the page', async () => {
    const alice = await person(pageUrl);
    const missing: string[] = [];
    alice.page.on('response', (response) => void (response.status() >= 400 && missing.push(response.url())));
    const icon = await alice.page.locator('link[rel="icon"]').getAttribute('href');
    expect(icon).toMatch(/^data:image\/svg\+xml,/);
    // It is an image the page's CSP lets the browser draw.
    expect(
      await alice.page.evaluate(
        (href) =>
          Object.assign(new Image(), { src: href })
            .decode()
            .then(() => true),
        icon!,
      ),
    ).toBe(true);

    const boxes = () =>
      alice.page.evaluate(() =>
        ['.top', '#layout', '#username-form', '#connection'].map((selector) => {
          const { x, y, width, height } = document.querySelector(selector)!.getBoundingClientRect();
          return { selector, x, y, width, height };
        }),
      );
    const before = await boxes();
    const name = `dana_${process.pid % 10_000}`;
    await alice.page.getByLabel('Username', { exact: true }).fill(name);
    await alice.page.getByRole('button', { name: 'Set username' }).click();
    await expectText(alice.page.locator('#username-status'), `You are ${name}`);
    expect(await boxes()).toEqual(before);
    // The longest thing it says, an error, fits in the same place.
    await alice.page.getByLabel('Username', { exact: true }).fill('admin');
    await alice.page.getByRole('button', { name: 'Set username' }).click();
    await expectText(alice.page.locator('#username-status'), 'That username is reserved. Try another.');
    await alice.page.getByLabel('Username', { exact: true }).evaluate((input: HTMLInputElement) => input.removeAttribute('pattern'));
    await alice.page.getByLabel('Username', { exact: true }).fill('no');
    await alice.page.getByRole('button', { name: 'Set username' }).click();
    await expectText(alice.page.locator('#username-status'), 'A username is 3 to 32 characters');
    expect(await boxes()).toEqual(before);
    expect(missing).toEqual([]);
    await alice.context.close();
  });

  it('says at once that a user id has no account, before anything is sent', async () => {
    const alice = await person(pageUrl);
    const stranger = toBase64Url(nacl.randomBytes(24));
    await alice.page.getByLabel('User id or username').fill(stranger);
    await alice.page.getByRole('button', { name: 'Start chat' }).click();
    await expectText(alice.page.getByRole('alert'), `No account has the user id ${stranger} on this service.`);
    expect(await alice.page.getByRole('navigation', { name: 'Conversations' }).getByRole('listitem').count()).toBe(0);
    await expect(alice.page.getByRole('region', { name: 'Chat' }).isVisible()).resolves.toBe(false);
    await alice.context.close();
  });

  it('an expiring message disappears on both sides at expiry; a burn-after-reading one soon after it is shown', async () => {
    const alice = await person(pageUrl);
    const bob = await person(pageUrl);
    await startChat(alice.page, bob.userId);
    await startChat(bob.page, alice.userId);
    await send(alice.page, 'This disappears in five seconds', { expires: '5 seconds' });
    await send(alice.page, 'Burn this after reading', { burn: '5 seconds' });
    await send(alice.page, 'This one stays');
    await bubble(bob.page, 'This one stays').waitFor({ timeout: UI_TIMEOUT });
    await expectText(bubble(bob.page, 'disappears in five').locator('.timer'), /disappears in \d s/);
    await expectText(bubble(bob.page, 'Burn this').locator('.timer'), /burns in \d s/);
    await alice.page.screenshot({ path: join(SHOTS, 'web-chat-expiring.png') });

    await Promise.all([
      gone(bubble(alice.page, 'disappears in five'), 10_000),
      gone(bubble(bob.page, 'disappears in five'), 10_000),
      gone(bubble(bob.page, 'Burn this'), 10_000),
    ]);
    // The sender keeps what it sent for burning: only the reader's copy burns.
    await bubble(alice.page, 'Burn this').waitFor();
    await bubble(bob.page, 'This one stays').waitFor();
    await Promise.all([alice.context.close(), bob.context.close()]);
  });
});

describe('web chat when the service sunsets', () => {
  const clock = { offset: 0 };
  let stack: LocalStack;
  let pageUrl: string;
  // The stack's clock runs 30 s ahead once the test moves it: within the authorizer's 60 s skew, so
  // the browser (on the real clock) may still connect.
  let signupsCloseAt: Date;
  beforeAll(async () => {
    signupsCloseAt = new Date(Math.ceil((Date.now() + 20_000) / 1000) * 1000);
    stack = await startLocalStack({
      port: 0,
      now: () => Date.now() + clock.offset,
      lifecycleIntervalMs: 60_000,
      config: {
        rateLimits: UNTHROTTLED,
        sunset: {
          signupsCloseAt: signupsCloseAt.toISOString(),
          readOnlyAt: new Date(signupsCloseAt.getTime() + 86_400_000).toISOString(),
          shutdownAt: new Date(signupsCloseAt.getTime() + 2 * 86_400_000).toISOString(),
          message: 'Acme Chat is closing. Save your conversations.',
        },
      },
    });
    pageUrl = await serveWebChat(stack.gateway);
  });
  afterAll(() => stack?.stop());

  it('shows the schedule, then a banner when signups close, and exports the account', async () => {
    const carol = await person(pageUrl);
    const banner = carol.page.getByRole('region', { name: 'Service notice' });
    await expectText(banner, 'This service is closing: signups close on');

    clock.offset = signupsCloseAt.getTime() - Date.now() + 1000;
    await stack.lifecycleTick();
    await expectText(banner, /Signups are closed\. It shuts down on .*Acme Chat is closing/);
    await carol.page.screenshot({ path: join(SHOTS, 'web-chat-sunset.png') });

    await banner.getByRole('button', { name: 'Export my data' }).click();
    // Typed blind, so typed twice: two that differ export nothing.
    let downloads = 0;
    carol.page.on('download', () => downloads++);
    await carol.page.getByLabel('Passphrase', { exact: true }).fill('correct horse battery staple');
    await carol.page.getByLabel('Passphrase again').fill('correct horse battery stapel');
    await carol.page.getByRole('button', { name: 'Download archive' }).click();
    await expectText(carol.page.getByRole('alert'), 'The two passphrases differ.');
    expect(downloads).toBe(0);
    await carol.page.getByLabel('Passphrase again').fill('correct horse battery staple');
    const [download] = await Promise.all([carol.page.waitForEvent('download'), carol.page.getByRole('button', { name: 'Download archive' }).click()]);
    const archive = new Uint8Array(await readFile((await download.path())!));
    const restored = await EbbClient.importArchive(archive, 'correct horse battery staple', { url: stack.url, store: new MemoryStore() });
    expect(restored.userId).toBe(carol.userId);
    await restored.close();
    await carol.context.close();
  });
});

describe('web chat after the service shut down', () => {
  let stack: LocalStack;
  let pageUrl: string;
  beforeAll(async () => {
    const day = 86_400_000;
    const now = Date.now();
    stack = await startLocalStack({
      port: 0,
      config: {
        rateLimits: UNTHROTTLED,
        sunset: {
          signupsCloseAt: new Date(now - 3 * day).toISOString(),
          readOnlyAt: new Date(now - 2 * day).toISOString(),
          shutdownAt: new Date(now - day).toISOString(),
        },
      },
    });
    pageUrl = await serveWebChat(stack.gateway);
  });
  afterAll(() => stack?.stop());

  it('a new visitor sees the shutdown notice, is offered no identity, and keeps none', async () => {
    const context = await browser.newContext({ viewport: { width: 1100, height: 640 } });
    const page = await context.newPage();
    await page.goto(pageUrl);
    await page.getByRole('button', { name: 'Create a new account' }).click();
    await expectText(page.getByRole('status', { name: 'Connection' }), 'This service has shut down.');
    expect(await page.getByRole('region', { name: 'Service notice' }).locator('p').textContent()).toBe('This service has shut down.');
    for (const hidden of [page.getByRole('region', { name: 'Your account' }), page.getByRole('button', { name: 'Start chat' })]) {
      expect(await hidden.isVisible()).toBe(false);
    }
    expect(await page.getByRole('button', { name: 'Export my data' }).isVisible()).toBe(false);
    await page.screenshot({ path: join(SHOTS, 'web-chat-shut-down.png') });

    // A second visit is still a first one: nothing was kept.
    const again = await context.newPage();
    await again.goto(pageUrl);
    await again.getByRole('button', { name: 'Create a new account' }).click();
    await expectText(again.getByRole('status', { name: 'Connection' }), 'This service has shut down.');
    const stored = await again.evaluate(async () => {
      const deployment = document.querySelector<HTMLMetaElement>('meta[name="ebb-deployment"]')!.content;
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const request = indexedDB.open(`ebb-${deployment}`);
        request.onsuccess = () => resolve(request.result);
        request.onerror = () => reject(request.error);
      });
      const names = [...db.objectStoreNames];
      if (names.length === 0) return 0;
      return new Promise<number>((resolve) => {
        const count = db.transaction(names, 'readonly').objectStore(names[0]!).count();
        count.onsuccess = () => resolve(count.result);
      });
    });
    expect(stored).toBe(0);
    await context.close();
  });
});
