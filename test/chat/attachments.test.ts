import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { safeFileName } from '../../chat/attachments';
import { startLocalStack, type LocalStack } from '../../local';
import { UNTHROTTLED } from '../support/local-stack';
import { cleanUp, newProfile, openChat } from './support';

/** `/file` and `/save` in `ChatSession` against the real local stack. */

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterEach(cleanUp);
afterAll(() => stack.stop());

it('/file sends a file with a caption; /save N writes it, never over an existing file', async () => {
  const alice = await openChat(stack.url, await newProfile());
  const bob = await openChat(stack.url, await newProfile());
  const dir = await newProfile();
  const bytes = nacl.randomBytes(300_000);
  const path = join(dir, 'holiday photo.jpg');
  await writeFile(path, bytes);

  await alice.type(`/to ${bob.session.userId}`, `/file "${path}" from the beach`);
  await alice.out.waitFor(/→ \S+: from the beach \[file\] holiday photo\.jpg \(293\.0 KiB\) {2}\(sent\)$/, 15_000);
  await bob.out.waitFor('from the beach  #1', 15_000);
  expect(await bob.out.waitFor('attachment:')).toBe('    attachment: holiday photo.jpg (image/jpeg, 293.0 KiB)  /save 1 to keep it');

  const into = await newProfile();
  await bob.type(`/save 1 ${into}`);
  expect(await bob.out.waitFor('saved holiday photo.jpg')).toBe(`saved holiday photo.jpg to ${join(into, 'holiday photo.jpg')} (293.0 KiB)`);
  expect(Buffer.from(await readFile(join(into, 'holiday photo.jpg'))).equals(Buffer.from(bytes))).toBe(true);
  await bob.type(`/save #1 ${into}`);
  await bob.out.waitFor('holiday photo (1).jpg');
  expect((await readdir(into)).sort()).toEqual(['holiday photo (1).jpg', 'holiday photo.jpg']);
});

it('/file in a group reaches every member, who each save it with /save N; the sender uploads it once', async () => {
  const [alice, bob, carol] = [
    await openChat(stack.url, await newProfile()),
    await openChat(stack.url, await newProfile()),
    await openChat(stack.url, await newProfile()),
  ];
  await alice.type(`/group new ops ${bob.session.userId} ${carol.session.userId}`);
  await bob.out.waitFor('created #ops', 15_000);
  await carol.out.waitFor('created #ops', 15_000);
  const dir = await newProfile();
  const bytes = nacl.randomBytes(200_000);
  await writeFile(join(dir, 'minutes.pdf'), bytes);
  const objects = stack.s3.objects(stack.s3Bucket).length;

  await alice.type('/to #ops', `/file ${join(dir, 'minutes.pdf')} for the meeting`);
  await alice.out.waitFor(/→ #ops: for the meeting \[file\] minutes\.pdf \(195\.3 KiB\) {2}\(sent\)$/, 15_000);
  expect(stack.s3.objects(stack.s3Bucket)).toHaveLength(objects + 1);
  for (const member of [bob, carol]) {
    expect(await member.out.waitFor('for the meeting', 15_000)).toMatch(/ #ops <\S+> for the meeting {2}#1$/);
    expect(await member.out.waitFor('attachment:')).toBe('    attachment: minutes.pdf (application/pdf, 195.3 KiB)  /save 1 to keep it');
    const into = await newProfile();
    await member.type(`/save 1 ${into}`);
    expect(await member.out.waitFor('saved minutes.pdf', 15_000)).toBe(`saved minutes.pdf to ${join(into, 'minutes.pdf')} (195.3 KiB)`);
    expect(Buffer.from(await readFile(join(into, 'minutes.pdf'))).equals(Buffer.from(bytes))).toBe(true);
  }
});

it('/save of a tampered attachment says so and leaves no file; /save of a message without attachments, or unknown, says so', async () => {
  const alice = await openChat(stack.url, await newProfile());
  const bob = await openChat(stack.url, await newProfile());
  const dir = await newProfile();
  await writeFile(join(dir, 'a.bin'), nacl.randomBytes(1000));
  await alice.type(`/to ${bob.session.userId}`, 'plain', `/file ${join(dir, 'a.bin')}`);
  await bob.out.waitFor('attachment: a.bin', 15_000);
  for (const object of stack.s3.objects(stack.s3Bucket)) {
    const stored = await readFile(object.file);
    stored[stored.length - 1]! ^= 1;
    await writeFile(object.file, stored);
  }
  const into = await newProfile();
  await bob.type(`/save 2 ${into}`, `/save 1 ${into}`, `/save 9 ${into}`, '/save x');
  await bob.out.waitFor('could not save a.bin: it failed its integrity check (altered in storage): nothing was saved');
  expect(bob.out.lines).toContain('message #1 has no attachments');
  expect(bob.out.lines).toContain('no received message #9');
  expect(bob.out.lines).toContain('usage: /save N [DIR] (N is the #number shown next to a received message)');
  expect(await readdir(into)).toEqual([]);
});

it('/file of a missing file says so and sends nothing', async () => {
  const alice = await openChat(stack.url, await newProfile());
  const bob = await openChat(stack.url, await newProfile());
  await alice.type(`/to ${bob.session.userId}`, '/file /nonexistent/x.jpg');
  await alice.type(`/file ${await newProfile()}`, '/file');
  expect(alice.out.lines.slice(-3)).toEqual([
    'cannot send /nonexistent/x.jpg: no such file',
    expect.stringMatching(/^cannot send \/tmp\/.*: not a file$/),
    'usage: /file PATH [CAPTION] (a PATH with spaces in double quotes)',
  ]);
});

it('a file name from a peer cannot leave the directory, hide itself or drive the terminal', () => {
  expect(safeFileName('../../etc/passwd')).toBe('_.._etc_passwd');
  expect(safeFileName('.bashrc')).toBe('bashrc');
  expect(safeFileName('a\u001b[31mb.txt')).toBe('a_x1b[31mb.txt');
  expect(safeFileName('C:\\evil.exe')).toBe('C__evil.exe');
  expect(safeFileName('...')).toBe('attachment');
});
