import { printable } from '../shared/printable';
import { EbbError, type EbbErrorReason, type GroupEvent, type GroupInfo } from '../client-sdk/src';

/**
 * The terminal chat's words for groups (ARCH §8.9): how `#group` is typed and shown, the lines group
 * events print as, `/groups`, and the plain sentence for each refusal. Everything a member chose (a group's
 * name) is escaped before it is printed.
 */

/** Group ids are 22 base64url characters (ARCH §8.8). */
const GROUP_ID = /^[A-Za-z0-9_-]{22}$/;
/** A name typed as one word after `#`; any other name is shown, and typed, in double quotes. */
const PLAIN_NAME = /^[^\s"#]+$/u;

/** `#ops`, or `#"ops team"` for a name that is not one plain word: as the user would type it. */
export function groupLabel(name: string): string {
  return PLAIN_NAME.test(name) && !/^\d+$/.test(name) ? `#${printable(name)}` : `#"${printable(name)}"`;
}

/**
 * Splits `text` into words at spaces; a double-quoted part keeps its spaces (`#"ops team"` is one word,
 * `#ops team`). Resolves with undefined when a quote is left open.
 */
export function words(text: string): string[] | undefined {
  const out: string[] = [];
  const pattern = /(?:[^\s"]+|"[^"]*")+|"/gu;
  for (const match of text.matchAll(pattern)) {
    if (match[0] === '"') return undefined;
    out.push(match[0].replace(/"/g, ''));
  }
  return out;
}

/** The groups `ref` (without its `#`) names: the one with that id, else those with that name, in any case. */
export function findGroups(groups: readonly GroupInfo[], ref: string): GroupInfo[] {
  if (GROUP_ID.test(ref)) {
    const byId = groups.filter((group) => group.id === ref);
    if (byId.length > 0) return byId;
  }
  const wanted = ref.toLowerCase();
  return groups.filter((group) => group.name.toLowerCase() === wanted);
}

/** "@bob", "@bob and @carol", "@bob, @carol and you". */
export function listOf(labels: readonly string[]): string {
  if (labels.length <= 1) return labels.join('');
  return `${labels.slice(0, -1).join(', ')} and ${labels.at(-1)}`;
}

/**
 * The line a group event prints as: "@alice added @bob to #ops". `label` shows a member ("you" for `self`,
 * this account); `before` is the group's name before the change, for a rename.
 */
export function groupEventLine(event: GroupEvent, self: string, label: (userId: string) => string, before: string | undefined): string {
  const { group, by } = event;
  // A group made or joined on another device of this account reaches this one as its addition, by itself.
  if (event.change === 'members-added' && by === self && event.members?.includes(self))
    return `you are in ${groupLabel(group.name)} (from another device of yours)`;
  const who = label(by);
  const members = listOf((event.members ?? []).filter((member) => event.change !== 'created' || member !== by).map(label));
  const name = groupLabel(group.name);
  switch (event.change) {
    case 'created':
      return `${who} created ${name}${members === '' ? '' : ` with ${members}`}`;
    case 'members-added':
      return `${who} added ${members} to ${name}`;
    case 'members-removed':
      return `${who} removed ${members} from ${name}`;
    case 'renamed':
      return `${who} renamed ${before === undefined ? 'the group' : groupLabel(before)} to ${name}`;
    case 'left':
      return `${who} left ${name}`;
    case 'promoted':
      return `${who} made ${members} ${(event.members ?? []).length === 1 ? 'an admin' : 'admins'} of ${name}`;
  }
}

/** The lines of `/groups` for one group: its name and id, then its members, admins marked. */
export function groupLines(group: GroupInfo, label: (userId: string) => string): string[] {
  const admins = new Set(group.admins);
  const members = group.members.map((member) => `${label(member)}${admins.has(member) ? ' (admin)' : ''}`);
  return [`  ${groupLabel(group.name)}  (${group.members.length} members, id ${group.id})`, `    ${members.join(', ')}`];
}

/** The sentence for each group refusal (ARCH §8.8), `#group` standing for the group. */
const REFUSALS: Readonly<Partial<Record<EbbErrorReason, string>>> = {
  'not-in-group': 'you are not in #group',
  'not-group-admin': 'only an admin of #group can do that (/groups shows who is)',
  'not-senior-group-admin': 'an admin of #group can remove only the admins made after it',
  'already-group-member': 'already in #group',
  'not-group-member': 'not in #group: /groups shows its members',
  'already-group-admin': 'already an admin of #group',
  'group-full': '#group would have more members than this service allows',
  'group-history-full': '#group has been changed as often as a group can be: make a new group',
  'malformed-group-id': 'there is no group #group',
};

/** The sentence for a refused group call, or undefined when the refusal is not about the group. */
export function groupRefusal(err: unknown, group: string): string | undefined {
  if (!EbbError.is(err)) return undefined;
  const sentence = err.reason === undefined ? undefined : REFUSALS[err.reason];
  if (sentence !== undefined) return sentence.replace('#group', group);
  // A group call answers NOT_FOUND for a group this device is in no more (it left, or was removed).
  return err.code === 'NOT_FOUND' ? `you are not in ${group} (any more)` : undefined;
}
