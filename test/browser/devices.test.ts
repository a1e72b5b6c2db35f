import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local';
import { serveWebChat } from '../../local/web';
import { launchChromium } from '../support/chromium';
import { UNTHROTTLED } from '../support/local-stack';

/**
 * Devices in the web chat (ARCH §8.6), in Debian's chromium against a local stack: a second browser
 * context links to the first one's account, both chat with a third person, ticks show delivery and reading.
 */
jest.setTimeout(90_000);

const SHOTS = process.env.EBB_SCREENSHOTS ?? join(tmpdir(), 'ebb-web-chat-screenshots');
const UI_TIMEOUT = 15_000;

let browser: Browser;
let stack: LocalStack;
let pageUrl: string;
beforeAll(async () => {
  browser = await launchChromium();
  await mkdir(SHOTS, { recursive: true });
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
  pageUrl = await serveWebChat(stack.gateway);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function firstVisit(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 } });
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.getByRole('region', { name: 'Welcome' }).waitFor({ timeout: UI_TIMEOUT });
  return { context, page };
}

async function newAccount(): Promise<{ context: BrowserContext; page: Page; userId: string }> {
  const visit = await firstVisit();
  await visit.page.getByRole('button', { name: 'Create a new account' }).click();
  await connected(visit.page);
  return { ...visit, userId: await userIdOf(visit.page) };
}

async function connected(page: Page): Promise<void> {
  await hasText(page.getByRole('status', { name: 'Connection' }), 'Connected');
}

async function userIdOf(page: Page): Promise<string> {
  await page.waitForFunction(() => /^[A-Za-z0-9_-]{32}$/.test(document.getElementById('user-id')?.textContent ?? ''));
  return (await page.getByLabel('Your user id').textContent())!;
}

async function hasText(locator: Locator, text: string | RegExp, timeout = UI_TIMEOUT): Promise<void> {
  await locator.filter({ hasText: text }).first().waitFor({ timeout });
}

function bubble(page: Page, text: string): Locator {
  return page.getByRole('log', { name: 'Messages' }).locator('li', { hasText: text });
}

async function send(page: Page, text: string): Promise<void> {
  await page.getByLabel('Message', { exact: true }).fill(text);
  await page.getByRole('button', { name: 'Send', exact: true }).click();
  await hasText(bubble(page, text).locator('.delivery'), 'sent');
}

async function openConversation(page: Page, userId: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('button', { name: new RegExp(`^${userId.slice(0, 8)}`) })
    .click({ timeout: UI_TIMEOUT });
}

/** The tick on the bubble holding `text`: ✓ once delivered, ✓✓ once read. */
async function tick(page: Page, text: string, kind: 'delivered' | 'read'): Promise<void> {
  await bubble(page, text).locator(`.receipt[data-receipt="${kind}"]`).waitFor({ timeout: UI_TIMEOUT });
}

it('links a second browser to an account by its code, chats from both with a third person, and shows ✓ and ✓✓', async () => {
  const phone = await newAccount();
  const bob = await newAccount();

  // The new browser asks to link, and shows the code as a QR code and as text.
  const laptop = await firstVisit();
  await laptop.page.getByRole('button', { name: 'Link to an existing account' }).click();
  await laptop.page.getByRole('img', { name: 'QR code of the link code' }).waitFor({ timeout: UI_TIMEOUT });
  const code = (await laptop.page.getByLabel("This browser's link code").textContent())!;
  expect(code).toMatch(/^ebb-link:[A-Za-z0-9_-]+$/);
  await laptop.page.screenshot({ path: join(SHOTS, 'link-code.png') });

  // The first device approves it, under a name.
  await phone.page.getByRole('button', { name: 'Devices' }).click();
  await phone.page.getByLabel('Link code from the new device').fill('ebb-link:not-a-code');
  await phone.page.getByRole('button', { name: 'Approve device' }).click();
  await hasText(phone.page.getByRole('status').filter({ hasText: 'link code' }), 'That is not a link code.');
  await phone.page.getByLabel('Link code from the new device').fill(code);
  await phone.page.getByLabel('Name for the new device').fill('laptop');
  await phone.page.getByRole('button', { name: 'Approve device' }).click();
  await hasText(phone.page.getByRole('status').filter({ hasText: 'Linked' }), 'Linked as device 2.');
  const devices = phone.page.getByRole('list', { name: 'Your devices' });
  await hasText(devices.getByRole('listitem'), 'laptop (device 2)');

  await connected(laptop.page);
  expect(await userIdOf(laptop.page)).toBe(phone.userId);
  // The open list notices when the laptop has connected.
  await devices.getByRole('listitem').filter({ hasText: 'not connected yet' }).waitFor({ state: 'detached', timeout: UI_TIMEOUT });
  await phone.page.screenshot({ path: join(SHOTS, 'devices.png') });
  await phone.page.getByRole('button', { name: 'Close' }).click();

  // The phone writes to Bob: the laptop shows it as sent from device 1; ✓ once Bob's browser has it.
  await phone.page.getByLabel('User id or username').fill(bob.userId);
  await phone.page.getByRole('button', { name: 'Start chat' }).click();
  await send(phone.page, 'Hi Bob, this is my phone');
  await openConversation(laptop.page, bob.userId);
  await hasText(bubble(laptop.page, 'this is my phone'), 'from device 1');
  await tick(phone.page, 'this is my phone', 'delivered');
  await tick(laptop.page, 'this is my phone', 'delivered');

  // Bob opens the conversation: ✓✓ on both of Alice's browsers.
  await openConversation(bob.page, phone.userId);
  await bubble(bob.page, 'this is my phone').waitFor({ timeout: UI_TIMEOUT });
  await tick(phone.page, 'this is my phone', 'read');
  await tick(laptop.page, 'this is my phone', 'read');

  // The laptop writes in the same conversation; Bob answers and both of Alice's browsers get it.
  await send(laptop.page, 'and this is my laptop');
  await bubble(bob.page, 'and this is my laptop').waitFor({ timeout: UI_TIMEOUT });
  await hasText(bubble(phone.page, 'and this is my laptop'), 'from device 2');
  await tick(laptop.page, 'and this is my laptop', 'read');
  await send(bob.page, 'Hello to both of you');
  await bubble(phone.page, 'Hello to both of you').waitFor({ timeout: UI_TIMEOUT });
  await bubble(laptop.page, 'Hello to both of you').waitFor({ timeout: UI_TIMEOUT });
  await tick(bob.page, 'Hello to both of you', 'read');
  await phone.page.screenshot({ path: join(SHOTS, 'ticks.png') });

  // The phone removes the laptop (a browser cannot see why a reconnect is refused, so the laptop cannot say why
  // it went quiet: it is checked from the phone's side, and in test/web/devices.test.ts from a Node client).
  await phone.page.getByRole('button', { name: 'Devices' }).click();
  const laptopRow = devices.getByRole('listitem').filter({ hasText: 'laptop' });
  await laptopRow.getByRole('button', { name: 'Remove' }).click();
  await laptopRow.getByRole('button', { name: 'Remove: click again' }).click();
  await laptopRow.waitFor({ state: 'detached', timeout: UI_TIMEOUT });
  expect(await devices.getByRole('listitem').allTextContents()).toEqual([expect.stringMatching(/^First device \(device 1\)/)]);

  await Promise.all([phone.context.close(), bob.context.close(), laptop.context.close()]);
});
