import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local';
import { serveWebChat } from '../../local/web';
import { UNTHROTTLED } from '../support/local-stack';

/** Attachments in the web chat (ARCH §8.10), in Debian's chromium against a local stack serving the page. */
jest.setTimeout(90_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_TIMEOUT = 20_000;
/** A 1×1 PNG. */
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

let browser: Browser;
let stack: LocalStack;
let pageUrl: string;
beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`no chromium at ${CHROMIUM}: apt-get install chromium, or set CHROMIUM_PATH`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
  pageUrl = await serveWebChat(stack.gateway, [stack.s3Endpoint]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function person(): Promise<{ page: Page; userId: string }> {
  const context = await browser.newContext({ viewport: { width: 1100, height: 700 }, acceptDownloads: true });
  const page = await context.newPage();
  await page.goto(pageUrl);
  await page.getByRole('button', { name: 'Create a new account' }).click();
  await page.getByRole('status', { name: 'Connection' }).filter({ hasText: 'Connected' }).waitFor({ timeout: UI_TIMEOUT });
  await page.waitForFunction(() => /^[A-Za-z0-9_-]{32}$/.test(document.getElementById('user-id')?.textContent ?? ''));
  return { page, userId: (await page.getByLabel('Your user id').textContent())! };
}

const log = (page: Page) => page.getByRole('log', { name: 'Messages' });

it('sends an image with the Attach button and a file by drag and drop; the other side sees the image inline and saves the file', async () => {
  const alice = await person();
  const bob = await person();
  const errors: string[] = [];
  for (const { page } of [alice, bob]) page.on('pageerror', (e) => errors.push(e.message));

  await alice.page.getByLabel('User id or username').fill(bob.userId);
  await alice.page.getByRole('button', { name: 'Start chat' }).click();
  await log(alice.page).waitFor();
  await alice.page.getByLabel('Message', { exact: true }).fill('a dot for you');
  await alice.page.locator('#attach-input').setInputFiles({ name: 'dot.png', mimeType: 'image/png', buffer: PNG });
  // The sender shows its own image from the file at once, and the message as sent once uploaded.
  await log(alice.page).locator('li', { hasText: 'a dot for you' }).locator('.delivery', { hasText: 'sent' }).waitFor({ timeout: UI_TIMEOUT });
  await alice.page.locator('img[alt="dot.png"]').waitFor({ timeout: UI_TIMEOUT });

  // Dropped on the conversation: a text file, sent without a caption.
  const dropped = await alice.page.evaluateHandle(() => {
    const data = new DataTransfer();
    data.items.add(new File(['hello from a dropped file'], 'notes.txt', { type: 'text/plain' }));
    return data;
  });
  await alice.page.dispatchEvent('#chat', 'drop', { dataTransfer: dropped });
  await log(alice.page).locator('li', { hasText: 'notes.txt' }).locator('.delivery', { hasText: 'sent' }).waitFor({ timeout: UI_TIMEOUT });

  await bob.page
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('button', { name: /^.{8}…/ })
    .click({ timeout: UI_TIMEOUT });
  const image = log(bob.page).locator('li', { hasText: 'a dot for you' }).locator('img[alt="dot.png"]');
  await image.waitFor({ timeout: UI_TIMEOUT });
  // Rendered: the browser decoded the downloaded, decrypted bytes as the 1×1 image.
  await bob.page.waitForFunction(() => (document.querySelector('img[alt="dot.png"]') as HTMLImageElement | null)?.naturalWidth === 1, undefined, {
    timeout: UI_TIMEOUT,
  });
  expect(await image.getAttribute('src')).toMatch(/^blob:/);

  const [download] = await Promise.all([
    bob.page.waitForEvent('download', { timeout: UI_TIMEOUT }),
    log(bob.page).getByRole('button', { name: 'notes.txt (25 B)' }).click({ timeout: UI_TIMEOUT }),
  ]);
  expect(download.suggestedFilename()).toBe('notes.txt');
  expect(await readFile((await download.path())!, 'utf8')).toBe('hello from a dropped file');

  // The bucket holds ciphertext only: no stored object contains the image's bytes.
  for (const object of stack.s3.objects(stack.s3Bucket)) expect((await readFile(object.file)).includes(PNG.subarray(16, 40))).toBe(false);
  expect(errors).toEqual([]);
});

// Recording itself (the Record button, MediaRecorder) is not exercised: this chromium finds no audio capture
// device even with --use-fake-device-for-media-stream. What the recorder hands on is a file like this one.
it('a voice note (audio/webm) arrives as audio the other side can play inline', async () => {
  const alice = await person();
  const bob = await person();
  const note = await alice.page.evaluate(async () => {
    // A second of silence, recorded from a WebAudio graph: what the Record button produces, without a microphone.
    const audio = new AudioContext();
    const destination = audio.createMediaStreamDestination();
    const oscillator = audio.createOscillator();
    oscillator.connect(destination);
    oscillator.start();
    const recorder = new MediaRecorder(destination.stream);
    const parts: Blob[] = [];
    recorder.ondataavailable = (event) => parts.push(event.data);
    const stopped = new Promise((resolve) => (recorder.onstop = resolve));
    recorder.start();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    recorder.stop();
    await stopped;
    return Array.from(new Uint8Array(await new Blob(parts).arrayBuffer()));
  });
  await alice.page.getByLabel('User id or username').fill(bob.userId);
  await alice.page.getByRole('button', { name: 'Start chat' }).click();
  await log(alice.page).waitFor();
  await alice.page.locator('#attach-input').setInputFiles({ name: 'voice-note.webm', mimeType: 'audio/webm', buffer: Buffer.from(note) });
  await log(alice.page)
    .locator('li', { has: alice.page.locator('[data-name="voice-note.webm"]') })
    .locator('.delivery', { hasText: 'sent' })
    .waitFor({ timeout: UI_TIMEOUT });

  await bob.page
    .getByRole('navigation', { name: 'Conversations' })
    .getByRole('button', { name: /^.{8}…/ })
    .click({ timeout: UI_TIMEOUT });
  const audio = log(bob.page).locator('[data-name="voice-note.webm"] audio');
  await audio.waitFor({ timeout: UI_TIMEOUT });
  expect(await audio.getAttribute('src')).toMatch(/^blob:/);
  // The browser reads the recording it was handed (CSP allows media from blob: URLs): its metadata loads.
  await bob.page.waitForFunction(
    () => (document.querySelector('[data-name="voice-note.webm"] audio') as HTMLAudioElement | null)!.readyState >= 1,
    undefined,
    {
      timeout: UI_TIMEOUT,
    },
  );
});
