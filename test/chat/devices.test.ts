import { readdir } from 'node:fs/promises';
import { startLocalStack, type LocalStack } from '../../local';
import { UNTHROTTLED } from '../support/local-stack';
import { until } from '../support/sdk';
import { type Chat, cleanUp, newProfile, openChat } from './support';

/** Devices in `ebb chat` (ARCH §8.6): /link, /approve, /devices, /remove, sent copies and receipts. */

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterEach(cleanUp);
afterAll(() => stack.stop());

/** Runs /link on a new profile, approves its code from `first` as `name`, and waits until it is linked. */
async function linkNew(first: Chat, name: string): Promise<Chat> {
  const profile = await newProfile();
  const device = await openChat(stack.url, profile);
  await device.type('/link');
  const line = await device.out.waitFor(/^\/approve ebb-link:/);
  await first.type(`${line} ${name}`);
  await first.out.waitFor(new RegExp(`^linked device \\d+ "${name}"`));
  await device.out.waitFor(`linked: this profile is device`);
  return device;
}

it('links a new profile to an account: the code as text and QR code, then one account on two devices', async () => {
  const phone = await openChat(stack.url, await newProfile());
  expect(phone.out.lines).toContain('a new profile gets a new account; to make it another device of an account you have instead, type /link');
  const laptop = await openChat(stack.url, await newProfile());
  const throwaway = laptop.session.userId;
  await laptop.type('/link');
  const code = (await laptop.out.waitFor(/^\/approve ebb-link:[A-Za-z0-9_-]+$/)).slice('/approve '.length);
  // The QR code: lines of block characters only.
  expect(laptop.out.lines.filter((line) => /^[█▀▄ ]+$/.test(line)).length).toBeGreaterThan(15);
  // Waiting: no other command runs.
  await laptop.type('/id', 'hello?');
  expect(laptop.out.lines.slice(-2)).toEqual([
    'waiting for the link to be approved on your first device (/quit gives up)',
    'waiting for the link to be approved on your first device (/quit gives up)',
  ]);

  await phone.type('/approve ebb-link:nonsense', `/approve ${code} laptop`);
  expect(phone.out.lines).toContainEqual(expect.stringMatching(/^\/approve failed: BAD_REQUEST: /));
  await phone.out.waitFor('linked device 2 "laptop": it gets your messages once it has connected');
  await laptop.out.waitFor(`linked: this profile is device 2 of ${phone.session.userId}`);
  expect(laptop.session.userId).toBe(phone.session.userId);
  expect(throwaway).not.toBe(phone.session.userId);

  await until(async () => {
    await phone.type('/devices');
    return phone.out.lines.at(-1)!.includes('"laptop"') && !phone.out.lines.at(-1)!.includes('not connected yet');
  }, 'the laptop to be listed as connected');
  expect(phone.out.lines.slice(-3)).toEqual([
    `devices of ${phone.session.userId}:`,
    expect.stringMatching(/^ {2}device 1 {2}first device {2}\(created the account \d{4}-\d\d-\d\d, this profile\)$/),
    expect.stringMatching(/^ {2}device 2 {2}"laptop" {2}\(linked \d{4}-\d\d-\d\d\)$/),
  ]);
  // The phone's account has devices now: it cannot be given up for a link.
  await phone.type('/link');
  expect(phone.out.lines.at(-1)).toMatch(/^\/link works on a new profile only/);
});

it('both devices chat with a third user: sent copies on the other device, ✓ delivered and ✓✓ read', async () => {
  const phone = await openChat(stack.url, await newProfile());
  const laptop = await linkNew(phone, 'laptop');
  const bob = await openChat(stack.url, await newProfile());
  const [aliceShort, bobShort] = [phone.session.userId.slice(0, 8), bob.session.userId.slice(0, 8)];
  // The phone's list of its devices includes the laptop once it is ready.
  await until(async () => {
    await phone.type('/devices');
    return !phone.out.lines.at(-1)!.includes('not connected yet');
  }, 'the laptop to connect');

  await phone.type(`/to ${bob.session.userId}`, 'hi bob, from my phone');
  await bob.out.waitFor(`<${aliceShort}> hi bob, from my phone  #1`);
  // Bob's chat printed it, so read it: ✓✓ on the phone's line and on the laptop's copy.
  await phone.out.waitFor(`→ ${bobShort}: hi bob, from my phone  (sent, ✓✓ read)`);
  await laptop.out.waitFor(`→ ${bobShort}: hi bob, from my phone  (sent from device 1, ✓✓ read)`);

  await laptop.type(`/to ${bob.session.userId}`, 'and from my laptop');
  await bob.out.waitFor(`<${aliceShort}> and from my laptop  #2`);
  await phone.out.waitFor(`→ ${bobShort}: and from my laptop  (sent from device 2, ✓✓ read)`);
  await laptop.out.waitFor(`→ ${bobShort}: and from my laptop  (sent, ✓✓ read)`);

  await bob.type(`/to ${phone.session.userId}`, 'hello to both');
  await phone.out.waitFor(`<${bobShort}> hello to both  #1`);
  await laptop.out.waitFor(`<${bobShort}> hello to both  #1`);
  await bob.out.waitFor(`→ ${aliceShort}: hello to both  (sent, ✓✓ read)`);
});

it('removes devices: from the first device, and a profile removing itself, which is then wiped', async () => {
  const phone = await openChat(stack.url, await newProfile());
  const laptop = await linkNew(phone, 'laptop');
  const tablet = await linkNew(phone, 'tablet');

  await laptop.type('/remove 1', '/remove 3');
  expect(laptop.out.lines.slice(-2)).toEqual([
    'device 1 holds the account key and cannot be removed',
    'only your first device removes other devices',
  ]);
  await phone.type('/remove 2', '/remove 2', '/remove two');
  expect(phone.out.lines.slice(-3)).toEqual([
    'device 2 removed: it can no longer connect',
    'device 2 is not a device of this account',
    'usage: /remove N (N from /devices)',
  ]);

  expect(await tablet.session.handleLine('/remove 3')).toBe(false);
  expect(tablet.out.lines.at(-1)).toBe('this profile was removed from the account and its keys deleted; goodbye');
  await phone.type('/devices');
  expect(phone.out.lines.slice(-2)).toEqual([`devices of ${phone.session.userId}:`, expect.stringMatching(/^ {2}device 1 /)]);
});

it('a profile removed from the first device says so, wipes itself and ends', async () => {
  const phone = await openChat(stack.url, await newProfile());
  const profile = await newProfile();
  const laptop = await openChat(stack.url, profile);
  await laptop.type('/link');
  await phone.type(await laptop.out.waitFor(/^\/approve ebb-link:/));
  await laptop.out.waitFor('linked: this profile is device 2');
  await until(async () => {
    await phone.type('/devices');
    return !phone.out.lines.at(-1)!.includes('not connected yet');
  }, 'the laptop to connect');
  await phone.type('/remove 2');
  await laptop.out.waitFor('this device was removed from the account, and this profile forgot it; goodbye');
  expect(await laptop.session.handleLine('/id')).toBe(false);
  expect(await readdir(profile)).toEqual([]);
});

it('leaves the removed profile empty', async () => {
  const phone = await openChat(stack.url, await newProfile());
  const profile = await newProfile();
  const device = await openChat(stack.url, profile);
  await device.type('/link');
  const line = await device.out.waitFor(/^\/approve ebb-link:/);
  await phone.type(line);
  await device.out.waitFor('linked: this profile is device 2');
  await device.out.waitFor('type /help for commands');
  expect(await device.session.handleLine('/remove 2')).toBe(false);
  expect(await readdir(profile)).toEqual([]);
});
