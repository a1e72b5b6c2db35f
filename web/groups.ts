import type { GroupEvent } from '../client-sdk/src';
import type { Wording } from './errors';

/** The web chat's words for groups (ARCH §8.9): what members type, and how changes read. */

/** Most people one form names at once; a larger group grows by more adds. */
export const MAX_MEMBERS_PER_FORM = 100;

/** The usernames or user ids in what was typed into a members field: separated by commas or spaces, `@` optional. */
export function memberInputs(text: string): string[] {
  return [
    ...new Set(
      text
        .split(/[\s,;]+/)
        .map((word) => word.replace(/^@/, ''))
        .filter((word) => word !== ''),
    ),
  ];
}

/** "Bob", "Bob and Carol", "Bob, Carol and you". */
export function listOf(names: readonly string[]): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names.at(-1)}`;
}

/**
 * The line a group event shows as in the group's conversation: "alice added bob". `nameOf` names a member
 * ("You" for this account, `you` in the middle of a sentence).
 */
export function groupEventText(event: GroupEvent, self: string, nameOf: (userId: string) => string, before: string | undefined): string {
  const who = event.by === self ? 'You' : nameOf(event.by);
  const member = (userId: string) => (userId === self ? 'you' : nameOf(userId));
  const members = listOf((event.members ?? []).filter((m) => event.change !== 'created' || m !== event.by).map(member));
  const name = event.group.name;
  switch (event.change) {
    case 'created':
      return `${who} created the group “${name}”${members === '' ? '' : ` with ${members}`}.`;
    case 'members-added':
      // A group made or joined on another device of this account reaches this one as its own addition.
      if (event.by === self && event.members?.includes(self)) return `You are in the group “${name}” (from another device of yours).`;
      return `${who} added ${members}.`;
    case 'members-removed':
      return `${who} removed ${members}.`;
    case 'renamed':
      return `${who} renamed the group${before === undefined ? '' : ` from “${before}”`} to “${name}”.`;
    case 'left':
      return `${who} left.`;
    case 'promoted':
      return `${who} made ${members} ${(event.members ?? []).length === 1 ? 'an admin' : 'admins'}.`;
  }
}

/** Group refusals (ARCH §8.8) in plain words, by reason. */
const GROUP_REASONS: Readonly<Record<string, string>> = {
  'not-in-group': 'You are not in this group any more.',
  'not-group-admin': 'Only the admins of this group can do that.',
  'not-senior-group-admin': 'An admin can remove only the admins who became admins after them.',
  'already-group-member': 'They are in this group already.',
  'not-group-member': 'They are not in this group.',
  'already-group-admin': 'They are an admin already.',
  'group-full': 'The group would have more members than this service allows.',
  'group-history-full': 'This group has been changed as often as a group can be. Make a new group.',
  'malformed-group-id': 'There is no such group.',
};

/** The sentence for a group refusal by its reason, if it has one. */
export function groupReason(reason: string | undefined): string | undefined {
  return reason !== undefined && Object.hasOwn(GROUP_REASONS, reason) ? GROUP_REASONS[reason] : undefined;
}

/** A group call's codes, where its reason says nothing more. */
export const GroupWording: Wording = {
  NOT_FOUND: 'You are not in this group any more.',
  BAD_REQUEST: 'A group name is 1 to 100 characters. Check the names and user ids you typed.',
};
