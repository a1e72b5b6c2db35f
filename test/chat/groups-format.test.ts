import type { GroupEvent, GroupInfo } from '../../client-sdk/src';
import { EbbError } from '../../client-sdk/src/errors';
import { findGroups, groupEventLine, groupLabel, groupRefusal, words } from '../../chat/groups';

/** The terminal chat's group words, without a stack: typing and showing `#group`, and event lines. */

const group = (name: string, id = 'A'.repeat(21) + 'Q'): GroupInfo => ({ id, name, members: ['alice', 'bob'], admins: ['alice'] });
const label = (user: string) => (user === 'me' ? 'you' : `@${user}`);

it('shows a group as it is typed, quoting names that are not one plain word, and escapes what its admin chose', () => {
  expect(groupLabel('ops')).toBe('#ops');
  expect(groupLabel('ops team')).toBe('#"ops team"');
  expect(groupLabel('42')).toBe('#"42"');
  expect(groupLabel('a\x1b[2Jb\u202e')).toBe(String.raw`#a\x1b[2Jb\u202e`);
  expect(groupLabel('x\ny')).toBe(String.raw`#"x\ny"`);
});

it('splits a line into words, a double-quoted part keeping its spaces; an open quote is no line at all', () => {
  expect(words('new "ops team" @a  @b')).toEqual(['new', 'ops team', '@a', '@b']);
  expect(words('rename #"ops team" ops two')).toEqual(['rename', '#ops team', 'ops', 'two']);
  expect(words('new "ops team @a')).toBeUndefined();
  expect(words('')).toEqual([]);
});

it('finds a group by id first, else by name in any case', () => {
  const a = group('ops', 'a'.repeat(22));
  const b = group('OPS', 'b'.repeat(22));
  const named = group('a'.repeat(22), 'c'.repeat(22));
  expect(findGroups([a, b], 'Ops')).toEqual([a, b]);
  expect(findGroups([a, b, named], 'a'.repeat(22))).toEqual([a]);
  expect(findGroups([a, b], 'dev')).toEqual([]);
});

it('prints each change as a line, naming this account "you"', () => {
  const line = (event: Omit<GroupEvent, 'group'>, before?: string) => groupEventLine({ group: group('ops'), ...event }, 'me', label, before);
  expect(line({ change: 'created', by: 'alice', members: ['alice', 'me', 'bob'] })).toBe('@alice created #ops with you and @bob');
  expect(line({ change: 'created', by: 'me', members: ['me'] })).toBe('you created #ops');
  expect(line({ change: 'members-added', by: 'alice', members: ['carol', 'dave', 'erin'] })).toBe('@alice added @carol, @dave and @erin to #ops');
  expect(line({ change: 'members-added', by: 'me', members: ['me'] })).toBe('you are in #ops (from another device of yours)');
  expect(line({ change: 'members-removed', by: 'alice', members: ['me'] })).toBe('@alice removed you from #ops');
  expect(line({ change: 'renamed', by: 'alice' }, 'old name')).toBe('@alice renamed #"old name" to #ops');
  expect(line({ change: 'renamed', by: 'alice' })).toBe('@alice renamed the group to #ops');
  expect(line({ change: 'left', by: 'bob', members: ['bob'] })).toBe('@bob left #ops');
  expect(line({ change: 'promoted', by: 'alice', members: ['bob'] })).toBe('@alice made @bob an admin of #ops');
  expect(line({ change: 'promoted', by: 'alice', members: ['bob', 'me'] })).toBe('@alice made @bob and you admins of #ops');
});

it('words the refusal of a junior admin removing a senior one', () => {
  const err = new EbbError('FORBIDDEN', 'x', { retryable: false, reason: 'not-senior-group-admin' });
  expect(groupRefusal(err, '#ops')).toBe('an admin of #ops can remove only the admins made after it');
});
