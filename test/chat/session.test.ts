import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { EbbClient, FileStore, MemoryStore } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { toBase64Url } from '../../protocol/base64url';
import { UNTHROTTLED } from '../support/local-stack';
import { ChatSession } from '../../chat/session';
import { BufferOutput, cleanUp, newProfile, openChat, uniqueName } from './support';

// Archives here are about what they carry, not their cost: sealed at a test-only cheap N (test/support/cheap-archives.ts).
jest.mock('../../client-sdk/src/archive/format', () => jest.requireActual('../support/cheap-archives').cheapArchiveFormat());

/** `ChatSession` against the real local stack: lines in, printed lines out, no terminal. */

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterEach(cleanUp);
afterAll(() => stack.stop());

const TIME = String.raw`\[\d\d:\d\d:\d\d\]`;

it('two users find each other by username and chat both ways, each message shown as sent', async () => {
  const alice = await openChat(stack.url, await newProfile());
  const bob = await openChat(stack.url, await newProfile());
  expect(alice.out.lines[0]).toContain(`your user id: ${alice.session.userId}`);
  expect(alice.out.lines).toContain('you have no username yet: /name NAME sets one');
  const [aliceName, bobName] = [uniqueName('alice'), uniqueName('bob')];

  await alice.type(`/name ${aliceName}`);
  await bob.type(`/name @${bobName}`, `/to @${aliceName}`);
  expect(alice.out.lines).toContain(`your username is now @${aliceName}`);
  expect(bob.out.lines).toContain(`talking to @${aliceName} (${alice.session.userId})`);

  await bob.type('hi alice');
  expect(await alice.out.waitFor('hi alice')).toMatch(new RegExp(`^${TIME} <${bob.session.userId.slice(0, 8)}> hi alice  #1$`));
  await bob.out.waitFor(new RegExp(`^${TIME} → @${aliceName}: hi alice  \\(sent\\)$`));

  await alice.type(`/to ${bobName.toUpperCase()}`, 'hello bob');
  expect(await bob.out.waitFor('hello bob')).toMatch(new RegExp(`^${TIME} <@${aliceName}> hello bob  #1$`));
  await alice.out.waitFor(`→ @${bobName.toUpperCase()}: hello bob  (sent)`);

  // The sender of a received message can be answered without knowing its name.
  await alice.type('/to #1', 'by number');
  await bob.out.waitFor(`<@${aliceName}> by number  #2`);

  await alice.type(`/to @${uniqueName('nobody')}`, '/to not a name!');
  expect(alice.out.lines.slice(-2)).toEqual([
    expect.stringMatching(/^no user is called @nobody_/),
    'not a name! is neither a user id nor a @username',
  ]);
});

it('keeps its identity and username across a restart and shows what arrived while it was closed', async () => {
  const profile = await newProfile();
  const first = await openChat(stack.url, profile);
  const name = uniqueName('carol');
  await first.type(`/name ${name}`);
  const userId = first.session.userId;
  await first.type('/quit');

  const dave = await openChat(stack.url, await newProfile());
  await dave.type(`/to @${name}`, 'while you were out', 'and another');
  await dave.out.waitFor('and another  (sent)');

  const again = await openChat(stack.url, profile);
  expect(again.session.userId).toBe(userId);
  expect(again.out.lines).toContain(`your username: @${name}`);
  const shown = again.out.lines.filter((line) => line.includes(`<${dave.session.userId.slice(0, 8)}>`));
  expect(shown).toEqual([expect.stringMatching(/while you were out  #1$/), expect.stringMatching(/and another  #2$/)]);
});

it('escapes control characters from peers: no escape sequence, carriage return or bidi override reaches the terminal', async () => {
  const victim = await openChat(stack.url, await newProfile());
  const attacker = await EbbClient.create({ url: stack.url, store: new MemoryStore() });
  try {
    await attacker.connect();
    await attacker.send(victim.session.userId, 'a\x1b[2J\x1b]0;pwned\x07b\rc\nd\u202ee\u009bf');
    const line = await victim.out.waitFor('#1');
    expect(line).toContain(String.raw`a\x1b[2J\x1b]0;pwned\x07b\rc\nd\u202ee\x9bf  #1`);
    for (const printed of victim.out.lines) expect(printed).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/u);
  } finally {
    await attacker.close();
  }
});

it('/expire sends expiring messages; the recipient sees the time left and a notice when they expire', async () => {
  const sender = await openChat(stack.url, await newProfile());
  const recipient = await openChat(stack.url, await newProfile());
  await sender.type(`/to ${recipient.session.userId}`, '/expire 2');
  expect(sender.out.lines).toContain('next messages expire 2 s after sending (/expire off to stop)');
  await sender.type('gone soon');
  await sender.out.waitFor('gone soon  (sent, expires in 2 s)');
  expect(await recipient.out.waitFor('gone soon')).toMatch(/gone soon  #1 \(expires in (1|2) seconds?\)$/);
  await recipient.out.waitFor(new RegExp(`^${TIME} \\(expired\\) #1 from ${sender.session.userId.slice(0, 8)} is gone$`), 5000);

  // Reporting needs the message: once expired it is forgotten.
  await recipient.type('/report 1 spam');
  expect(recipient.out.lines.at(-1)).toBe('no received message #1');

  await sender.type('/expire off', 'stays');
  expect(await recipient.out.waitFor('stays')).toMatch(/stays  #2$/);
});

it('/burn deletes a message that long after it is shown', async () => {
  const sender = await openChat(stack.url, await newProfile());
  const recipient = await openChat(stack.url, await newProfile());
  await sender.type(`/to ${recipient.session.userId}`, '/burn 1', 'read me once');
  expect(await recipient.out.waitFor('read me once')).toMatch(/#1 \(burns 1 s after reading\)$/);
  await recipient.out.waitFor('(burned) #1 from');
});

it('/report reports a received message by its short number, once', async () => {
  const sender = await openChat(stack.url, await newProfile());
  const recipient = await openChat(stack.url, await newProfile());
  await sender.type(`/to ${recipient.session.userId}`, 'buy my pills');
  await recipient.out.waitFor('buy my pills  #1');
  await recipient.type('/report #1 spam, again and again', '/report 1 spam');
  expect(recipient.out.lines.slice(-2)).toEqual([
    expect.stringMatching(/^reported to the operator as \S+$/),
    expect.stringMatching(/^already reported as \S+: the first report stands$/),
  ]);
  await recipient.type('/report 7 spam');
  expect(recipient.out.lines.at(-1)).toBe('no received message #7');
});

it('warns prominently when a peer comes back with a new identity key; /safety and /accept unblock sending', async () => {
  const alice = await openChat(stack.url, await newProfile());
  const bobProfile = await newProfile();
  const bob = await openChat(stack.url, bobProfile);
  await alice.type(`/to ${bob.session.userId}`, 'before');
  await bob.out.waitFor('before  #1');
  await bob.type('/quit');

  // Bob reinstalls keeping only his signing key: same user id, fresh X25519 identity key.
  const { signingSeed } = JSON.parse((await new FileStore(bobProfile).get('identity'))!) as { signingSeed: string };
  const reinstalledProfile = await newProfile();
  await new FileStore(reinstalledProfile).set(
    'identity',
    JSON.stringify({ signingSeed, identitySecretKey: toBase64Url(nacl.randomBytes(nacl.box.secretKeyLength)) }),
  );
  const reinstalled = await openChat(stack.url, reinstalledProfile);
  await reinstalled.type(`/to ${alice.session.userId}`, 'new phone');

  await alice.out.waitFor(`!!! WARNING: the identity key of ${bob.session.userId.slice(0, 8)} (${bob.session.userId}) has CHANGED.`);
  expect(await alice.out.waitFor('new phone')).toMatch(/new phone  #1 \(from a NEW identity key you have not accepted\)$/);
  await alice.type('blocked');
  await alice.out.waitFor('blocked  (failed: FORBIDDEN: their identity key changed, /safety then /accept)');

  await alice.type('/safety');
  const safety = alice.out.lines.at(-1)!;
  await reinstalled.type('/safety');
  const digits = (line: string) => line.replace(/^.*: /, '');
  expect(safety).toMatch(/\(their NEW key, not accepted yet\): [\d ]+$/);
  expect(digits(safety)).toBe(digits(reinstalled.out.lines.at(-1)!));

  await alice.type('/accept', 'welcome back');
  await reinstalled.out.waitFor('welcome back  #1');
});

it('/export writes an archive that imports with the passphrase, readable by the owner alone and never over a file', async () => {
  const profile = await newProfile();
  const chat = await openChat(stack.url, profile, async () => 'correct horse battery');
  const file = join(profile, '..', `${profile.split('/').at(-1)}.ebbarchive`);
  await chat.type(`/export ${file}`);
  expect(chat.out.lines.at(-1)).toMatch(/^archive written to .*\.ebbarchive \(\d+ bytes\): keep it, and its passphrase, safe$/);
  expect((await stat(file)).mode & 0o777).toBe(0o600);
  const restored = await EbbClient.importArchive(new Uint8Array(await readFile(file)), 'correct horse battery', {
    url: stack.url,
    store: new MemoryStore(),
  });
  expect(restored.userId).toBe(chat.session.userId);

  await chat.type(`/export ${file}`);
  expect(chat.out.lines.at(-1)).toBe(`${file} exists: choose another file name`);
  const cancelled = await openChat(stack.url, await newProfile(), () => Promise.reject(new Error('input closed')));
  await cancelled.type(`/export ${file}.2`);
  expect(cancelled.out.lines.at(-1)).toBe('export cancelled: input closed');
});

it('prints a sunset banner at start when the service is not open, and the refusal', async () => {
  const now = Date.now();
  const sunset = await startLocalStack({
    port: 0,
    config: {
      rateLimits: UNTHROTTLED,
      sunset: {
        signupsCloseAt: new Date(now - 60_000).toISOString(),
        shutdownAt: new Date(now + 10 * 86_400_000).toISOString(),
        message: 'We are closing.\x1b[0m',
      },
    },
  });
  try {
    const chat = await openChat(sunset.url, await newProfile());
    expect(chat.out.lines).toContain('could not connect: SIGNUPS_CLOSED: signups are closed');
    expect(chat.out.lines).toContainEqual(
      expect.stringMatching(
        /^\*\*\* SERVICE NOTICE: new accounts can no longer sign up — shutdown \S+ \(in (9|10) days.*\) — We are closing\.\\x1b\[0m \*\*\*$/,
      ),
    );
  } finally {
    await cleanUp();
    await sunset.stop();
  }
});

it('prints a banner line when a notice arrives: the phase changed while chatting', async () => {
  const clock = { t: Date.now(), now: () => clock.t };
  const readOnlyAt = clock.t + 3_600_000;
  // The clock jumps an hour while the session stays connected: the gateway's idle limit (same clock) is lifted.
  const sunset = await startLocalStack({
    port: 0,
    now: clock.now,
    idleTimeoutMs: 2 * 3_600_000,
    config: { rateLimits: UNTHROTTLED, sunset: { readOnlyAt: new Date(readOnlyAt).toISOString() } },
  });
  try {
    const out = new BufferOutput();
    const profile = await newProfile();
    const session = await ChatSession.open({ url: sunset.url, profile, out, passphrase: async () => '', now: clock.now });
    try {
      // A date ahead is announced at start too.
      expect(out.lines).toContainEqual(
        expect.stringMatching(/^\*\*\* SERVICE NOTICE: the service is open — read-only from \S+ \(in 1 hour\) \*\*\*$/),
      );
      clock.t = readOnlyAt + 1000;
      await sunset.lifecycleTick();
      await out.waitFor('*** SERVICE NOTICE: sending is closed; you can still read and /export your account ***');
    } finally {
      await session.close();
    }
  } finally {
    await sunset.stop();
  }
});

/** Kills every live connection of `userId` without a close handshake, as a network failure would. */
async function dropConnections(userId: string): Promise<void> {
  const records = await stack.ports.connections.ofUser(userId, Date.now());
  expect(records.length).toBeGreaterThan(0);
  for (const { connectionId } of records) stack.gateway.sever(connectionId);
}

it('comes back by itself when its connection drops: what arrived meanwhile is shown, and sending works', async () => {
  const alice = await openChat(stack.url, await newProfile());
  const bob = await openChat(stack.url, await newProfile());
  await alice.type(`/to ${bob.session.userId}`);
  await bob.type(`/to ${alice.session.userId}`);
  await dropConnections(alice.session.userId);
  await bob.type('while you were cut off');
  await alice.out.waitFor('while you were cut off  #1');
  await alice.type('back again');
  await alice.out.waitFor('back again  (sent)');
  await bob.out.waitFor('back again  #1');
});

it('while suspended says so once and keeps trying slowly; once lifted it chats again, also after a restart', async () => {
  const profile = await newProfile();
  const recovery = { suspendedRetryMs: 200 };
  const out = new BufferOutput();
  const session = await ChatSession.open({ url: stack.url, profile, out, passphrase: async () => '', recovery });
  const peer = await openChat(stack.url, await newProfile());
  const suspendedLine = /^your account is suspended by the operator of this service: trying again every .*; chatting resumes once it is lifted$/;
  try {
    // The operator suspends the account and closes its connections, as `ebb-admin suspend --callback-url` does.
    await stack.ports.accounts.suspend(session.userId, 'test', Date.now());
    await dropConnections(session.userId);
    await out.waitFor(suspendedLine);
    await peer.type(`/to ${session.userId}`, 'are you there?');
    await peer.out.waitFor('are you there?  (sent)');
    // Several attempts later, still said once.
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(out.lines.filter((line) => suspendedLine.test(line))).toHaveLength(1);

    await stack.ports.accounts.unsuspend(session.userId);
    await out.waitFor('your account is no longer suspended: connected again');
    await out.waitFor('are you there?  #1');
    await session.handleLine(`/to ${peer.session.userId}`);
    await session.handleLine('yes, back');
    await out.waitFor('yes, back  (sent)');
  } finally {
    await session.close();
  }

  // Started while suspended: the refusal, then the same recovery.
  await stack.ports.accounts.suspend(session.userId, 'test', Date.now());
  const again = new BufferOutput();
  const restarted = await ChatSession.open({ url: stack.url, profile, out: again, passphrase: async () => '', recovery });
  try {
    expect(again.lines).toContain('could not connect: ACCOUNT_SUSPENDED: this account is suspended');
    await again.waitFor(suspendedLine);
    await peer.type('and now?');
    await stack.ports.accounts.unsuspend(session.userId);
    await again.waitFor('your account is no longer suspended: connected again');
    await again.waitFor('and now?  #1');
  } finally {
    await restarted.close();
  }
});

it('answers unknown commands and a line with no conversation, and sends a line starting with // as /', async () => {
  const chat = await openChat(stack.url, await newProfile());
  await chat.type('/frobnicate', 'hello?', '/expire soon');
  expect(chat.out.lines.slice(-3)).toEqual([
    'unknown command /frobnicate (/help lists them)',
    'no conversation: /to USERID or /to @name first',
    'usage: /expire SECONDS (1 to 31536000) or /expire off',
  ]);
  const peer = await openChat(stack.url, await newProfile());
  await chat.type(`/to ${peer.session.userId}`, '//shrug');
  await peer.out.waitFor(/> \/shrug  #1$/);
  expect(await chat.session.handleLine('/quit')).toBe(false);
});
