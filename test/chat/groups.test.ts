import { startLocalStack, type LocalStack } from '../../local';
import { UNTHROTTLED } from '../support/local-stack';
import { until } from '../support/sdk';
import { type Chat, cleanUp, newProfile, openChat, uniqueName } from './support';

/** Groups in `ebb chat` (ARCH §8.9): `/group …`, `/groups`, `/to #group`, against the real local stack. */

jest.setTimeout(60_000);

let stack: LocalStack;

beforeAll(async () => {
  // Four members at most, so that going over the limit takes a few users only.
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED, maxGroupSize: 4 } });
});
afterEach(cleanUp);
afterAll(() => stack.stop());

const TIME = String.raw`\[\d\d:\d\d:\d\d\]`;

/** A chat with a username, which the others can name it by. */
async function named(prefix: string): Promise<Chat & { name: string; short: string }> {
  const chat = await openChat(stack.url, await newProfile());
  const name = uniqueName(prefix);
  await chat.type(`/name ${name}`);
  return { ...chat, name, short: chat.session.userId.slice(0, 8) };
}

/** The ids `/groups` lists, in its order. */
async function groupIds(chat: Chat): Promise<string[]> {
  const from = chat.out.lines.length;
  await chat.type('/groups');
  return chat.out.lines.slice(from).flatMap((line) => /, id ([A-Za-z0-9_-]{22})\)$/.exec(line)?.[1] ?? []);
}

it('makes a group by usernames, talks in it with the group and the sender on each line, and prints every change', async () => {
  const [alice, bob, carol] = [await named('alice'), await named('bob'), await named('carol')];
  await alice.type(`/group new ops @${bob.name} @${carol.name}`);
  expect(alice.out.lines.at(-1)).toBe(`you created #ops with @${bob.name} and @${carol.name}`);
  await bob.out.waitFor(`${alice.short} created #ops with you and ${carol.short}`);
  await carol.out.waitFor(`${alice.short} created #ops with ${bob.short} and you`);

  await alice.type('/to #ops', 'hello all');
  expect(alice.out.lines).toContain('talking in #ops (3 members; /groups lists them)');
  await alice.out.waitFor(new RegExp(`^${TIME} → #ops: hello all  \\(sent\\)$`));
  expect(await bob.out.waitFor('hello all')).toMatch(new RegExp(`^${TIME} #ops <${alice.short}> hello all  #1$`));
  expect(await carol.out.waitFor('hello all')).toMatch(new RegExp(`^${TIME} #ops <${alice.short}> hello all  #1$`));

  // A member who knows the sender by name sees the name; the group is named in any case.
  await bob.type(`/to @${alice.name}`, '/to #OPS', 'hi from bob');
  expect(await alice.out.waitFor('hi from bob')).toMatch(new RegExp(`^${TIME} #ops <@${bob.name}> hi from bob  #1$`));
  expect(await carol.out.waitFor('hi from bob')).toMatch(new RegExp(`#ops <${bob.short}> hi from bob  #2$`));

  await alice.type('/groups');
  expect(alice.out.lines.slice(-3)).toEqual([
    'your groups (1):',
    expect.stringMatching(/^ {2}#ops {2}\(3 members, id [A-Za-z0-9_-]{22}\)$/),
    `    you (admin), @${bob.name}, @${carol.name}`,
  ]);

  // Only admins change the group; the plain sentence, and nothing changes.
  await bob.type(`/group remove #ops @${carol.name}`);
  expect(bob.out.lines.at(-1)).toBe('only an admin of #ops can do that (/groups shows who is)');

  await alice.type(`/group promote #ops @${bob.name}`);
  expect(alice.out.lines.at(-1)).toBe(`you made @${bob.name} an admin of #ops`);
  // Bob looked Alice up by name: he sees it from then on.
  await bob.out.waitFor(`@${alice.name} made you an admin of #ops`);
  await alice.type('/group rename #ops ops team');
  expect(alice.out.lines.at(-1)).toBe('you renamed #ops to #"ops team"');
  await carol.out.waitFor(`${alice.short} renamed #ops to #"ops team"`);

  // The new name, quoted, names the group; a bare `#ops` no longer does.
  await carol.type('/to #ops');
  expect(carol.out.lines.at(-1)).toBe('you are in no group #ops (/groups lists them)');
  await carol.type('/to #"ops team"', 'carol here');
  await alice.out.waitFor(new RegExp(`#"ops team" <@${carol.name}> carol here  #2$`));

  await carol.type('/group leave #"Ops Team"');
  await alice.out.waitFor(`@${carol.name} left #"ops team"`);
  // Bob named Carol in his /group remove: he knows her by name too.
  await bob.out.waitFor(`@${carol.name} left #"ops team"`);
  expect(carol.out.lines).toContain('you left #"ops team"');
  await carol.type('/groups');
  expect(carol.out.lines.at(-1)).toBe('you are in no group: /group new NAME @user … makes one');
});

it('a removed member is told, receives nothing sent afterwards, and its sends are refused in a sentence', async () => {
  const [alice, bob, carol] = [await named('alice'), await named('bob'), await named('carol')];
  await alice.type(`/group new ops @${bob.name} ${carol.session.userId}`);
  await carol.out.waitFor('created #ops');
  await bob.out.waitFor('created #ops');
  await carol.type('/to #ops');

  await alice.type(`/group remove #ops @${carol.name}`);
  expect(alice.out.lines.at(-1)).toBe(`you removed @${carol.name} from #ops`);
  await carol.out.waitFor(`${alice.short} removed you from #ops`);
  await bob.out.waitFor(`${alice.short} removed ${carol.short} from #ops`);

  await alice.type('/to #ops', 'after carol left');
  await bob.out.waitFor('after carol left');
  // Bob has it; Carol's device was sent nothing, so nothing can arrive later either.
  await carol.type('still here?');
  await carol.out.waitFor(/→ #ops: still here\?  \(failed: NOT_FOUND: you are not in #ops \(any more\)\)$/);
  expect(carol.out.lines.some((line) => line.includes('after carol left'))).toBe(false);
  expect(alice.out.lines.some((line) => line.includes('still here?'))).toBe(false);
  await carol.type('/group add #ops @' + alice.name);
  expect(carol.out.lines.at(-1)).toBe('you are in no group #ops (/groups lists them)');
});

it('says in a sentence what is wrong: usage, unknown users and groups, non-members, two groups of one name, over the limit', async () => {
  const [alice, bob, carol, dave, erin] = [await named('alice'), await named('bob'), await named('carol'), await named('dave'), await named('erin')];
  const nobody = uniqueName('nobody');

  await alice.type('/group', '/group new', '/group add #ops', '/group new "ops team @x');
  expect(alice.out.lines.slice(-4)).toEqual([
    expect.stringMatching(/^usage: \/group new NAME @user @user … \| \/group add #group @user … \| /),
    'usage: /group new NAME @user @user … (a name of several words in "double quotes")',
    'usage: /group add #group @user …',
    expect.stringMatching(/^usage: \/group new NAME/),
  ]);
  await alice.type(`/group new ops @${bob.name} @${nobody}`);
  expect(alice.out.lines.at(-1)).toBe(`no user is called @${nobody}`);
  await alice.type('/group add #ops @' + bob.name, '/to #ops', '/group remove ops @' + bob.name);
  expect(alice.out.lines.slice(-3)).toEqual([
    'you are in no group #ops (/groups lists them)',
    'you are in no group #ops (/groups lists them)',
    'ops is not a group: name one as #name (/groups lists them)',
  ]);
  expect(await groupIds(alice)).toEqual([]);
  expect(alice.out.lines.at(-1)).toBe('you are in no group: /group new NAME @user … makes one');

  await alice.type(`/group new ops @${bob.name}`, `/group new ops @${carol.name}`);
  const [first, second] = await groupIds(alice);
  await alice.type('/to #ops');
  expect(alice.out.lines.at(-1)).toBe(`2 groups are called #ops: name one by its id, #${first!} or #${second!}`);
  await alice.type(`/to #${second!}`, `/group remove #${second!} @${bob.name}`);
  expect(alice.out.lines.slice(-2)).toEqual(['talking in #ops (2 members; /groups lists them)', 'not in #ops: /groups shows its members']);

  // maxGroupSize is 4 on this stack: alice, carol, dave, erin fill the second group.
  await alice.type(`/group add #${second!} @${dave.name} @${erin.name}`);
  expect(alice.out.lines.at(-1)).toBe(`you added @${dave.name} and @${erin.name} to #ops`);
  // A new member learns the group from its history, which names it alone as added.
  await erin.out.waitFor(`${alice.short} added you to #ops`);
  await alice.type(`/group add #${second!} @${bob.name}`);
  expect(alice.out.lines.at(-1)).toBe('#ops would have more members than this service allows');
  await alice.type('/groups');
  expect(alice.out.lines.at(-2)).toBe(`  #ops  (4 members, id ${second})`);
  await alice.type(`/group new big @${bob.name} @${carol.name} @${dave.name} @${erin.name}`);
  expect(alice.out.lines.at(-1)).toBe('#big would have more members than this service allows');
});

it('sees a group message this account sent from another device as sent, with the group', async () => {
  const [alice, bob] = [await named('alice'), await named('bob')];
  const laptop = await openChat(stack.url, await newProfile());
  await laptop.type('/link');
  const code = (await laptop.out.waitFor(/^\/approve /)).slice('/approve '.length);
  await alice.type(`/approve ${code} laptop`);
  await laptop.out.waitFor('linked: this profile is device 2');
  await until(async () => {
    await alice.type('/devices');
    return !alice.out.lines.at(-1)!.includes('not connected yet');
  }, 'the laptop to be listed as connected');

  await alice.type(`/to @${bob.name}`, 'one to one');
  await laptop.out.waitFor('one to one');
  await alice.type(`/group new ops @${bob.name}`);
  // The laptop holds the group once the phone's change reached it (whether the SDK then emits an event for it varies).
  await until(async () => (await groupIds(laptop)).length === 1, 'the group on the laptop', 15_000);
  await alice.type('/to #ops', 'from the phone');
  await bob.out.waitFor('from the phone');
  await laptop.out.waitFor(new RegExp(`^${TIME} → #ops: from the phone  \\(sent from device 1\\)$`));
});
