import type { SignedGroupChange } from './change';

/**
 * The group rules (ARCH §8.8) as one deterministic fold over a group's known changes in their total order:
 * epoch, then id. The same set of changes gives the same group on every member, whatever order they
 * arrived in; a change that arrives late is merged into the set and the set folded again.
 *
 * Changes name their parents (change.ts), so the order is also causal: a change's epoch is one more than its
 * parents' highest. `resolve` sets aside the changes whose parents are not all held (pending) and drops those
 * whose epoch breaks that rule (invalid), then folds the rest and cancels what a removed member did that its
 * remover had not seen.
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
  /** Every member a `remove` named was an admin senior to its author (admins rank by when they became admin). */
  notSenior: 'not-senior',
  /** By a member a `remove` removed, made neither before that `remove` (as its author had seen) nor after it. */
  cancelled: 'cancelled',
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
  /** Admins from most to least senior: the creator first, then by when they (last) became admin. */
  readonly seniority: readonly string[];
}

/** Total order: epoch, then id. */
export function compareChanges(a: KnownChange, b: KnownChange): number {
  if (a.change.epoch !== b.change.epoch) return a.change.epoch - b.change.epoch;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** What `resolve` made of a set of changes. */
export interface Resolved {
  /** The changes whose ancestors are all held, in the total order: the create first. */
  readonly ready: readonly KnownChange[];
  /** For each of `ready`, the indexes in `ready` of its parents. */
  readonly parents: readonly (readonly number[])[];
  /** Changes waiting for a parent, in the total order. */
  readonly pending: readonly KnownChange[];
  /** Ids of changes whose epoch is not one more than their parents' highest: dropped. */
  readonly invalid: ReadonlySet<string>;
  readonly folded: Folded;
  /** Whether ready[a] is an ancestor of ready[b]. */
  isAncestor(a: number, b: number): boolean;
}

/**
 * Resolves a group's held changes (any order; exactly one `create` of the group among them, which the caller
 * checked founds it). In the total order, a change whose parents are all ready is ready when its epoch is one
 * more than the highest of theirs (else invalid); any other waits (pending). The ready ones are folded; then for each
 * `remove` R that removed a member X — or that an admin made naming an X who was gone at R only through a
 * `leave` that R's author had not seen, X not being senior to it when leaving — every change by X that is
 * neither an ancestor nor a descendant of R is cancelled (refused `cancelled`) and the rest folded again from
 * scratch, until no more is cancelled. One R at a time, the most senior author's first (then the first in the
 * order), each fold finding the removes afresh: a remove that a more senior admin's cancels never acts. The
 * cancelled set only grows, so this ends; it depends on the set of changes alone, so every member holding the
 * same changes folds the same group.
 */
export function resolve(changes: readonly KnownChange[]): Resolved {
  const sorted = [...changes].sort(compareChanges);
  const ready: KnownChange[] = [];
  const parents: number[][] = [];
  const pending: KnownChange[] = [];
  const invalid = new Set<string>();
  const index = new Map<string, number>();
  for (const entry of sorted) {
    const named = entry.change.parents.map((p) => index.get(p));
    if (named.some((i) => i === undefined)) {
      pending.push(entry);
      continue;
    }
    const ids = named as number[];
    const expected = ids.length === 0 ? 0 : 1 + Math.max(...ids.map((i) => ready[i]!.change.epoch));
    if (entry.change.epoch !== expected || (ids.length === 0) !== (entry.change.change.kind === 'create')) {
      invalid.add(entry.id);
      continue;
    }
    index.set(entry.id, ready.length);
    ready.push(entry);
    parents.push(ids);
  }
  // Ancestor sets as bitsets: a held group has at most a few hundred changes, so each is a few dozen words.
  const words = (ready.length + 31) >>> 5;
  const ancestors = ready.map(() => new Uint32Array(words));
  for (let i = 0; i < ready.length; i++) {
    const own = ancestors[i]!;
    for (const p of parents[i]!) {
      const theirs = ancestors[p]!;
      for (let w = 0; w < words; w++) own[w]! |= theirs[w]!;
      own[p >>> 5]! |= 1 << (p & 31);
    }
  }
  const isAncestor = (a: number, b: number): boolean => (ancestors[b]![a >>> 5]! & (1 << (a & 31))) !== 0;

  const cancelled = new Set<number>();
  for (;;) {
    const { folded, triggers } = foldOnce(ready, cancelled, isAncestor);
    // One remove at a time, the most senior author's first (then the first in the order): a removed admin's own
    // backdated remove is cancelled by its remover's before it can cancel anything of its victim's.
    const fresh = triggers
      .map(({ at, users, rank }) => {
        const gone: number[] = [];
        for (let i = 0; i < ready.length; i++) {
          if (i === at || cancelled.has(i) || !users.has(ready[i]!.change.author.user)) continue;
          if (!isAncestor(i, at) && !isAncestor(at, i)) gone.push(i);
        }
        return { at, rank, gone };
      })
      .filter((t) => t.gone.length > 0)
      .sort((a, b) => a.rank - b.rank || a.at - b.at);
    if (fresh.length === 0) return { ready, parents, pending, invalid, folded, isAncestor };
    for (const i of fresh[0]!.gone) cancelled.add(i);
  }
}

/** A `remove` at `at`, by an admin of rank `rank` there, whose concurrent changes by `users` are cancelled. */
interface Trigger {
  readonly at: number;
  readonly rank: number;
  readonly users: ReadonlySet<string>;
}

/**
 * Folds `changes`, sorted by compareChanges with a `create` first (the caller's invariant), into the group,
 * `cancelled` (indexes) refused as such.
 * Rules: only a member's change counts; anyone may leave (only themselves); add, remove, rename and promote
 * need an admin at that point; an `add` applies to the named users not yet members and is refused when none
 * is new or the group would pass the `maxMembers` its `create` set; `remove` applies to the named members but
 * the admins senior to its author, `promote` to the named members not admins, and each is refused when there is
 * none; when the last admin goes and members remain, the longest-standing member becomes admin. Admins rank by
 * when they became admin: the creator first, then each promotion (automatic or not) in the order.
 */
function foldOnce(
  changes: readonly KnownChange[],
  cancelled: ReadonlySet<number>,
  isAncestor: (a: number, b: number) => boolean,
): { folded: Folded; triggers: Trigger[] } {
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
  /** The admins, each with its seniority: lower is more senior. */
  const rank = new Map([[creator, 0]]);
  let ranks = 0;
  const outcomes = new Map<string, ChangeOutcome>([[genesis.id, { applied: true }]]);
  const addedBy = new Map(members.map((m) => [m, creator]));
  const departedBy = new Map<string, { by: string; left: boolean }>();
  /** Each member's last `leave`: where, and its rank then (undefined: not an admin). */
  const leaves = new Map<string, { at: number; rank: number | undefined }>();
  const promotedBy = new Map<string, string>();
  const triggers: Trigger[] = [];
  let renamedBy: string | null = null;
  let applied = 1;

  /** The longest-standing member leads when no admin is left. */
  const keepAnAdmin = (by: string): void => {
    if (rank.size > 0 || members.length === 0) return;
    rank.set(members[0]!, ++ranks);
    promotedBy.set(members[0]!, by);
  };
  const depart = (gone: readonly string[], by: string, left: boolean): void => {
    for (const m of gone) present.delete(m);
    members = members.filter((m) => present.has(m));
    for (const m of gone) {
      rank.delete(m);
      departedBy.set(m, { by, left });
      // Only a member's last departure counts, and a leave records its own after this.
      if (!left) leaves.delete(m);
    }
    keepAnAdmin(by);
  };

  for (const [offset, { id, change }] of rest.entries()) {
    const at = offset + 1;
    const refuse = (reason: ChangeRefusal): void => void outcomes.set(id, { applied: false, reason });
    const author = change.author.user;
    const body = change.change;
    if (body.kind === 'create') {
      refuse(ChangeRefusal.duplicateCreate);
      continue;
    }
    if (cancelled.has(at)) {
      refuse(ChangeRefusal.cancelled);
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
      leaves.set(author, { at, rank: rank.get(author) });
      depart([author], author, true);
    } else if (!rank.has(author)) {
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
      const own = rank.get(author)!;
      const named = body.members.filter((m) => present.has(m));
      // Not an admin as senior as its author, nor the author itself (it leaves instead).
      const gone = named.filter((m) => (rank.get(m) ?? Infinity) > own);
      // A member gone only through a leave this remove's author had not seen, and not senior to it when it
      // left, is removed all the same: that leave and its author's other concurrent changes are cancelled.
      const escaped = body.members.filter((m) => {
        const leave = present.has(m) ? undefined : leaves.get(m);
        return leave !== undefined && !isAncestor(leave.at, at) && !(leave.rank !== undefined && leave.rank < own);
      });
      if (gone.length > 0 || escaped.length > 0) triggers.push({ at, rank: own, users: new Set([...gone, ...escaped]) });
      if (gone.length === 0) {
        refuse(named.length === 0 ? ChangeRefusal.noSuchMember : ChangeRefusal.notSenior);
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
      const promoted = named.filter((m) => !rank.has(m));
      if (promoted.length === 0) {
        refuse(named.length === 0 ? ChangeRefusal.noSuchMember : ChangeRefusal.alreadyAdmin);
        continue;
      }
      for (const m of promoted) {
        rank.set(m, ++ranks);
        promotedBy.set(m, author);
      }
    }
    outcomes.set(id, { applied: true });
    applied++;
  }
  const seniority = [...rank].sort((a, b) => a[1] - b[1]).map(([m]) => m);
  return {
    folded: { name, members, admins: new Set(seniority), outcomes, addedBy, departedBy, promotedBy, renamedBy, creator, seniority },
    triggers,
  };
}
