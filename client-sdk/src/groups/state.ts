import * as v from 'valibot';
import { UserId } from '../../../protocol/frames';
import { U32_MAX } from '../crypto/state-checks';
import { EbbError, type GroupErrorReason } from '../errors';
import {
  changeId,
  type CertCache,
  type GroupChange,
  type GroupSigner,
  isGroupName,
  MAX_GROUP_NAME_LENGTH,
  MAX_GROUP_PARENTS,
  MAX_GROUP_SIZE_CEILING,
  MAX_MEMBERS_PER_CHANGE,
  type SignedGroupChange,
  SignedGroupChangeSchema,
  signChange,
  sortIds,
  verifyChange,
} from './change';
import { ChangeRefusal, compareChanges, type Folded, type KnownChange, MAX_GROUP_CHANGES, resolve } from './fold';
import { deriveGroupId, newGroupNonce, parseGroupId } from './group-id';

/**
 * A group's state in the SDK (ARCH §8.8), pure: no network, no store. A group is the set of its signed
 * changes (change.ts); what it is now — name, members, admins — is the fold of that set in its total order
 * (fold.ts). Local calls check what they are asked, sign one or more changes and apply them; received
 * changes are verified, merged and the set folded again, so every member that holds the same changes holds
 * the same group. The wiring sends the signed changes, stores `serializeGroupState`, and acts on `added`
 * (give them this device's sender key) and `removed` (rotate it before the next message).
 *
 * Bounds: a group applies at most MAX_GROUP_CHANGES (256) changes, then refuses more (`group-history-full`:
 * make a new group). Refused changes are kept, because one that arrives earlier in the order may make
 * them apply (a promote, an add); at most MAX_KEPT_REFUSED (64) of them, the first in the order, so a
 * member flooding refused changes cannot grow the state. Past that bound members may disagree about which
 * refused change would have applied. A refused change that an applied one descends from is kept beyond the
 * bound (the applied one could not be folded again without it). A change whose parents are not all held
 * waits, kept aside and not folded, until they come (in a later change list or snapshot); at most
 * MAX_KEPT_PENDING (64) wait, the first in the order, and one past that bound is dropped: it counts again
 * when it is delivered again (a snapshot or a relay holds it), and until then members may differ.
 */

export { ChangeRefusal, MAX_GROUP_CHANGES } from './fold';
export { GROUP_ID_LENGTH, isGroupId, parseGroupId } from './group-id';
export {
  batchChanges,
  decodeChanges,
  encodeChanges,
  MAX_GROUP_NAME_LENGTH,
  MAX_MEMBERS_PER_CHANGE,
  type ChangeAuthor,
  type GroupChange,
  type GroupChangeKind,
  type GroupSigner,
  MAX_GROUP_PARENTS,
  type SignedGroupChange,
} from './change';

/** Refused changes a group keeps (see the module comment). */
export const MAX_KEPT_REFUSED = 64;
/** Changes waiting for a parent that a group keeps (see the module comment). */
export const MAX_KEPT_PENDING = 64;
/** Most changes a stored group or a snapshot holds: applied, refused kept, the refused they descend from, pending. */
export const MAX_STORED_CHANGES = 4 * MAX_GROUP_CHANGES;
/** `maxGroupSize` when the caller gives none (the deployment's default, ARCH §3.1). */
export const DEFAULT_MAX_GROUP_SIZE = 1000;

/** A group as the app sees it: `EbbClient.group(id)` and the `'group'` event. */
export interface GroupInfo {
  readonly id: string;
  readonly name: string;
  /** User ids, the creator included while a member, longest-standing first. */
  readonly members: string[];
  /** The members who may add, remove, rename and promote, in member order. */
  readonly admins: string[];
}

/**
 * What changed, as the `'group'` event reports it. `'promoted'` is an extension of the contract's
 * union: members made admins, by an admin or, when the last admin went, by the group's rule (`by` is then
 * the member whose leaving or removing caused it).
 */
export type GroupEventKind = 'created' | 'members-added' | 'members-removed' | 'renamed' | 'left' | 'promoted';

export interface GroupEvent {
  /** The group after the change. */
  readonly group: GroupInfo;
  readonly change: GroupEventKind;
  /** Who made the change: for `'left'`, the member who left. */
  readonly by: string;
  /** Who was added, removed or promoted; the leaver for `'left'`; everyone for `'created'`. */
  readonly members?: string[];
}

/** A group and the changes it is made of. Immutable: every operation returns a new one. */
export interface GroupState {
  readonly id: string;
  readonly info: GroupInfo;
  /** Every kept change, pending ones too, in the total order (epoch, then id); the first founds the group. */
  readonly changes: readonly SignedGroupChange[];
  /** The most members the group may have, creator included, as its `create` set it. */
  readonly maxMembers: number;
  /**
   * The highest epoch among the applied changes. A local change no longer takes it: its epoch follows from
   * the parents it names (`headsOf`), so nobody picks an epoch; it remains for what it tells (how long the
   * group's longest causal chain is).
   */
  readonly epoch: number;
}

/** What a state was folded from, kept beside it so that nothing is hashed or folded twice. */
interface Derived {
  /** The ids of `changes`, in the same order. */
  readonly ids: readonly string[];
  readonly folded: Folded;
  /** The ids of the kept changes that wait for a parent. */
  readonly pending: ReadonlySet<string>;
  /** The ids of the changes the last resolve dropped for a wrong epoch. */
  readonly invalid: ReadonlySet<string>;
  /** What a local change takes: its epoch and its parents, sorted. */
  readonly heads: readonly [epoch: number, parents: readonly string[]];
  /** Where each folded change is in the causal order: its index for `isAncestor`. */
  readonly index: ReadonlyMap<string, number>;
  readonly isAncestor: (a: number, b: number) => boolean;
}
const derived = new WeakMap<GroupState, Derived>();

export interface GroupOptions {
  /**
   * The deployment's `maxGroupSize` (ServiceLimits), creator included: a new group records it as its own
   * bound, and an add here stays within both. @default 1000
   */
  readonly maxGroupSize?: number;
}

/** What became of one received change. */
export type ChangeResult = {
  readonly id: string | null;
  readonly kind: GroupChange['kind'];
  readonly by: { readonly user: string; readonly device: number };
} & (
  | { readonly status: 'applied' }
  | { readonly status: 'refused'; readonly reason: ChangeRefusal }
  /** Kept aside until every change it names as a parent is held; then folded. */
  | { readonly status: 'pending' }
  /** Known already: nothing to do. */
  | { readonly status: 'duplicate' }
  /** Not a genuine change of this group (bad signature or keys, another group, an epoch its parents' do not give); dropped. */
  | { readonly status: 'invalid' }
);

/** The result of applying changes, local or received. */
export interface GroupUpdate {
  readonly state: GroupState;
  /** What to emit, in order. Empty when nothing the app sees changed. */
  readonly events: GroupEvent[];
  /** Users who are members now and were not before: hand them this device's current sender key. */
  readonly added: string[];
  /** Users who were members and are not now: rotate this device's sender key before the next message. */
  readonly removed: string[];
}

/** A local change: the update and the signed changes to send. */
export interface LocalUpdate extends GroupUpdate {
  readonly changes: SignedGroupChange[];
  /**
   * Who is told: every member before or after the change, this user included (for its other devices), so a
   * removed member learns it was removed. The users in `added` need the whole history (`snapshotOf(state)`),
   * not only `changes`, to check their membership.
   */
  readonly recipients: string[];
}

export interface ReceivedUpdate extends GroupUpdate {
  /** One per change given, in the order given. */
  readonly results: ChangeResult[];
}

/**
 * What an existing member hands a new one so that it can check its membership from the group's root: every
 * kept change (pending ones too), the `create` first. The new member verifies each signature, checks that the `create` founds
 * this very id (only the creator can sign one, group-id.ts) and folds them itself (`openGroup`).
 */
export interface GroupSnapshot {
  readonly v: 2;
  readonly group: string;
  readonly changes: readonly SignedGroupChange[];
}

export interface CreateGroupInput {
  readonly name: string;
  /** Everyone but the creator (the creator is left out if named). */
  readonly members: readonly string[];
}

/**
 * A new group founded by `signer` with `input.members`: one `create` and, beyond MAX_MEMBERS_PER_CHANGE
 * members, `add` changes for the rest.
 * @throws EbbError BAD_REQUEST (not retryable) for a bad name or user id.
 * @throws EbbError CONFLICT (not retryable) with reason `group-full` for more than `maxGroupSize` members.
 */
export function createGroup(signer: GroupSigner, input: CreateGroupInput, options: GroupOptions = {}): LocalUpdate {
  checkName(input.name);
  const members = uniqueUsers(input.members, true).filter((m) => m !== signer.userId);
  const maxMembers = maxGroupSize(options);
  if (members.length + 1 > maxMembers) throw groupFull(maxMembers);
  const nonce = newGroupNonce();
  const [first = [], ...more] = chunk(members);
  const genesis = { kind: 'create' as const, nonce, maxMembers, name: input.name, members: first };
  const id = deriveGroupId(signer.userId, genesis);
  const create = signChange(signer, id, 0, [], genesis);
  let state = stateOf(id, [known(create)]);
  const changes = [create];
  for (const batch of more) {
    const add = signChange(signer, id, ...headsOf(state), { kind: 'add', members: batch });
    state = stateOf(id, [...knownOf(state), known(add)]);
    changes.push(add);
  }
  const group = state.info;
  const events: GroupEvent[] = [{ group, change: 'created', by: signer.userId, members: [...group.members] }];
  return { state, changes, events, added: members, removed: [], recipients: [...group.members] };
}

/**
 * Adds `users` (split over changes of MAX_MEMBERS_PER_CHANGE).
 * @throws EbbError FORBIDDEN (`not-in-group`, `not-group-admin`), BAD_REQUEST (`already-group-member`, or a
 *   bad or repeated user id, or none), CONFLICT (`group-full`, `group-history-full`); none retryable.
 */
export function addMembers(state: GroupState, signer: GroupSigner, users: readonly string[], options: GroupOptions = {}): LocalUpdate {
  requireAdmin(state, signer);
  const fresh = uniqueUsers(users, false);
  const members = new Set(state.info.members);
  const present = fresh.filter((m) => members.has(m));
  if (present.length > 0) throw groupError('BAD_REQUEST', 'already-group-member', `${present.length} of them are members already`);
  const bound = Math.min(state.maxMembers, maxGroupSize(options));
  if (state.info.members.length + fresh.length > bound) throw groupFull(bound);
  return local(
    state,
    signer,
    chunk(fresh).map((members) => ({ kind: 'add', members })),
  );
}

/**
 * Removes `users`, who must be members; an admin among them must be junior to the signer (admins rank by when
 * they became admin, the creator first), so the signer cannot name itself (it leaves instead). Nothing is
 * signed when a check fails.
 * @throws EbbError FORBIDDEN (`not-in-group`, `not-group-admin`, `not-senior-group-admin`), BAD_REQUEST
 *   (`not-group-member`, or a bad or repeated user id, or none), CONFLICT (`group-history-full`); none retryable.
 */
export function removeMembers(state: GroupState, signer: GroupSigner, users: readonly string[]): LocalUpdate {
  requireAdmin(state, signer);
  const gone = uniqueUsers(users, false);
  const members = new Set(state.info.members);
  if (gone.some((m) => !members.has(m))) throw groupError('BAD_REQUEST', 'not-group-member', 'only members can be removed');
  const seniority = foldOf(state).seniority;
  const own = seniority.indexOf(signer.userId);
  if (gone.some((m) => seniority.includes(m) && seniority.indexOf(m) <= own)) {
    throw groupError('FORBIDDEN', 'not-senior-group-admin', 'an admin can remove only the admins who became admin after it');
  }
  return local(
    state,
    signer,
    chunk(gone).map((members) => ({ kind: 'remove', members })),
  );
}

/**
 * Makes `users`, who must be members and not admins, admins.
 * @throws EbbError FORBIDDEN (`not-in-group`, `not-group-admin`), BAD_REQUEST (`not-group-member`,
 *   `already-group-admin`, or a bad or repeated user id, or none), CONFLICT (`group-history-full`); none retryable.
 */
export function promoteMembers(state: GroupState, signer: GroupSigner, users: readonly string[]): LocalUpdate {
  requireAdmin(state, signer);
  const named = uniqueUsers(users, false);
  const members = new Set(state.info.members);
  if (named.some((m) => !members.has(m))) throw groupError('BAD_REQUEST', 'not-group-member', 'only members can be promoted');
  const admins = new Set(state.info.admins);
  if (named.some((m) => admins.has(m))) throw groupError('BAD_REQUEST', 'already-group-admin', 'some of them are admins already');
  return local(
    state,
    signer,
    chunk(named).map((members) => ({ kind: 'promote', members })),
  );
}

/**
 * Renames the group.
 * @throws EbbError FORBIDDEN (`not-in-group`, `not-group-admin`), BAD_REQUEST (a bad name, or the name it
 *   has), CONFLICT (`group-history-full`); none retryable.
 */
export function renameGroup(state: GroupState, signer: GroupSigner, name: string): LocalUpdate {
  requireAdmin(state, signer);
  checkName(name);
  if (name === state.info.name) throw new EbbError('BAD_REQUEST', 'the group has that name already', { retryable: false });
  return local(state, signer, [{ kind: 'rename', name }]);
}

/**
 * Leaves the group. Any member may; when the last admin leaves, the longest-standing member becomes admin.
 * @throws EbbError FORBIDDEN (`not-in-group`), CONFLICT (`group-history-full`); neither retryable.
 */
export function leaveGroup(state: GroupState, signer: GroupSigner): LocalUpdate {
  requireMember(state, signer.userId);
  return local(state, signer, [{ kind: 'leave' }]);
}

/**
 * Merges changes received for a known group. Never throws: a forged change, one for another group or one
 * the rules refuse is reported in `results` and changes nothing.
 */
export function receiveChanges(state: GroupState, incoming: readonly SignedGroupChange[]): ReceivedUpdate {
  const certs: CertCache = new Set();
  const known = new Map(knownOf(state).map((c) => [c.id, c.change]));
  const fresh: { index: number; id: string }[] = [];
  const results: (ChangeResult | null)[] = incoming.map((change, index) => {
    const base = { kind: change.change.kind, by: { user: change.author.user, device: change.author.device } };
    if (change.group !== state.id) return { ...base, id: null, status: 'invalid' };
    // The id hashes only signed bytes, so a known id is that very change: no need to verify it again.
    const id = changeId(change);
    if (known.has(id)) return { ...base, id, status: 'duplicate' };
    if (!verifyChange(change, certs)) return { ...base, id: null, status: 'invalid' };
    known.set(id, change);
    fresh.push({ index, id });
    return null;
  });
  if (fresh.length === 0) return { state, events: [], added: [], removed: [], results: results as ChangeResult[] };
  const next = stateOf(
    state.id,
    [...known].map(([id, change]) => ({ id, change })),
  );
  const outcomes = foldOf(next).outcomes;
  const { invalid } = derived.get(next)!;
  for (const { index, id } of fresh) {
    const change = incoming[index]!;
    const base = { id, kind: change.change.kind, by: { user: change.author.user, device: change.author.device } };
    const outcome = outcomes.get(id);
    // A refused change the bound did not keep is refused all the same: it changed nothing. One with no outcome
    // was not folded: it waits for a parent (kept, or past the bound of those that wait).
    results[index] = invalid.has(id)
      ? { ...base, id: null, status: 'invalid' }
      : outcome === undefined
        ? { ...base, status: 'pending' }
        : outcome.applied
          ? { ...base, status: 'applied' }
          : { ...base, status: 'refused', reason: outcome.reason };
  }
  // Only changes dropped for their epoch: the group is as it was.
  if (fresh.every(({ id }) => invalid.has(id))) return { state, events: [], added: [], removed: [], results: results as ChangeResult[] };
  const trigger = incoming[fresh[fresh.length - 1]!.index]!.author.user;
  return { ...diff(state, next, trigger), results: results as ChangeResult[] };
}

/**
 * A group this device holds no state for, from a snapshot (or the changes of its creation) that names `self`
 * as a member; null unless the changes hold a genuine `create` of `snapshot.group` and `self` is a member
 * after folding them. Never throws. The event is `'created'` (by the creator) when `self` was named at
 * creation, else `'members-added'` by the admin whose change added `self`.
 *
 * The snapshot proves itself from the group's root, so it does not matter which member relays it. A device
 * that holds the group already (even one it was removed from) merges a snapshot with `receiveChanges`
 * instead, so that an old snapshot replayed to it cannot undo a removal it knows of.
 */
export function openGroup(snapshot: GroupSnapshot, self: string): GroupUpdate | null {
  const ours = snapshot.changes.filter((c) => c.group === snapshot.group);
  // Cheap checks first: a pile of changes that names no root of this id, or never names `self`, costs hashes,
  // not a signature check each.
  const names = (c: SignedGroupChange): boolean =>
    (c.change.kind === 'create' && c.author.user === self) ||
    ((c.change.kind === 'create' || c.change.kind === 'add') && c.change.members.includes(self));
  const founds = (c: SignedGroupChange): boolean => c.change.kind === 'create' && deriveGroupId(c.author.user, c.change) === snapshot.group;
  if (!ours.some(founds) || !ours.some(names)) return null;
  const certs: CertCache = new Set();
  const changes = new Map<string, SignedGroupChange>();
  for (const change of ours) if (verifyChange(change, certs)) changes.set(changeId(change), change);
  const list = [...changes].map(([id, change]) => ({ id, change })).sort(compareChanges);
  const genesis = list[0]?.change;
  if (genesis?.change.kind !== 'create') return null;
  const state = stateOf(snapshot.group, list);
  if (!state.info.members.includes(self)) return null;
  const folded = foldOf(state);
  const by = folded.addedBy.get(self)!;
  const atCreation = (self === folded.creator || genesis.change.members.includes(self)) && by === folded.creator && !folded.departedBy.has(self);
  const event: GroupEvent = atCreation
    ? { group: state.info, change: 'created', by, members: [...state.info.members] }
    : { group: state.info, change: 'members-added', by, members: [self] };
  return { state, events: [event], added: state.info.members.filter((m) => m !== self), removed: [] };
}

/** What to hand a new member (see GroupSnapshot). */
export function snapshotOf(state: GroupState): GroupSnapshot {
  return { v: 2, group: state.id, changes: state.changes };
}

/** Whether `user` may add, remove, rename and promote in `state`. */
export function isAdmin(state: GroupState, user: string): boolean {
  return state.info.admins.includes(user);
}

// --- Serialization: a versioned JSON form for the store and the export archive.

// v1 records (changes without parents) are refused: groups are new in this unreleased version.
const StoredGroup = v.strictObject({
  v: v.literal(2),
  id: v.string(),
  changes: v.pipe(v.array(SignedGroupChangeSchema), v.minLength(1), v.maxLength(MAX_STORED_CHANGES)),
});

/** The stored form: `{ v: 2, id, changes }`, pending changes too. What the group is now is folded again on load. */
export function serializeGroupState(state: GroupState): string {
  return JSON.stringify({ v: 2, id: state.id, changes: state.changes });
}

/**
 * The group `text` holds. Every change is checked again — shape, signature, keys, that the first founds
 * this id — and the kept set must be exactly what this module keeps, in order, so a store that was edited
 * is refused rather than folded into another group. Verifying costs one Ed25519 check per change (and one per
 * linked author device), ~10 ms each with tweetnacl: a group at its bound loads in about 3 s.
 * @throws TypeError `group state: malformed` (no field is echoed).
 */
export function parseGroupState(text: string): GroupState {
  const certs: CertCache = new Set();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed();
  }
  const parsed = v.safeParse(StoredGroup, value);
  if (!parsed.success) throw malformed();
  const { id, changes } = parsed.output;
  parseGroupIdOr(id);
  const list: KnownChange[] = [];
  for (const change of changes) {
    if (change.group !== id || !verifyChange(change, certs)) throw malformed();
    const entry = known(change);
    if (list.length > 0 && compareChanges(list[list.length - 1]!, entry) >= 0) throw malformed();
    list.push(entry);
  }
  if (list[0]!.change.change.kind !== 'create') throw malformed();
  const state = stateOf(id, list);
  if (state.changes.length !== list.length) throw malformed();
  return state;
}

// --- Internals.

/**
 * The state of a set of changes (any order; the first in the order must found the group): resolved (fold.ts),
 * folded and pruned. Kept: the applied changes, the refused ones they descend from, the first MAX_KEPT_REFUSED
 * other refused ones (an ancestor of one of those is earlier in the order, so among them or applied) and the
 * first MAX_KEPT_PENDING pending ones. Dropping a refused change changes nothing the fold made: it had no effect.
 */
function stateOf(id: string, changes: readonly KnownChange[]): GroupState {
  const { ready, parents, pending, invalid, folded, isAncestor } = resolve(changes);
  const applied = (i: number): boolean => folded.outcomes.get(ready[i]!.id)!.applied;
  const keep = ready.map((_, i) => applied(i));
  const appliedAt = keep.flatMap((a, i) => (a ? [i] : []));
  for (let j = 0; j < ready.length; j++) if (!keep[j] && appliedAt.some((i) => i > j && isAncestor(j, i))) keep[j] = true;
  let refused = 0;
  for (let j = 0; j < ready.length; j++) if (!keep[j] && ++refused <= MAX_KEPT_REFUSED) keep[j] = true;
  const waiting = pending.slice(0, MAX_KEPT_PENDING);
  const kept = [...ready.filter((_, i) => keep[i]), ...waiting].sort(compareChanges);
  // Heads: applied changes no other applied change names; the highest MAX_GROUP_PARENTS in the order.
  const named = new Set(appliedAt.flatMap((i) => parents[i]!));
  const heads = appliedAt.filter((i) => !named.has(i)).slice(-MAX_GROUP_PARENTS);
  const epoch = Math.max(...appliedAt.map((i) => ready[i]!.change.epoch));
  const create = ready[0]!.change.change as Extract<GroupChange, { kind: 'create' }>;
  const state: GroupState = { id, info: infoOf(id, folded), changes: kept.map((c) => c.change), maxMembers: create.maxMembers, epoch };
  derived.set(state, {
    ids: kept.map((c) => c.id),
    folded,
    pending: new Set(waiting.map((c) => c.id)),
    invalid,
    heads: [1 + Math.max(...heads.map((i) => ready[i]!.change.epoch)), sortIds(heads.map((i) => ready[i]!.id))],
    index: new Map(ready.map((c, i) => [c.id, i])),
    isAncestor,
  });
  return state;
}

/**
 * The members `user` added, in applied adds made neither on nor after `change` (its author had not seen them,
 * and the snapshot they were sent lacked it), who are members still: its author did not send it to them, so
 * `user` relays it (the wiring). For a change not folded (pending), every add by `user` at its epoch or later.
 */
export function addedWithout(state: GroupState, user: string, change: SignedGroupChange): string[] {
  const { index, isAncestor, folded } = derived.get(state)!;
  const at = index.get(changeId(change));
  const members = new Set(state.info.members);
  const out = new Set<string>();
  for (const { id, change: add } of knownOf(state)) {
    if (add.author.user !== user || add.change.kind !== 'add' || !folded.outcomes.get(id)?.applied) continue;
    const a = index.get(id)!;
    const without = at === undefined ? add.epoch >= change.epoch : a !== at && !isAncestor(a, at) && !isAncestor(at, a);
    if (without) for (const m of add.change.members) if (members.has(m)) out.add(m);
  }
  return [...out];
}

/**
 * What a change made now on `state` names as its parents, sorted, and the epoch it takes: the group's heads
 * (the applied changes no other applied change names; the MAX_GROUP_PARENTS highest in the order) and one
 * more than their highest epoch. As `signChange(signer, group, ...headsOf(state), change)` takes them.
 */
export function headsOf(state: GroupState): [epoch: number, parents: string[]] {
  const [epoch, parents] = derived.get(state)!.heads;
  return [epoch, [...parents]];
}

function foldOf(state: GroupState): Folded {
  return derived.get(state)!.folded;
}

/** Frozen, as events hand it to the app: an app that edits its copy cannot edit the group. */
function infoOf(id: string, folded: Folded): GroupInfo {
  const members = Object.freeze([...folded.members]) as string[];
  const admins = Object.freeze(folded.members.filter((m) => folded.admins.has(m))) as string[];
  return Object.freeze({ id, name: folded.name, members, admins });
}

function known(change: SignedGroupChange): KnownChange {
  return { id: changeId(change), change };
}

function knownOf(state: GroupState): KnownChange[] {
  const { ids } = derived.get(state)!;
  return state.changes.map((change, i) => ({ id: ids[i]!, change }));
}

/** Signs `bodies` one epoch after another and applies them; each must apply, as the caller checked. */
function local(state: GroupState, signer: GroupSigner, bodies: readonly GroupChange[]): LocalUpdate {
  const applied = appliedCount(state);
  // Epochs grow by one along a causal chain, so the last one there is cannot be reached; checked all the same.
  if (applied + bodies.length > MAX_GROUP_CHANGES || headsOf(state)[0] + bodies.length > U32_MAX) {
    throw groupError('CONFLICT', 'group-history-full', `a group takes at most ${MAX_GROUP_CHANGES} changes: make a new group`);
  }
  let next = state;
  const changes: SignedGroupChange[] = [];
  for (const body of bodies) {
    const change = signChange(signer, state.id, ...headsOf(next), body);
    next = stateOf(state.id, [...knownOf(next), known(change)]);
    changes.push(change);
  }
  const recipients = [...new Set([...state.info.members, ...next.info.members])];
  return { ...diff(state, next, signer.userId), changes, recipients };
}

function appliedCount(state: GroupState): number {
  let applied = 0;
  for (const outcome of foldOf(state).outcomes.values()) if (outcome.applied) applied++;
  return applied;
}

/**
 * The events and member changes from `before` to `after`, each credited to the author of the change that
 * last caused it. When the newest change came last in the order, these are exactly its own effects; when
 * a late change re-ordered history, they are the net effect, and an effect that no change in `after` made
 * (an add undone because its author turned out to be removed first) is credited to `trigger`, the author
 * of the change that arrived.
 */
function diff(before: GroupState, after: GroupState, trigger: string): GroupUpdate {
  if (before === after) return { state: after, events: [], added: [], removed: [] };
  const folded = foldOf(after);
  const group = after.info;
  const was = new Set(before.info.members);
  const is = new Set(group.members);
  const added = group.members.filter((m) => !was.has(m));
  const removed = before.info.members.filter((m) => !is.has(m));
  const events: GroupEvent[] = [];
  const byAuthor = (users: readonly string[], credit: (u: string) => string, change: GroupEventKind): void => {
    const groups = new Map<string, string[]>();
    for (const u of users) groups.set(credit(u), [...(groups.get(credit(u)) ?? []), u]);
    for (const [by, members] of groups) events.push({ group, change, by, members });
  };
  byAuthor(added, (u) => folded.addedBy.get(u)!, 'members-added');
  const departure = (u: string): { by: string; left: boolean } => folded.departedBy.get(u) ?? { by: trigger, left: false };
  for (const u of removed.filter((m) => departure(m).left)) events.push({ group, change: 'left', by: u, members: [u] });
  byAuthor(
    removed.filter((m) => !departure(m).left),
    (u) => departure(u).by,
    'members-removed',
  );
  if (group.name !== before.info.name) events.push({ group, change: 'renamed', by: folded.renamedBy ?? trigger });
  const wasAdmin = new Set(before.info.admins);
  byAuthor(
    group.admins.filter((a) => !wasAdmin.has(a)),
    (u) => folded.promotedBy.get(u) ?? trigger,
    'promoted',
  );
  return { state: after, events, added, removed };
}

function requireMember(state: GroupState, user: string): void {
  if (!state.info.members.includes(user)) throw groupError('FORBIDDEN', 'not-in-group', 'this user is not a member of the group');
}

function requireAdmin(state: GroupState, signer: GroupSigner): void {
  requireMember(state, signer.userId);
  if (!isAdmin(state, signer.userId)) throw groupError('FORBIDDEN', 'not-group-admin', 'only group admins add, remove, rename and promote');
}

function checkName(name: unknown): void {
  if (!isGroupName(name)) {
    throw new EbbError('BAD_REQUEST', `name: expected 1 to ${MAX_GROUP_NAME_LENGTH} characters, not only spaces, no control characters`, {
      retryable: false,
    });
  }
}

/** `users` checked: user ids, none repeated, at least one unless `mayBeEmpty`. */
function uniqueUsers(users: readonly string[], mayBeEmpty: boolean): string[] {
  if (!Array.isArray(users) || (!mayBeEmpty && users.length === 0))
    throw new EbbError('BAD_REQUEST', 'members: expected a list of user ids', { retryable: false });
  for (const u of users) if (!v.safeParse(UserId, u).success) throw new EbbError('BAD_REQUEST', 'members: expected user ids', { retryable: false });
  if (new Set(users).size !== users.length) throw new EbbError('BAD_REQUEST', 'members: a user is named twice', { retryable: false });
  return [...users];
}

function chunk(users: readonly string[]): string[][] {
  const out: string[][] = [];
  for (let i = 0; i < users.length; i += MAX_MEMBERS_PER_CHANGE) out.push(users.slice(i, i + MAX_MEMBERS_PER_CHANGE));
  return out;
}

/** Throws TypeError for a limit no deployment has (protocol/config.ts): a create carrying it would be refused. */
function maxGroupSize(options: GroupOptions): number {
  const limit = options.maxGroupSize ?? DEFAULT_MAX_GROUP_SIZE;
  if (!Number.isInteger(limit) || limit < 2 || limit > MAX_GROUP_SIZE_CEILING) {
    throw new TypeError(`maxGroupSize: expected an integer from 2 to ${MAX_GROUP_SIZE_CEILING}`);
  }
  return limit;
}

function groupFull(bound: number): EbbError {
  return groupError('CONFLICT', 'group-full', `this group has at most ${bound} members`);
}

function groupError(code: 'BAD_REQUEST' | 'FORBIDDEN' | 'CONFLICT', reason: GroupErrorReason, message: string): EbbError {
  return new EbbError(code, message, { retryable: false, reason });
}

function parseGroupIdOr(id: string): void {
  try {
    parseGroupId(id);
  } catch {
    throw malformed();
  }
}

function malformed(): TypeError {
  return new TypeError('group state: malformed');
}
