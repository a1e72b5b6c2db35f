import type { SignedGroupChange } from './change';

/**
 * The group rules (ARCH §8.8) as one deterministic fold over a group's known changes in their total order:
 * epoch, then id. The same set of changes gives the same group on every member, whatever order they
 * arrived in; a change that arrives late is merged into the set and the set folded again.
 */

/** Most changes one group applies; later ones are refused as `history-full`. */
export const MAX_GROUP_CHANGES = 256;

/** Why the fold did not apply a change. None is an error: every member refuses the same ones. */
export const ChangeRefusal = {
  /** The author was not a member at that point. */
  notMember: 'not-member',
  /** Add, remove, rename and promote are for admins. */
  notAdmin: 'not-admin',
  /** Every member an `add` named was a member already. */
  alreadyMember: 'already-member',
  /** No member a `remove` or `promote` named was a member. */
  noSuchMember: 'no-such-member',
  /** Every member a `promote` named was an admin already. */
  alreadyAdmin: 'already-admin',
  /** The `add` would take the group past the `maxMembers` its `create` set. */
  groupFull: 'group-full',
  /** A rename to the name the group has. */
  unchanged: 'unchanged',
  /** The group applied MAX_GROUP_CHANGES changes before this one. */
  historyFull: 'history-full',
  /** A second `create` of the group: only the first in the order founds it. */
  duplicateCreate: 'duplicate-create',
} as const;
export type ChangeRefusal = (typeof ChangeRefusal)[keyof typeof ChangeRefusal];

export type ChangeOutcome = { readonly applied: true } | { readonly applied: false; readonly reason: ChangeRefusal };

/** A change with its id, as the fold takes them. */
export interface KnownChange {
  readonly id: string;
  readonly change: SignedGroupChange;
}

export interface Folded {
  readonly name: string;
  /** By when they (last) joined, the creator first. */
  readonly members: readonly string[];
  readonly admins: ReadonlySet<string>;
  /** The outcome of each change, by id. */
  readonly outcomes: ReadonlyMap<string, ChangeOutcome>;
  /** Who is to thank for each effect, for the events: the author of the change that last caused it. */
  readonly addedBy: ReadonlyMap<string, string>;
  readonly departedBy: ReadonlyMap<string, { readonly by: string; readonly left: boolean }>;
  readonly promotedBy: ReadonlyMap<string, string>;
  readonly renamedBy: string | null;
  readonly creator: string;
}

/** Total order: epoch, then id. */
export function compareChanges(a: KnownChange, b: KnownChange): number {
  if (a.change.epoch !== b.change.epoch) return a.change.epoch - b.change.epoch;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * Folds `changes`, sorted by compareChanges with a `create` first (the caller's invariant), into the group.
 * Rules: only a member's change counts; anyone may leave (only themselves); add, remove, rename and promote
 * need an admin at that point; an `add` applies to the named users not yet members and is refused when none
 * is new or the group would pass the `maxMembers` its `create` set; `remove` and `promote` apply to the named members (and
 * non-admins) and are refused when there is none; when the last admin goes and members remain, the
 * longest-standing member becomes admin.
 */
export function fold(changes: readonly KnownChange[]): Folded {
  const [genesis, ...rest] = changes;
  if (genesis?.change.change.kind !== 'create') throw new TypeError('changes: expected a create first');
  // The group's own bound, signed at creation, not this device's config: members that learn of a new
  // `maxGroupSize` at different times still fold alike.
  const { maxMembers } = genesis.change.change;
  const creator = genesis.change.author.user;
  let name = genesis.change.change.name;
  // In joining order; `present` answers "is a member" without a scan (groups reach 10,000 members).
  let members = [creator, ...genesis.change.change.members];
  const present = new Set(members);
  const admins = new Set([creator]);
  const outcomes = new Map<string, ChangeOutcome>([[genesis.id, { applied: true }]]);
  const addedBy = new Map(members.map((m) => [m, creator]));
  const departedBy = new Map<string, { by: string; left: boolean }>();
  const promotedBy = new Map<string, string>();
  let renamedBy: string | null = null;
  let applied = 1;

  /** The longest-standing member leads when no admin is left. */
  const keepAnAdmin = (by: string): void => {
    if (admins.size > 0 || members.length === 0) return;
    admins.add(members[0]!);
    promotedBy.set(members[0]!, by);
  };
  const depart = (gone: readonly string[], by: string, left: boolean): void => {
    for (const m of gone) present.delete(m);
    members = members.filter((m) => present.has(m));
    for (const m of gone) {
      admins.delete(m);
      departedBy.set(m, { by, left });
    }
    keepAnAdmin(by);
  };

  for (const { id, change } of rest) {
    const refuse = (reason: ChangeRefusal): void => void outcomes.set(id, { applied: false, reason });
    const author = change.author.user;
    const body = change.change;
    if (body.kind === 'create') {
      refuse(ChangeRefusal.duplicateCreate);
      continue;
    }
    if (applied >= MAX_GROUP_CHANGES) {
      refuse(ChangeRefusal.historyFull);
      continue;
    }
    if (!present.has(author)) {
      refuse(ChangeRefusal.notMember);
      continue;
    }
    if (body.kind === 'leave') {
      depart([author], author, true);
    } else if (!admins.has(author)) {
      refuse(ChangeRefusal.notAdmin);
      continue;
    } else if (body.kind === 'add') {
      const fresh = body.members.filter((m) => !present.has(m));
      if (fresh.length === 0) {
        refuse(ChangeRefusal.alreadyMember);
        continue;
      }
      if (members.length + fresh.length > maxMembers) {
        refuse(ChangeRefusal.groupFull);
        continue;
      }
      members = [...members, ...fresh];
      for (const m of fresh) {
        present.add(m);
        addedBy.set(m, author);
      }
    } else if (body.kind === 'remove') {
      const gone = body.members.filter((m) => present.has(m));
      if (gone.length === 0) {
        refuse(ChangeRefusal.noSuchMember);
        continue;
      }
      depart(gone, author, false);
    } else if (body.kind === 'rename') {
      if (body.name === name) {
        refuse(ChangeRefusal.unchanged);
        continue;
      }
      name = body.name;
      renamedBy = author;
    } else {
      const named = body.members.filter((m) => present.has(m));
      const promoted = named.filter((m) => !admins.has(m));
      if (promoted.length === 0) {
        refuse(named.length === 0 ? ChangeRefusal.noSuchMember : ChangeRefusal.alreadyAdmin);
        continue;
      }
      for (const m of promoted) {
        admins.add(m);
        promotedBy.set(m, author);
      }
    }
    outcomes.set(id, { applied: true });
    applied++;
  }
  return { name, members, admins, outcomes, addedBy, departedBy, promotedBy, renamedBy, creator };
}
