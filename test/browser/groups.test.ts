import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local';
import { serveWebChat } from '../../local/web';
import { launchChromium } from '../support/chromium';
import { UNTHROTTLED } from '../support/local-stack';

/**
 * Groups in the web chat (ARCH §8.9), in Debian's chromium against a local stack, three browser contexts:
 * Alice makes a group with Bob and Carol, each sees the others' messages under their names, Alice removes
 * Carol, and Carol receives nothing sent afterwards.
 */
jest.setTimeout(120_000);

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

interface Person {
  readonly context: BrowserContext;
  readonly page: Page;
  readonly name: string;
}

/** A new account in its own browser context, with a username. */
async function person(prefix: string): Promise<Person> {
  const context = await browser.newContext({ viewport: { width: 1200, height: 800 } });
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.getByRole('button', { name: 'Create a new account' }).click({ timeout: UI_TIMEOUT });
  await hasText(page.getByRole('status', { name: 'Connection' }), 'Connected');
  const name = `${prefix}_${process.pid % 10_000}`;
  await page.getByLabel('Username', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Set username' }).click();
  await hasText(page.getByRole('status').filter({ hasText: 'You are' }), `You are ${name}`);
  return { context, page, name };
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

/** Starts a chat with `name`: the page then knows that person by name, in groups too. */
async function lookUp(page: Page, name: string): Promise<void> {
  await page.getByLabel('User id or username').fill(name);
  await page.getByRole('button', { name: 'Start chat' }).click();
  await hasText(page.locator('#peer-name'), name);
}

async function openGroup(page: Page, name: string): Promise<void> {
  await page
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('button')
    .filter({ has: page.getByText(name, { exact: true }) })
    .filter({ has: page.getByText('group', { exact: true }) })
    .click({ timeout: UI_TIMEOUT });
}

it('three people in a group: messages under their senders’ names, members with admins, removal ends delivery', async () => {
  const [alice, bob, carol] = [await person('alice'), await person('bob'), await person('carol')];
  // Bob and Carol know Alice and each other by name; names come from the people one looked up.
  await lookUp(bob.page, alice.name);
  await lookUp(bob.page, carol.name);
  await lookUp(carol.page, alice.name);
  await lookUp(carol.page, bob.name);

  await alice.page.getByText('New group', { exact: true }).click();
  await alice.page.getByLabel('Group name', { exact: true }).fill('ops');
  await alice.page.getByLabel('Members: usernames or user ids').fill(`${bob.name}, nobody_${process.pid % 10_000}`);
  await alice.page.getByRole('button', { name: 'Create group' }).click();
  await hasText(alice.page.getByRole('alert').filter({ hasText: 'Nobody' }), `Nobody is called nobody_${process.pid % 10_000}.`);
  await alice.page.getByLabel('Members: usernames or user ids').fill(`${bob.name}, @${carol.name}`);
  await alice.page.getByRole('button', { name: 'Create group' }).click();
  await hasText(alice.page.locator('#peer-name'), 'ops');
  await hasText(bubble(alice.page, 'You created the group'), `You created the group “ops” with ${bob.name} and ${carol.name}.`);

  // The member list, admins marked.
  await alice.page.getByText('Members (3)').click();
  const members = alice.page.getByRole('list', { name: 'Members' });
  expect(await members.getByRole('listitem').allTextContents()).toEqual(['Youadmin', `${bob.name}Remove`, `${carol.name}Remove`]);

  await send(alice.page, 'Hello team');
  for (const other of [bob, carol]) {
    await openGroup(other.page, 'ops');
    await hasText(bubble(other.page, 'Hello team').locator('.sender'), alice.name);
  }
  await send(bob.page, 'Hi from Bob');
  await send(carol.page, 'Hi from Carol');
  await hasText(bubble(alice.page, 'Hi from Bob').locator('.sender'), bob.name);
  await hasText(bubble(alice.page, 'Hi from Carol').locator('.sender'), carol.name);
  await hasText(bubble(carol.page, 'Hi from Bob').locator('.sender'), bob.name);
  await hasText(bubble(bob.page, 'Hi from Carol').locator('.sender'), carol.name);

  // Bob is no admin: no Remove buttons, no add or rename.
  await bob.page.getByText('Members (3)').click();
  await hasText(bob.page.getByRole('list', { name: 'Members' }).getByRole('listitem'), 'admin');
  expect(await bob.page.getByRole('list', { name: 'Members' }).getByRole('button').count()).toBe(0);
  expect(await bob.page.getByLabel('Add members').isVisible()).toBe(false);
  await alice.page.screenshot({ path: join(SHOTS, 'group.png') });

  // Alice removes Carol: everyone sees the line; Carol's page says she is out and gets nothing sent afterwards.
  await members.getByRole('button', { name: `Remove ${carol.name}` }).click();
  await hasText(bubble(alice.page, 'You removed'), `You removed ${carol.name}.`);
  await hasText(bubble(bob.page, 'removed'), `${alice.name} removed ${carol.name}.`);
  await hasText(bubble(carol.page, 'removed'), `${alice.name} removed you.`);
  await hasText(alice.page.getByText(/^Members \(\d\)$/), 'Members (2)');
  await send(alice.page, 'Only for Bob now');
  await bubble(bob.page, 'Only for Bob now').waitFor({ timeout: UI_TIMEOUT });
  await send(bob.page, 'Bob agrees');
  await bubble(alice.page, 'Bob agrees').waitFor({ timeout: UI_TIMEOUT });
  expect(await bubble(carol.page, 'Only for Bob now').count()).toBe(0);
  expect(await bubble(carol.page, 'Bob agrees').count()).toBe(0);
  expect(await carol.page.getByLabel('Message', { exact: true }).isDisabled()).toBe(true);
  await carol.page.screenshot({ path: join(SHOTS, 'group-removed.png') });

  await Promise.all([alice.context.close(), bob.context.close(), carol.context.close()]);
});
