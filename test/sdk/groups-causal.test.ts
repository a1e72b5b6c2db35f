import fc from 'fast-check';
import nacl from 'tweetnacl';
import { toBase64Url } from '../../protocol/base64url';
import { EbbError } from '../../client-sdk/src/errors';
import { changeDigest, changeId, changeSignatureInput, MAX_GROUP_PARENTS, signChange, verifyChange } from '../../client-sdk/src/groups/change';
import {
  addedWithout,
  addMembers,
  createGroup,
  type GroupSigner,
  type GroupState,
  headsOf,
  leaveGroup,
  MAX_KEPT_PENDING,
  openGroup,
  parseGroupState,
  promoteMembers,
  receiveChanges,
  removeMembers,
  renameGroup,
  serializeGroupState,
  type SignedGroupChange,
  snapshotOf,
} from '../../client-sdk/src/groups/state';
import { expectEbb, groupSigner } from '../support/group-signers';

/**
 * The causal order of group changes (ARCH §8.8): parents, admin seniority and the cancelling of what a removed
 * member did that its remover had not seen.
 */

const alice = groupSigner();
const bob = groupSigner();
const carol = groupSigner();
const dave = groupSigner();
const erin = groupSigner();
const frank = groupSigner();
const grace = groupSigner();

/** Receives `changes` in `batches` (lists of indexes), one receive per batch. */
function deliver(state: GroupState, changes: readonly SignedGroupChange[], batches: readonly (readonly number[])[]): GroupState {
  for (const batch of batches)
    state = receiveChanges(
      state,
      batch.map((i) => changes[i]!),
    ).state;
  return state;
}

describe('a removed admin backdating changes', () => {
  /**
   * Alice (creator) promotes Bob; Carol and Dave are members. Alice removes Bob. Afterwards Bob, on the view he
   * had before his removal (naming its heads as parents), signs: remove Alice, promote Carol, add Frank, rename,
   * promote Dave then leave; Carol, on Bob's view with her promotion, adds Erin, and again once she has also
   * seen Alice's removal of Bob.
   */
  function attack(): {
    atAlice: GroupState;
    atCarol: GroupState;
    atDave: GroupState;
    honest: GroupState;
    removal: SignedGroupChange;
    attacks: SignedGroupChange[];
  } {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId, dave.userId] });
    const before = promoteMembers(created.state, alice, [bob.userId]).state;
    const atCarol = openGroup(snapshotOf(before), carol.userId)!.state;
    const atDave = openGroup(snapshotOf(before), dave.userId)!.state;
    const removed = removeMembers(before, alice, [bob.userId]);
    const removal = removed.changes[0]!;
    const stale = headsOf(before);
    const sign = (signer: GroupSigner, at: [number, string[]], change: Parameters<typeof signChange>[4]): SignedGroupChange =>
      signChange(signer, before.id, at[0], at[1], change);
    const removeAlice = sign(bob, stale, { kind: 'remove', members: [alice.userId] });
    const promoteCarol = sign(bob, stale, { kind: 'promote', members: [carol.userId] });
    const addFrank = sign(bob, stale, { kind: 'add', members: [frank.userId] });
    const rename = sign(bob, stale, { kind: 'rename', name: 'bob was here' });
    const promoteDave = sign(bob, stale, { kind: 'promote', members: [dave.userId] });
    const bobLeaves = sign(bob, [promoteDave.epoch + 1, [changeId(promoteDave)]], { kind: 'leave' });
    // Carol as Bob's accomplice: she adds on the view where Bob promoted her, and on one with the removal too.
    const carolsView = receiveChanges(atCarol, [promoteCarol]).state;
    const carolAdds = addMembers(carolsView, carol, [erin.userId]).changes[0]!;
    // Her own SDK refuses this one (the promotion is cancelled in her view): a modified one signs it.
    const carolAddsLater = signChange(carol, before.id, ...headsOf(receiveChanges(carolsView, [removal]).state), {
      kind: 'add',
      members: [grace.userId],
    });
    const attacks = [removeAlice, promoteCarol, addFrank, rename, promoteDave, bobLeaves, carolAdds, carolAddsLater];
    return { atAlice: removed.state, atCarol, atDave, honest: removed.state, removal, attacks };
  }

  const scene = attack();
  const all = [scene.removal, ...scene.attacks];
  const expected = scene.honest.info;

  it('applies none of them, on any member, in any of several delivery orders', () => {
    const n = all.length;
    const orders: number[][][] = [
      [Array.from({ length: n }, (_, i) => i)],
      [Array.from({ length: n }, (_, i) => n - 1 - i)],
      Array.from({ length: n }, (_, i) => [n - 1 - i]),
      [...Array.from({ length: n - 1 }, (_, i) => [i + 1]), [0]],
      [[1, 2, 3], [0], [4, 5, 6, 7, 8]],
    ];
    for (const batches of orders) {
      for (const start of [scene.atAlice, scene.atCarol, scene.atDave]) {
        const final = deliver(start, all, batches);
        expect(final.info).toEqual(expected);
        expect(serializeGroupState(final)).toBe(serializeGroupState(deliver(scene.atAlice, all, [orders[0]![0]!])));
      }
    }
    const results = receiveChanges(scene.atAlice, scene.attacks).results;
    expect(results.map((r) => r.status)).toEqual(Array(scene.attacks.length).fill('refused'));
    // Bob's own are cancelled; Carol's adds fall with the promotion they stood on.
    expect(results.map((r) => r.status === 'refused' && r.reason)).toEqual([
      'cancelled',
      'cancelled',
      'cancelled',
      'cancelled',
      'cancelled',
      'cancelled',
      'not-admin',
      'not-admin',
    ]);
  });

  it('applies none of them in any delivery order and batching (property)', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(all, { minLength: all.length }),
        fc.array(fc.boolean(), { minLength: all.length, maxLength: all.length }),
        fc.constantFrom(scene.atCarol, scene.atDave),
        (order, cuts, start) => {
          let state = start;
          let batch: SignedGroupChange[] = [];
          order.forEach((change, i) => {
            batch.push(change);
            if (cuts[i] || i === order.length - 1) {
              state = receiveChanges(state, batch).state;
              batch = [];
            }
          });
          expect(state.info).toEqual(expected);
        },
      ),
      { numRuns: 20 },
    );
  });

  it('a member that applied them before learning of the removal undoes them, with events', () => {
    const early = receiveChanges(scene.atDave, scene.attacks.slice(1, 5));
    expect(early.state.info.members).toContain(frank.userId);
    expect(early.state.info.name).toBe('bob was here');
    const late = receiveChanges(early.state, [scene.removal]);
    expect(late.state.info).toEqual(expected);
    expect(late.removed.sort()).toEqual([bob.userId, frank.userId].sort());
    expect(late.events.map((e) => e.change)).toEqual(expect.arrayContaining(['members-removed', 'renamed']));
  });

  it("applies none of them through a joining member's snapshot", () => {
    // Dave holds everything; Alice adds Grace, and Grace opens the history Dave or Alice hands over.
    const atDave = receiveChanges(scene.atDave, all).state;
    const joined = addMembers(receiveChanges(scene.atAlice, scene.attacks).state, alice, [frank.userId]);
    const viaAlice = openGroup(snapshotOf(joined.state), frank.userId)!.state;
    const viaDave = openGroup(snapshotOf(receiveChanges(atDave, joined.changes).state), frank.userId)!.state;
    expect(viaAlice.info).toEqual(joined.state.info);
    expect(viaDave.info).toEqual(joined.state.info);
    expect(joined.state.info.members).not.toContain(bob.userId);
    expect(joined.state.info.admins).toEqual([alice.userId]);
    expect(parseGroupState(serializeGroupState(viaDave)).info).toEqual(joined.state.info);
  });

  it('a promote-then-leave that sorts before the removal does not escape it: both are cancelled', () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId, dave.userId] });
    const before = promoteMembers(created.state, alice, [bob.userId]).state;
    // Alice renames a few times before removing Bob, so her removal sorts after Bob's backdated pair.
    let atAlice = before;
    for (const name of ['a', 'b', 'c']) atAlice = renameGroup(atAlice, alice, name).state;
    const removal = removeMembers(atAlice, alice, [bob.userId]).changes[0]!;
    const promote = signChange(bob, before.id, ...headsOf(before), { kind: 'promote', members: [carol.userId] });
    const leave = signChange(bob, before.id, promote.epoch + 1, [changeId(promote)], { kind: 'leave' });
    expect(leave.epoch).toBeLessThan(removal.epoch);
    const carolAdds = signChange(carol, before.id, leave.epoch + 1, [changeId(leave)], { kind: 'add', members: [erin.userId] });
    const all = [...atAlice.changes.slice(2), removal, promote, leave, carolAdds];
    const atDave = openGroup(snapshotOf(before), dave.userId)!.state;
    const one = receiveChanges(atDave, all);
    const other = deliver(atDave, all, [[4, 5, 6], [0, 1], [2], [3]]);
    expect(one.state.info).toEqual({ ...atAlice.info, members: [alice.userId, carol.userId, dave.userId], admins: [alice.userId] });
    expect(one.state.info.admins).toEqual([alice.userId]);
    expect(serializeGroupState(other)).toBe(serializeGroupState(one.state));
    expect(one.results.slice(4).map((r) => r.status === 'refused' && r.reason)).toEqual(['cancelled', 'cancelled', 'not-admin']);
  });

  it("a backdated removal by the removed admin cancels nothing of its victim's", () => {
    // Alice, then Bob, then Carol are admins. Alice removes Bob; Bob, afterwards, backdates a removal of Carol,
    // who meanwhile renames the group. Bob's removal of Carol is cancelled, and with it what it would cancel.
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId, dave.userId] });
    const before = promoteMembers(promoteMembers(created.state, alice, [bob.userId]).state, alice, [carol.userId]).state;
    // Alice adds Erin first, so her removal sorts after Bob's backdated one.
    const added = addMembers(before, alice, [erin.userId]);
    const removal = removeMembers(added.state, alice, [bob.userId]).changes[0]!;
    const backdated = removeMembers(before, bob, [carol.userId]).changes[0]!;
    const rename = renameGroup(before, carol, 'carol was here').changes[0]!;
    expect(backdated.epoch).toBeLessThan(removal.epoch);
    const all = [removal, backdated, rename, ...added.changes];
    const atDave = openGroup(snapshotOf(before), dave.userId)!.state;
    for (const batches of [
      [[0, 1, 2, 3]],
      [[1], [2], [3], [0]],
      [[2], [1], [0, 3]],
      [
        [1, 2],
        [3, 0],
      ],
    ]) {
      const final = deliver(atDave, all, batches);
      expect(final.info.members).toEqual([alice.userId, carol.userId, dave.userId, erin.userId]);
      expect(final.info.admins).toEqual([alice.userId, carol.userId]);
      expect(final.info.name).toBe('carol was here');
    }
  });

  it('the changes the removed admin made before its removal, which its remover had seen, stay', () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId] });
    const promoted = promoteMembers(created.state, alice, [bob.userId]);
    const bobs = openGroup(snapshotOf(promoted.state), bob.userId)!.state;
    const bobAdds = addMembers(bobs, bob, [dave.userId]);
    const atAlice = receiveChanges(promoted.state, bobAdds.changes).state;
    const removal = removeMembers(atAlice, alice, [bob.userId]);
    expect(removal.state.info.members).toEqual([alice.userId, carol.userId, dave.userId]);
    expect(receiveChanges(bobAdds.state, removal.changes).state.info).toEqual(removal.state.info);
  });

  it("an honest leave concurrent with the member's removal ends with the member gone all the same", () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId] });
    const bobs = openGroup(snapshotOf(created.state), bob.userId)!.state;
    const left = leaveGroup(bobs, bob).changes[0]!;
    const removal = removeMembers(created.state, alice, [bob.userId]).changes[0]!;
    const one = receiveChanges(created.state, [left, removal]);
    const other = receiveChanges(receiveChanges(created.state, [removal]).state, [left]);
    expect(one.state.info.members).toEqual([alice.userId, carol.userId]);
    expect(serializeGroupState(one.state)).toBe(serializeGroupState(other.state));
  });
});

describe('convergence with parents and cancellations', () => {
  it('members acting on diverging and stale views (offline, backdated) converge once every change arrives', () => {
    // As the diverging-views property of groups-state.test.ts, but a step may act on any earlier view its actor
    // held (an offline device, or a removed admin backdating), so removals cancel concurrent changes.
    const users = [alice, bob, carol, dave, erin, frank];
    const step = fc.record({
      actor: fc.nat({ max: users.length - 1 }),
      op: fc.constantFrom('add', 'remove', 'rename', 'promote', 'leave'),
      target: fc.nat({ max: users.length - 1 }),
      stale: fc.nat({ max: 3 }),
      reach: fc.array(fc.boolean(), { minLength: users.length, maxLength: users.length }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 4, maxLength: 9 }), (script) => {
        const genesis = createGroup(alice, { name: 'g', members: [bob.userId, carol.userId, dave.userId] }).state;
        const start = promoteMembers(genesis, alice, [bob.userId, carol.userId]);
        const views: GroupState[][] = users.map((u, i) =>
          i < 4 ? [i === 0 ? start.state : openGroup(snapshotOf(start.state), u.userId)!.state] : [],
        );
        const made: SignedGroupChange[] = [...start.changes];
        for (const { actor, op, target, stale, reach } of script) {
          const history = views[actor]!;
          if (history.length === 0) continue;
          const view = history[Math.max(0, history.length - 1 - stale)]!;
          const signer = users[actor]!;
          const who = users[target]!.userId;
          let update;
          try {
            update =
              op === 'add'
                ? addMembers(view, signer, [who])
                : op === 'remove'
                  ? removeMembers(view, signer, [who])
                  : op === 'promote'
                    ? promoteMembers(view, signer, [who])
                    : op === 'rename'
                      ? renameGroup(view, signer, `name ${made.length}`)
                      : leaveGroup(view, signer);
          } catch (err) {
            expect(EbbError.is(err)).toBe(true);
            continue;
          }
          made.push(...update.changes);
          history.push(receiveChanges(history.at(-1)!, update.changes).state);
          users.forEach((u, i) => {
            if (i === actor || !reach[i]) return;
            const own = views[i]!;
            if (own.length > 0) {
              own.push(receiveChanges(own.at(-1)!, update.changes).state);
            } else if (update.state.info.members.includes(u.userId)) own.push(openGroup(snapshotOf(update.state), u.userId)!.state);
          });
        }
        const reference = receiveChanges(genesis, made).state;
        for (const history of views) {
          if (history.length === 0) continue;
          const final = receiveChanges(history.at(-1)!, made).state;
          expect(final.info).toEqual(reference.info);
          expect(serializeGroupState(final)).toBe(serializeGroupState(reference));
        }
      }),
      { numRuns: 15 },
    );
  });
});

describe('admin seniority', () => {
  /** Alice creates; Bob then Carol are promoted: Alice is senior to Bob, Bob to Carol. */
  function ranked(): GroupState {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId, dave.userId] });
    return promoteMembers(promoteMembers(created.state, alice, [bob.userId]).state, alice, [carol.userId]).state;
  }

  it('a junior admin cannot remove a senior one: a typed error locally, nothing signed', () => {
    const state = ranked();
    expectEbb(() => removeMembers(state, bob, [alice.userId]), 'FORBIDDEN', 'not-senior-group-admin');
    expectEbb(() => removeMembers(state, carol, [bob.userId]), 'FORBIDDEN', 'not-senior-group-admin');
    expectEbb(() => removeMembers(state, carol, [dave.userId, alice.userId]), 'FORBIDDEN', 'not-senior-group-admin');
    // Nor itself: it leaves instead.
    expectEbb(() => removeMembers(state, bob, [bob.userId]), 'FORBIDDEN', 'not-senior-group-admin');
    // A senior admin may.
    expect(removeMembers(state, bob, [carol.userId]).state.info.members).not.toContain(carol.userId);
    expect(removeMembers(state, alice, [bob.userId]).state.info.members).not.toContain(bob.userId);
  });

  it("a junior admin's remote remove of a senior one is refused not-senior; the juniors it names go", () => {
    const state = ranked();
    const [epoch, parents] = headsOf(state);
    const onlySenior = signChange(carol, state.id, epoch, parents, { kind: 'remove', members: [alice.userId, bob.userId] });
    const mixed = signChange(bob, state.id, epoch, parents, { kind: 'remove', members: [alice.userId, dave.userId] });
    const received = receiveChanges(state, [onlySenior, mixed]);
    expect(received.results[0]).toMatchObject({ status: 'refused', reason: 'not-senior' });
    expect(received.results[1]).toMatchObject({ status: 'applied' });
    expect(received.state.info.members).toEqual([alice.userId, bob.userId, carol.userId]);
  });

  it('mutual removal cannot happen: the senior one wins in every order', () => {
    const state = ranked();
    const senior = removeMembers(state, bob, [carol.userId]).changes[0]!;
    const [epoch, parents] = headsOf(state);
    const junior = signChange(carol, state.id, epoch, parents, { kind: 'remove', members: [bob.userId] });
    const a = receiveChanges(receiveChanges(state, [junior]).state, [senior]).state;
    const b = receiveChanges(state, [senior, junior]).state;
    expect(a.info.members).toEqual([alice.userId, bob.userId, dave.userId]);
    expect(serializeGroupState(a)).toBe(serializeGroupState(b));
  });

  it('re-promotion ranks afresh, and the automatic promotion ranks at its point', () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId] });
    const promoted = promoteMembers(created.state, alice, [bob.userId]).state;
    // Alice leaves: Bob is the only admin; he promotes Carol, who is junior to him.
    const bobs = receiveChanges(openGroup(snapshotOf(promoted), bob.userId)!.state, leaveGroup(promoted, alice).changes).state;
    const withCarol = promoteMembers(bobs, bob, [carol.userId]).state;
    expectEbb(() => removeMembers(withCarol, carol, [bob.userId]), 'FORBIDDEN', 'not-senior-group-admin');
    expect(removeMembers(withCarol, bob, [carol.userId]).state.info.admins).toEqual([bob.userId]);
    // Only members left with no admin: the longest-standing becomes admin, junior to none.
    const solo = createGroup(alice, { name: 'solo', members: [bob.userId, carol.userId] });
    const auto = receiveChanges(openGroup(snapshotOf(solo.state), bob.userId)!.state, leaveGroup(solo.state, alice).changes).state;
    expect(auto.info.admins).toEqual([bob.userId]);
    expect(removeMembers(auto, bob, [carol.userId]).state.info.members).toEqual([bob.userId]);
  });
});

describe('parents', () => {
  it('a change names the heads it saw, and one made on merged concurrent changes names both', () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId] });
    const promoted = promoteMembers(created.state, alice, [bob.userId]);
    expect(promoted.changes[0]!.parents).toEqual([changeId(created.changes[0]!)]);
    expect(promoted.changes[0]!.epoch).toBe(1);
    const bobs = openGroup(snapshotOf(promoted.state), bob.userId)!.state;
    const x = renameGroup(promoted.state, alice, 'x').changes[0]!;
    const y = addMembers(bobs, bob, [carol.userId]).changes[0]!;
    const merged = receiveChanges(receiveChanges(promoted.state, [x]).state, [y]).state;
    const next = addMembers(merged, alice, [dave.userId]).changes[0]!;
    expect(next.parents).toEqual([changeId(x), changeId(y)].sort((a, b) => Buffer.compare(Buffer.from(a, 'base64url'), Buffer.from(b, 'base64url'))));
    expect(next.epoch).toBe(3);
  });

  it('a change whose parent is missing waits, is stored, and applies when the parent arrives', () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId] });
    const bobs = openGroup(snapshotOf(created.state), bob.userId)!.state;
    const first = addMembers(created.state, alice, [carol.userId]);
    const second = renameGroup(first.state, alice, 'later');
    const waiting = receiveChanges(bobs, second.changes);
    expect(waiting.results[0]).toMatchObject({ status: 'pending' });
    expect(waiting.state.info).toEqual(bobs.info);
    expect(waiting.events).toEqual([]);
    const reloaded = parseGroupState(serializeGroupState(waiting.state));
    expect(reloaded.changes).toHaveLength(2);
    const arrived = receiveChanges(reloaded, first.changes);
    expect(arrived.results[0]).toMatchObject({ status: 'applied' });
    expect(arrived.state.info).toEqual(second.state.info);
    expect(arrived.events.map((e) => e.change).sort()).toEqual(['members-added', 'renamed']);
    // Through a later snapshot too: a joiner given only the later change and then the whole history.
    const viaSnapshot = receiveChanges(waiting.state, snapshotOf(second.state).changes);
    expect(viaSnapshot.state.info).toEqual(second.state.info);
  });

  it(`keeps at most ${MAX_KEPT_PENDING} waiting changes`, () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId] });
    const bobs = openGroup(snapshotOf(created.state), bob.userId)!.state;
    const missing = toBase64Url(nacl.randomBytes(32));
    const orphans = Array.from({ length: MAX_KEPT_PENDING + 3 }, (_, i) =>
      signChange(alice, created.state.id, 5, [missing], { kind: 'rename', name: `orphan ${i}` }),
    );
    const received = receiveChanges(bobs, orphans);
    expect(received.results.every((r) => r.status === 'pending')).toBe(true);
    expect(received.state.changes).toHaveLength(1 + MAX_KEPT_PENDING);
    expect(parseGroupState(serializeGroupState(received.state)).changes).toHaveLength(1 + MAX_KEPT_PENDING);
  });

  it('a change with a wrong epoch, too many parents, a repeated or unsorted parent, or none, is invalid', () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId] });
    const bobs = openGroup(snapshotOf(created.state), bob.userId)!.state;
    const root = changeId(created.changes[0]!);
    const rename = { kind: 'rename', name: 'x' } as const;
    const wrongEpochs = [0, 2, 7].map((epoch) => signChange(alice, created.state.id, epoch, [root], rename));
    const received = receiveChanges(bobs, wrongEpochs);
    expect(received.results.map((r) => r.status)).toEqual(['invalid', 'invalid', 'invalid']);
    expect(received.state).toBe(bobs);
    // Shapes verifyChange refuses whatever the group holds (signChange sorts, so these are edited and re-signed).
    const ids = Array.from({ length: MAX_GROUP_PARENTS + 1 }, () => toBase64Url(nacl.randomBytes(32)));
    const tooMany = signChange(alice, created.state.id, 1, ids, rename);
    expect(verifyChange(tooMany)).toBe(false);
    expect(verifyChange(signChange(alice, created.state.id, 1, ids.slice(0, MAX_GROUP_PARENTS), rename))).toBe(true);
    /** `change` with other parents, signed again by Alice (signChange would sort them). */
    const resigned = (change: SignedGroupChange, parents: string[]): SignedGroupChange => {
      const unsigned = { v: change.v, group: change.group, epoch: change.epoch, parents, author: change.author, change: change.change };
      return { ...unsigned, sig: toBase64Url(nacl.sign.detached(changeSignatureInput(changeDigest(unsigned)), alice.deviceSigningSecretKey)) };
    };
    const genuine = signChange(alice, created.state.id, 1, [root], rename);
    expect(verifyChange(resigned(genuine, [root]))).toBe(true);
    expect(verifyChange(signChange(alice, created.state.id, 1, [root, root], rename))).toBe(false);
    expect(verifyChange(signChange(alice, created.state.id, 1, [], rename))).toBe(false);
    const [a, b] = [ids[0]!, ids[1]!].sort((x, y) => Buffer.compare(Buffer.from(x, 'base64url'), Buffer.from(y, 'base64url')));
    expect(verifyChange(resigned(genuine, [a!, b!]))).toBe(true);
    const unsorted = resigned(genuine, [b!, a!]);
    expect(verifyChange(unsorted)).toBe(false);
    // A create with a parent.
    expect(verifyChange(resigned(created.changes[0]!, [root]))).toBe(false);
    expect(receiveChanges(bobs, [tooMany, unsorted]).results.map((r) => r.status)).toEqual(['invalid', 'invalid']);
  });

  it("names whom to relay another admin's change to: the members added without it, and only while they are members", () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId] });
    const base = promoteMembers(created.state, alice, [bob.userId]).state;
    const bobs = openGroup(snapshotOf(base), bob.userId)!.state;
    // Alice adds Dave while Bob renames twice, unaware of Dave; then Alice adds Erin having seen the first rename.
    const addDave = addMembers(base, alice, [dave.userId]);
    const first = renameGroup(bobs, bob, 'one');
    const second = renameGroup(first.state, bob, 'two');
    const withFirst = receiveChanges(addDave.state, first.changes).state;
    const addErin = addMembers(withFirst, alice, [erin.userId]);
    const all = receiveChanges(addErin.state, second.changes).state;
    expect(addedWithout(all, alice.userId, first.changes[0]!)).toEqual([dave.userId]);
    expect(addedWithout(all, alice.userId, second.changes[0]!).sort()).toEqual([dave.userId, erin.userId].sort());
    // Bob's change made after he saw Dave's add goes to Erin only (her add he had not seen), and one made after
    // both adds to no one; nothing goes to a member gone since.
    const bobSees = renameGroup(receiveChanges(second.state, addDave.changes).state, bob, 'three');
    expect(addedWithout(receiveChanges(all, bobSees.changes).state, alice.userId, bobSees.changes[0]!)).toEqual([erin.userId]);
    const bobSeesAll = renameGroup(receiveChanges(bobSees.state, addErin.changes).state, bob, 'four').changes[0]!;
    expect(addedWithout(receiveChanges(all, [...bobSees.changes, bobSeesAll]).state, alice.userId, bobSeesAll)).toEqual([]);
    const daveGone = removeMembers(all, alice, [dave.userId]).state;
    expect(addedWithout(daveGone, alice.userId, second.changes[0]!)).toEqual([erin.userId]);
  });
});
