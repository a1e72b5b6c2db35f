import fc from 'fast-check';
import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { EbbError } from '../../client-sdk/src/errors';
import { certifyDevice, userIdFromSigningKey } from '../../client-sdk/src/identity/keys';
import { changeId, signChange, verifyChange } from '../../client-sdk/src/groups/change';
import { deriveGroupId } from '../../client-sdk/src/groups/group-id';
import {
  addMembers,
  batchChanges,
  createGroup,
  decodeChanges,
  encodeChanges,
  headsOf,
  type GroupSigner,
  type GroupState,
  isGroupId,
  leaveGroup,
  MAX_GROUP_CHANGES,
  MAX_KEPT_REFUSED,
  MAX_MEMBERS_PER_CHANGE,
  openGroup,
  parseGroupId,
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

/** A linked device of the same account as `account`, certified by `accountSecretKey` (or forged). */
function linked(accountPublicKey: Uint8Array, accountSecretKey: Uint8Array, device = 2): GroupSigner {
  const own = nacl.sign.keyPair();
  return {
    userId: userIdFromSigningKey(accountPublicKey),
    device,
    signingPublicKey: accountPublicKey,
    deviceSigningPublicKey: own.publicKey,
    deviceSigningSecretKey: own.secretKey,
    cert: certifyDevice(own.publicKey, accountSecretKey),
  };
}

/** A user id nobody holds a key for. */
function strangerId(): string {
  return toBase64Url(nacl.randomBytes(24));
}

/** `change` with a field changed after signing. */
function edited(change: SignedGroupChange, patch: Partial<SignedGroupChange>): SignedGroupChange {
  return { ...change, ...patch };
}

const alice = groupSigner();
const bob = groupSigner();
const carol = groupSigner();
const dave = groupSigner();
const erin = groupSigner();
const frank = groupSigner();

/** Alice's group with Bob and Carol, as Bob holds it. */
function started(): { alice: GroupState; bob: GroupState } {
  const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId] });
  const opened = openGroup(snapshotOf(created.state), bob.userId)!;
  return { alice: created.state, bob: opened.state };
}

describe('group ids', () => {
  it("are 22 base64url characters, bound to the creator and to the create's content", () => {
    const { alice: state } = started();
    expect(state.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(parseGroupId(state.id)).toBe(state.id);
    const create = state.changes[0]!;
    if (create.change.kind !== 'create') throw new Error('expected a create');
    expect(deriveGroupId(alice.userId, create.change)).toBe(state.id);
    expect(deriveGroupId(bob.userId, create.change)).not.toBe(state.id);
    expect(deriveGroupId(alice.userId, { ...create.change, name: 'other' })).not.toBe(state.id);
    expect(deriveGroupId(alice.userId, { ...create.change, maxMembers: create.change.maxMembers + 1 })).not.toBe(state.id);
    expect(deriveGroupId(alice.userId, { ...create.change, members: create.change.members.slice(1) })).not.toBe(state.id);
  });

  it.each([
    ['too short', 'A'.repeat(21)],
    ['too long', 'A'.repeat(23)],
    ['padded', `${'A'.repeat(20)}==`],
    ['outside the alphabet', `${'A'.repeat(21)}+`],
    ['stray bits in the last character', `${'A'.repeat(21)}B`],
    ['empty', ''],
    ['not a string', 42],
    ['null', null],
  ])('refuses a malformed id (%s) with BAD_REQUEST', (_, id) => {
    expect(isGroupId(id)).toBe(false);
    expectEbb(() => parseGroupId(id), 'BAD_REQUEST', 'malformed-group-id');
  });
});

describe('local changes', () => {
  it('creates with the creator as the only admin, and the event names everyone', () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId, alice.userId] });
    expect(created.state.info).toEqual({
      id: created.state.id,
      name: 'ops',
      members: [alice.userId, bob.userId, carol.userId],
      admins: [alice.userId],
    });
    expect(created.events).toEqual([
      { group: created.state.info, change: 'created', by: alice.userId, members: [alice.userId, bob.userId, carol.userId] },
    ]);
    expect(created.added).toEqual([bob.userId, carol.userId]);
    expect(created.changes).toHaveLength(1);
    expect(created.recipients).toEqual([alice.userId, bob.userId, carol.userId]);
  });

  it('tells every member before and after a change, so a removed member learns it', () => {
    const { alice: as } = started();
    expect(removeMembers(as, alice, [bob.userId]).recipients).toEqual([alice.userId, bob.userId, carol.userId]);
    expect(addMembers(as, alice, [dave.userId]).recipients).toEqual([alice.userId, bob.userId, carol.userId, dave.userId]);
  });

  it('splits a large membership over changes that each stay within MAX_MEMBERS_PER_CHANGE', () => {
    const members = Array.from({ length: MAX_MEMBERS_PER_CHANGE + 10 }, strangerId);
    const created = createGroup(alice, { name: 'big', members });
    expect(created.changes.map((c) => c.change.kind)).toEqual(['create', 'add']);
    expect(created.changes.map((c) => c.epoch)).toEqual([0, 1]);
    expect(created.state.info.members).toEqual([alice.userId, ...members]);
    expect(openGroup(snapshotOf(created.state), members.at(-1)!)!.events[0]).toMatchObject({ change: 'members-added', by: alice.userId });
  });

  it('refuses bad input with typed errors and changes nothing', () => {
    const { alice: state, bob: bobs } = started();
    expectEbb(() => createGroup(alice, { name: '', members: [] }), 'BAD_REQUEST');
    expectEbb(() => createGroup(alice, { name: 'x'.repeat(101), members: [] }), 'BAD_REQUEST');
    expectEbb(() => createGroup(alice, { name: 'a\nb', members: [] }), 'BAD_REQUEST');
    expectEbb(() => createGroup(alice, { name: 'ok', members: ['not a user id'] }), 'BAD_REQUEST');
    expectEbb(() => createGroup(alice, { name: 'ok', members: [bob.userId, bob.userId] }), 'BAD_REQUEST');
    expectEbb(() => addMembers(state, alice, [bob.userId]), 'BAD_REQUEST', 'already-group-member');
    expectEbb(() => addMembers(state, alice, []), 'BAD_REQUEST');
    expectEbb(() => removeMembers(state, alice, [dave.userId]), 'BAD_REQUEST', 'not-group-member');
    expectEbb(() => promoteMembers(state, alice, [alice.userId]), 'BAD_REQUEST', 'already-group-admin');
    expectEbb(() => promoteMembers(state, alice, [dave.userId]), 'BAD_REQUEST', 'not-group-member');
    expectEbb(() => renameGroup(state, alice, 'ops'), 'BAD_REQUEST');
    expectEbb(() => addMembers(bobs, bob, [dave.userId]), 'FORBIDDEN', 'not-group-admin');
    expectEbb(() => renameGroup(bobs, bob, 'mine'), 'FORBIDDEN', 'not-group-admin');
    expectEbb(() => leaveGroup(state, dave), 'FORBIDDEN', 'not-in-group');
    expectEbb(() => renameGroup(state, dave, 'theirs'), 'FORBIDDEN', 'not-in-group');
    expect(state.info.members).toEqual([alice.userId, bob.userId, carol.userId]);
  });

  it('refuses more than maxGroupSize members, at creation and when adding, within the group bound too', () => {
    expectEbb(() => createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId] }, { maxGroupSize: 2 }), 'CONFLICT', 'group-full');
    const { alice: state } = started();
    expect(state.maxMembers).toBe(1000);
    expectEbb(() => addMembers(state, alice, [dave.userId], { maxGroupSize: 3 }), 'CONFLICT', 'group-full');
    expect(addMembers(state, alice, [dave.userId], { maxGroupSize: 4 }).state.info.members).toContain(dave.userId);
    expect(() => createGroup(alice, { name: 'ops', members: [] }, { maxGroupSize: 1 })).toThrow(TypeError);
    expect(() => createGroup(alice, { name: 'ops', members: [] }, { maxGroupSize: 10_001 })).toThrow(TypeError);
    // The deployment raised its limit after the group was made: the group keeps the bound it was made with.
    const small = createGroup(alice, { name: 'small', members: [bob.userId] }, { maxGroupSize: 2 });
    expectEbb(() => addMembers(small.state, alice, [carol.userId], { maxGroupSize: 1000 }), 'CONFLICT', 'group-full');
  });

  it('gives the app frozen copies: editing one cannot edit the group', () => {
    const { alice: state } = started();
    expect(() => (state.info.members as string[]).push(dave.userId)).toThrow(TypeError);
    expect(state.info.members).toHaveLength(3);
  });
});

describe('received changes', () => {
  it('applies an admin change and reports who was added and removed', () => {
    const { alice: as, bob: bs } = started();
    const added = addMembers(as, alice, [dave.userId]);
    const received = receiveChanges(bs, added.changes);
    expect(received.results).toEqual([expect.objectContaining({ status: 'applied', kind: 'add', by: { user: alice.userId, device: 1 } })]);
    expect(received.added).toEqual([dave.userId]);
    expect(received.events).toEqual([{ group: received.state.info, change: 'members-added', by: alice.userId, members: [dave.userId] }]);
    const removed = receiveChanges(received.state, removeMembers(added.state, alice, [carol.userId]).changes);
    expect(removed.removed).toEqual([carol.userId]);
    expect(removed.events).toEqual([{ group: removed.state.info, change: 'members-removed', by: alice.userId, members: [carol.userId] }]);
    expect(receiveChanges(removed.state, added.changes).results[0]!.status).toBe('duplicate');
  });

  it('ignores a forged signature, a foreign key and a forged device cert', () => {
    const { alice: as, bob: bs } = started();
    const genuine = addMembers(as, alice, [dave.userId]).changes[0]!;
    const forgeries: SignedGroupChange[] = [
      // The members edited after signing.
      edited(genuine, { change: { kind: 'add', members: [erin.userId] } }),
      // Another key signs, claiming to be Alice.
      (() => {
        const mallory = groupSigner();
        const signed = signChange({ ...mallory, userId: alice.userId }, as.id, genuine.epoch, genuine.parents, {
          kind: 'add',
          members: [erin.userId],
        });
        return signed;
      })(),
      // Mallory's linked device, certified by Mallory's account key but claiming Alice's account.
      (() => {
        const mallory = nacl.sign.keyPair();
        const device = linked(mallory.publicKey, mallory.secretKey);
        return signChange({ ...device, userId: alice.userId, signingPublicKey: alice.signingPublicKey }, as.id, genuine.epoch, genuine.parents, {
          kind: 'add',
          members: [erin.userId],
        });
      })(),
      // Device 1 presenting a key other than the account key.
      (() => {
        const other = nacl.sign.keyPair();
        return signChange(
          { ...alice, deviceSigningPublicKey: other.publicKey, deviceSigningSecretKey: other.secretKey },
          as.id,
          genuine.epoch,
          genuine.parents,
          {
            kind: 'add',
            members: [erin.userId],
          },
        );
      })(),
      // Flipped signature bit.
      edited(genuine, { sig: toBase64Url(fromBase64Url(genuine.sig).map((b, i) => (i === 0 ? b ^ 1 : b))) }),
      // A second create of the group by someone other than its creator.
      signChange(bob, as.id, 0, [], { kind: 'create', nonce: toBase64Url(nacl.randomBytes(16)), maxMembers: 1000, name: 'mine', members: [] }),
      // A genuine change of another group.
      { ...createGroup(alice, { name: 'other', members: [] }).changes[0]! },
    ];
    const received = receiveChanges(bs, forgeries);
    expect(received.results.map((r) => r.status)).toEqual(Array(forgeries.length).fill('invalid'));
    expect(received.state).toBe(bs);
    expect(received.events).toEqual([]);
  });

  it('accepts a change from a linked device the account certified', () => {
    const account = nacl.sign.keyPair();
    const owner = groupSigner(account);
    const laptop = linked(account.publicKey, account.secretKey, 3);
    const created = createGroup(owner, { name: 'ops', members: [bob.userId] });
    const bs = openGroup(snapshotOf(created.state), bob.userId)!.state;
    const renamed = renameGroup(created.state, laptop, 'from the laptop');
    const received = receiveChanges(bs, renamed.changes);
    expect(received.results[0]).toMatchObject({ status: 'applied', by: { user: owner.userId, device: 3 } });
    expect(received.state.info.name).toBe('from the laptop');
    // The same device key with a cert from another account is refused.
    const stranger = nacl.sign.keyPair();
    const miscertified = edited(renamed.changes[0]!, {
      author: { ...renamed.changes[0]!.author, cert: toBase64Url(certifyDevice(laptop.deviceSigningPublicKey, stranger.secretKey)) },
    });
    expect(receiveChanges(bs, [miscertified]).results[0]!.status).toBe('invalid');
  });

  it("ignores a non-admin's add, remove, rename and promote, and reports why", () => {
    const { alice: as, bob: bs } = started();
    // Carol signs changes as if she were an admin (her own SDK would refuse; a modified one need not).
    const at = headsOf(as);
    const attempts = [
      signChange(carol, as.id, ...at, { kind: 'add', members: [dave.userId] }),
      signChange(carol, as.id, ...at, { kind: 'remove', members: [alice.userId] }),
      signChange(carol, as.id, ...at, { kind: 'rename', name: 'carol rules' }),
      signChange(carol, as.id, ...at, { kind: 'promote', members: [carol.userId] }),
    ];
    const received = receiveChanges(bs, attempts);
    expect(received.results.map((r) => r.status === 'refused' && r.reason)).toEqual(['not-admin', 'not-admin', 'not-admin', 'not-admin']);
    expect(received.state.info).toEqual(bs.info);
    expect(received.events).toEqual([]);
    // A stranger's change is refused too, even its leave.
    const strangers = receiveChanges(bs, [
      signChange(dave, as.id, ...at, { kind: 'leave' }),
      signChange(dave, as.id, ...at, { kind: 'add', members: [dave.userId] }),
    ]);
    expect(strangers.results.map((r) => r.status === 'refused' && r.reason)).toEqual(['not-member', 'not-member']);
    expect(strangers.state.info).toEqual(bs.info);
  });

  it('lets any member leave, and only themselves', () => {
    const { alice: as, bob: bs } = started();
    const left = leaveGroup(bs, bob);
    expect(left.removed).toEqual([bob.userId]);
    expect(left.events).toEqual([{ group: left.state.info, change: 'left', by: bob.userId, members: [bob.userId] }]);
    const atAlice = receiveChanges(as, left.changes);
    expect(atAlice.state.info.members).toEqual([alice.userId, carol.userId]);
    expect(atAlice.removed).toEqual([bob.userId]);
    // A leave names no one: its author is who leaves. Bob cannot make Carol leave.
    expect(atAlice.state.info.members).toContain(carol.userId);
  });

  it('refuses a remove of non-members, an add of members, and an add past the group bound', () => {
    const { alice: as, bob: bs } = started();
    const at = headsOf(as);
    const received = receiveChanges(bs, [
      signChange(alice, as.id, ...at, { kind: 'remove', members: [dave.userId] }),
      signChange(alice, as.id, ...at, { kind: 'add', members: [bob.userId] }),
      signChange(alice, as.id, ...at, { kind: 'promote', members: [alice.userId] }),
    ]);
    expect(received.results.map((r) => r.status === 'refused' && r.reason).sort()).toEqual(['already-admin', 'already-member', 'no-such-member']);
    // A group made under a maxGroupSize of 3 refuses a fourth member, from a modified SDK too.
    const small = createGroup(alice, { name: 'small', members: [bob.userId, carol.userId] }, { maxGroupSize: 3 });
    expect(small.state.maxMembers).toBe(3);
    const atBob = openGroup(snapshotOf(small.state), bob.userId)!.state;
    const over = receiveChanges(atBob, [signChange(alice, small.state.id, ...headsOf(small.state), { kind: 'add', members: [dave.userId] })]);
    expect(over.results[0]).toMatchObject({ status: 'refused', reason: 'group-full' });
    expect(over.state.info.members).toHaveLength(3);
    // The bound is the group's own, signed at creation: a member's later config does not change the fold.
    expect(parseGroupState(serializeGroupState(over.state)).info).toEqual(over.state.info);
  });

  it('applies an add that names a member already in, to the others only (an add race)', () => {
    const { alice: as } = started();
    const promoted = promoteMembers(as, alice, [bob.userId]);
    const bs = openGroup(snapshotOf(promoted.state), bob.userId)!.state;
    const byAlice = addMembers(promoted.state, alice, [dave.userId]);
    const byBob = addMembers(bs, bob, [dave.userId, erin.userId]);
    const merged = receiveChanges(byAlice.state, byBob.changes);
    expect([...merged.state.info.members].sort()).toEqual([alice.userId, bob.userId, carol.userId, dave.userId, erin.userId].sort());
  });
});

describe('the last admin', () => {
  it('leaving makes the longest-standing member admin, on every member alike', () => {
    const { alice: as, bob: bs } = started();
    const left = leaveGroup(as, alice);
    expect(left.state.info.admins).toEqual([bob.userId]);
    expect(left.events.map((e) => [e.change, e.by, e.members])).toEqual([
      ['left', alice.userId, [alice.userId]],
      ['promoted', alice.userId, [bob.userId]],
    ]);
    const atBob = receiveChanges(bs, left.changes);
    expect(atBob.state.info).toEqual(left.state.info);
    expect(atBob.events).toEqual(left.events.map((e) => ({ ...e, group: atBob.state.info })));
    // Bob now acts as admin, and Carol's copy accepts it.
    const renamed = renameGroup(atBob.state, bob, 'bob now');
    const carols = openGroup(snapshotOf(as), carol.userId)!.state;
    const atCarol = receiveChanges(carols, [...renamed.changes, ...left.changes]);
    expect(atCarol.results.map((r) => r.status)).toEqual(['applied', 'applied']);
    expect(atCarol.state.info).toMatchObject({ name: 'bob now', admins: [bob.userId] });
  });

  it('removing the only other admin and leaving still leaves an admin', () => {
    const { alice: as } = started();
    const promoted = promoteMembers(as, alice, [carol.userId]);
    const removed = removeMembers(promoted.state, alice, [carol.userId]);
    const left = leaveGroup(removed.state, alice);
    expect(left.state.info).toMatchObject({ members: [bob.userId], admins: [bob.userId] });
  });

  it('the last member leaving leaves an empty group', () => {
    const created = createGroup(alice, { name: 'solo', members: [] });
    expect(leaveGroup(created.state, alice).state.info).toMatchObject({ members: [], admins: [] });
  });
});

describe('joining', () => {
  it('a new member checks the snapshot from the root and learns who added it', () => {
    const { alice: as } = started();
    const added = addMembers(as, alice, [dave.userId]);
    const opened = openGroup(snapshotOf(added.state), dave.userId)!;
    expect(opened.state.info).toEqual(added.state.info);
    expect(opened.events).toEqual([{ group: opened.state.info, change: 'members-added', by: alice.userId, members: [dave.userId] }]);
    expect(opened.added).toEqual([alice.userId, bob.userId, carol.userId]);
  });

  it("opens on the creator's other devices too, as the group it created", () => {
    const { alice: as } = started();
    const opened = openGroup(snapshotOf(as), alice.userId)!;
    expect(opened.state.info).toEqual(as.info);
    expect(opened.events).toEqual([{ group: opened.state.info, change: 'created', by: alice.userId, members: [...as.info.members] }]);
  });

  it("refuses a snapshot in which a non-admin added the joiner, or one that was not the group's creation", () => {
    const { alice: as } = started();
    // A create that names its creator among the members too.
    const genesis = {
      kind: 'create' as const,
      nonce: toBase64Url(nacl.randomBytes(16)),
      maxMembers: 10,
      name: 'x',
      members: [alice.userId, dave.userId],
    };
    const twice = signChange(alice, deriveGroupId(alice.userId, genesis), 0, [], genesis);
    expect(openGroup({ v: 2, group: twice.group, changes: [twice] }, dave.userId)).toBeNull();
    // Bob, not an admin, signs an add of Dave and hands Dave the history.
    const forged = signChange(bob, as.id, ...headsOf(as), { kind: 'add', members: [dave.userId] });
    expect(openGroup({ v: 2, group: as.id, changes: [...as.changes, forged] }, dave.userId)).toBeNull();
    // Bob invents a history for Alice's group id, founding it himself.
    const fakeRoot = signChange(bob, as.id, 0, [], {
      kind: 'create',
      nonce: toBase64Url(nacl.randomBytes(16)),
      maxMembers: 1000,
      name: 'fake',
      members: [dave.userId],
    });
    expect(openGroup({ v: 2, group: as.id, changes: [fakeRoot] }, dave.userId)).toBeNull();
    // The history without its root.
    const added = addMembers(as, alice, [dave.userId]);
    expect(openGroup({ v: 2, group: as.id, changes: added.state.changes.slice(1) }, dave.userId)).toBeNull();
    // A snapshot that does not make the reader a member.
    expect(openGroup(snapshotOf(as), dave.userId)).toBeNull();
  });

  it('travels as encoded change lists, batched under a byte bound', () => {
    const members = Array.from({ length: 600 }, strangerId);
    const created = createGroup(alice, { name: 'big', members });
    const batches = batchChanges(created.state.changes, 12_000);
    expect(batches.length).toBeGreaterThan(1);
    for (const batch of batches) expect(encodeChanges(batch).length).toBeLessThanOrEqual(12_000);
    const decoded = batches.flatMap((b) => decodeChanges(encodeChanges(b))!);
    expect(openGroup({ v: 2, group: created.state.id, changes: decoded }, members[599]!)!.state.info).toEqual(created.state.info);
    expect(decodeChanges(new TextEncoder().encode('[{"v":2}]'))).toBeNull();
    // A create that starts with more members than its own bound.
    const create = created.state.changes[0]!;
    const overfull = { ...create, change: { ...create.change, maxMembers: 2 } };
    expect(decodeChanges(encodeChanges([overfull]))).toBeNull();
    expect(decodeChanges(encodeChanges([create]))).toEqual([create]);
    expect(decodeChanges(new Uint8Array([0xff]))).toBeNull();
  });
});

describe('concurrent changes', () => {
  /**
   * Alice and Bob are admins (Alice senior); Carol and Dave members. On the same state: Alice removes Bob, Bob
   * (a modified SDK) removes Alice, Bob adds Erin, both rename, Carol (not an admin) renames, Dave leaves while
   * Alice removes him. Then, on states that saw some of those: Alice adds Frank, Erin renames, Carol leaves.
   * Bob's changes concurrent with his removal are cancelled, Dave's leave too (Alice had not seen it).
   */
  function scenario(): { base: GroupState; changes: SignedGroupChange[] } {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId, dave.userId] });
    const base = promoteMembers(created.state, alice, [bob.userId]).state;
    const alicesRemove = removeMembers(base, alice, [bob.userId]);
    const bobsAdd = addMembers(base, bob, [erin.userId]);
    const first = [
      alicesRemove.changes[0]!,
      signChange(bob, base.id, ...headsOf(base), { kind: 'remove', members: [alice.userId] }),
      bobsAdd.changes[0]!,
      renameGroup(base, alice, 'alpha').changes[0]!,
      renameGroup(base, bob, 'beta').changes[0]!,
      signChange(carol, base.id, ...headsOf(base), { kind: 'rename', name: 'gamma' }),
      leaveGroup(base, dave).changes[0]!,
      removeMembers(base, alice, [dave.userId]).changes[0]!,
    ];
    const later = [
      addMembers(alicesRemove.state, alice, [frank.userId]).changes[0]!,
      signChange(erin, base.id, ...headsOf(bobsAdd.state), { kind: 'rename', name: 'erin' }),
      leaveGroup(receiveChanges(base, [first[6]!]).state, carol).changes[0]!,
    ];
    return { base, changes: [...first, ...later] };
  }

  const { base, changes } = scenario();
  const reference = receiveChanges(base, changes).state;

  it('the scenario is a real conflict: some changes apply, others are refused', () => {
    const results = receiveChanges(base, changes).results;
    expect(results.filter((r) => r.status === 'applied').length).toBeGreaterThan(2);
    expect(results.filter((r) => r.status === 'refused').length).toBeGreaterThan(2);
    // Alice and Bob removed each other at the same epoch: the senior one stays, whatever the ids.
    expect(reference.info.members).toContain(alice.userId);
    expect(reference.info.members).not.toContain(bob.userId);
    expect(results.filter((r) => r.status === 'refused' && r.reason === 'cancelled').length).toBeGreaterThan(1);
    expect(reference.info.admins.length).toBeGreaterThan(0);
  });

  it('every delivery order and batching of the same changes gives the same group', () => {
    fc.assert(
      fc.property(
        fc.shuffledSubarray(changes, { minLength: changes.length }),
        fc.array(fc.boolean(), { minLength: changes.length, maxLength: changes.length }),
        (order, cuts) => {
          let state = base;
          let batch: SignedGroupChange[] = [];
          order.forEach((change, i) => {
            batch.push(change);
            if (cuts[i] || i === order.length - 1) {
              state = receiveChanges(state, batch).state;
              batch = [];
            }
          });
          expect(state.info).toEqual(reference.info);
          expect(serializeGroupState(state)).toBe(serializeGroupState(reference));
        },
      ),
      { numRuns: 25 },
    );
  });

  it('members that make changes on diverging views, each seeing some of the others, converge once all arrive', () => {
    // Six users; the first creates the group with the next three. Each step, one user makes a change on its
    // own view (if its SDK allows it there) and the change reaches a random subset of the others, so views
    // diverge and later changes are made on different histories. At the end every view gets every change.
    const users = [alice, bob, carol, dave, erin, frank];
    const step = fc.record({
      actor: fc.nat({ max: users.length - 1 }),
      op: fc.constantFrom('add', 'remove', 'rename', 'promote', 'leave'),
      target: fc.nat({ max: users.length - 1 }),
      reach: fc.array(fc.boolean(), { minLength: users.length, maxLength: users.length }),
    });
    fc.assert(
      fc.property(fc.array(step, { minLength: 3, maxLength: 7 }), (script) => {
        const genesis = createGroup(alice, { name: 'g', members: [bob.userId, carol.userId, dave.userId] }).state;
        const views: (GroupState | null)[] = users.map((u, i) => (i < 4 ? openGroup(snapshotOf(genesis), u.userId)!.state : null));
        views[0] = genesis;
        const made: SignedGroupChange[] = [];
        for (const { actor, op, target, reach } of script) {
          const view = views[actor];
          if (!view) continue;
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
          views[actor] = update.state;
          users.forEach((u, i) => {
            if (i === actor || !reach[i]) return;
            const other = views[i];
            if (other) views[i] = receiveChanges(other, update.changes).state;
            else if (update.state.info.members.includes(u.userId)) views[i] = openGroup(snapshotOf(update.state), u.userId)!.state;
          });
        }
        const reference = receiveChanges(genesis, made).state;
        for (const view of views) {
          if (!view) continue;
          const final = receiveChanges(view, made).state;
          expect(final.info).toEqual(reference.info);
          expect(serializeGroupState(final)).toBe(serializeGroupState(reference));
        }
      }),
      { numRuns: 12 },
    );
  });

  it('a late change that re-orders history reports the net effect, credited to who caused it', () => {
    // Bob adds someone while Alice removes Bob, at the same epoch. Delivered add first, then the removal:
    // the add is cancelled (by Bob, unseen by Alice's removal) and undone, whichever sorts first.
    const created = createGroup(alice, { name: 'ops', members: [bob.userId, carol.userId] });
    const base2 = promoteMembers(created.state, alice, [bob.userId]).state;
    const remove = removeMembers(base2, alice, [bob.userId]).changes[0]!;
    let add: SignedGroupChange;
    let newcomer: string;
    do {
      // Signatures are deterministic: another newcomer gives another id.
      newcomer = strangerId();
      add = addMembers(base2, bob, [newcomer]).changes[0]!;
    } while (changeId(add) < changeId(remove));
    const afterAdd = receiveChanges(base2, [add]);
    expect(afterAdd.added).toEqual([newcomer]);
    const afterRemove = receiveChanges(afterAdd.state, [remove]);
    expect(afterRemove.results[0]!.status).toBe('applied');
    expect([...afterRemove.removed].sort()).toEqual([bob.userId, newcomer].sort());
    expect(afterRemove.events).toEqual([
      { group: afterRemove.state.info, change: 'members-removed', by: alice.userId, members: [bob.userId, newcomer] },
    ]);
    expect(receiveChanges(base2, [remove, add]).state.info).toEqual(afterRemove.state.info);
  });
});

describe('a second create', () => {
  it('by the creator, of the same id with other content, cannot be made: the id does not check', () => {
    const created = createGroup(alice, { name: 'ops', members: [bob.userId] });
    const first = created.changes[0]!;
    if (first.change.kind !== 'create') throw new Error('expected a create');
    const second = signChange(alice, created.state.id, 0, [], { ...first.change, name: 'other', members: [bob.userId, carol.userId] });
    expect(verifyChange(second)).toBe(false);
    const atBob = openGroup({ v: 2, group: created.state.id, changes: [first] }, bob.userId)!.state;
    expect(receiveChanges(atBob, [second]).results[0]!.status).toBe('invalid');
    expect(openGroup({ v: 2, group: created.state.id, changes: [second] }, bob.userId)).toBeNull();
    expect(openGroup({ v: 2, group: created.state.id, changes: [second] }, carol.userId)).toBeNull();
  });
});

describe('the cost of checking', () => {
  afterEach(() => jest.restoreAllMocks());

  it('verifies a change once: seen again, it costs a hash, and any edit of it is verified afresh', () => {
    const { alice: as } = started();
    const change = addMembers(as, alice, [dave.userId]).changes[0]!;
    const verify = jest.spyOn(nacl.sign.detached, 'verify');
    expect(verifyChange(change)).toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
    expect(verifyChange(change)).toBe(true);
    expect(verify).toHaveBeenCalledTimes(1);
    const other = nacl.sign.keyPair();
    expect(verifyChange({ ...change, sig: toBase64Url(nacl.sign.detached(new Uint8Array(1), other.secretKey)) })).toBe(false);
    expect(verifyChange({ ...change, author: { ...change.author, accountKey: toBase64Url(other.publicKey) } })).toBe(false);
    expect(verifyChange({ ...change, change: { kind: 'add', members: [erin.userId] } })).toBe(false);
    // The parents are signed too: other parents, or the same ones at another epoch, are another change.
    expect(verifyChange({ ...change, parents: [toBase64Url(nacl.randomBytes(32))] })).toBe(false);
    expect(verifyChange({ ...change, epoch: change.epoch + 1 })).toBe(false);
    expect(verify).toHaveBeenCalledTimes(5);
  });

  it('opens no signature for a snapshot with no root of its id, or one that never names the reader', () => {
    const { alice: as } = started();
    const added = addMembers(as, alice, [dave.userId]);
    const verify = jest.spyOn(nacl.sign.detached, 'verify');
    expect(openGroup({ v: 2, group: as.id, changes: added.state.changes.slice(1) }, dave.userId)).toBeNull();
    expect(openGroup(snapshotOf(added.state), erin.userId)).toBeNull();
    expect(verify).not.toHaveBeenCalled();
  });
});

describe('bounds', () => {
  it(`applies at most ${MAX_GROUP_CHANGES} changes, then refuses more`, () => {
    let state = createGroup(alice, { name: 'n0', members: [] }).state;
    for (let i = 1; i < MAX_GROUP_CHANGES; i++) state = renameGroup(state, alice, `n${i}`).state;
    expectEbb(() => renameGroup(state, alice, 'one more'), 'CONFLICT', 'group-history-full');
    const late = signChange(alice, state.id, ...headsOf(state), { kind: 'rename', name: 'one more' });
    const received = receiveChanges(state, [late]);
    expect(received.results[0]).toMatchObject({ status: 'refused', reason: 'history-full' });
    expect(received.state.info.name).toBe(`n${MAX_GROUP_CHANGES - 1}`);
  });

  it("nobody picks an epoch: a change at the last epoch, a stranger's or an admin's, is invalid and uses up nothing", () => {
    const { alice: as, bob: bs } = started();
    const [, parents] = headsOf(bs);
    const far = signChange(dave, as.id, 0xffffffff, parents, { kind: 'rename', name: 'far' });
    const last = signChange(alice, as.id, 0xffffffff, parents, { kind: 'rename', name: 'last' });
    const received = receiveChanges(bs, [far, last]);
    expect(received.results.map((r) => r.status)).toEqual(['invalid', 'invalid']);
    expect(received.state).toBe(bs);
    expect(renameGroup(received.state, alice, 'still fine').changes[0]!.epoch).toBe(as.epoch + 1);
  });

  it(`keeps at most ${MAX_KEPT_REFUSED} refused changes`, () => {
    const { bob: bs } = started();
    const spam = Array.from({ length: MAX_KEPT_REFUSED + 5 }, (_, i) =>
      signChange(carol, bs.id, ...headsOf(bs), { kind: 'rename', name: `spam ${i}` }),
    );
    const received = receiveChanges(bs, spam);
    expect(received.results.every((r) => r.status === 'refused')).toBe(true);
    expect(received.state.changes).toHaveLength(bs.changes.length + MAX_KEPT_REFUSED);
    expect(received.state.info).toEqual(bs.info);
  });
});

describe('the stored form', () => {
  /** A group with changes by a linked device and one refused change kept. */
  function grown(): GroupState {
    const { alice: as } = started();
    const account = nacl.sign.keyPair();
    const laptop = linked(account.publicKey, account.secretKey);
    const added = addMembers(as, alice, [laptop.userId]);
    const promoted = promoteMembers(added.state, alice, [laptop.userId]);
    const renamed = renameGroup(promoted.state, laptop, 'renamed by a laptop');
    return receiveChanges(renamed.state, [signChange(carol, as.id, ...headsOf(renamed.state), { kind: 'rename', name: 'carol' })]).state;
  }
  const state = grown();
  const stored = JSON.parse(serializeGroupState(state)) as { v: number; id: string; changes: SignedGroupChange[] };

  it('round-trips', () => {
    const text = serializeGroupState(state);
    expect(stored).toMatchObject({ v: 2, id: state.id });
    expect(stored.changes).toHaveLength(5);
    const back = parseGroupState(text);
    expect(back.info).toEqual(state.info);
    expect(back.changes).toEqual(state.changes);
    expect(serializeGroupState(back)).toBe(text);
    // And it goes on working: a change made on the loaded state is accepted by the original.
    const next = addMembers(back, alice, [erin.userId]);
    expect(receiveChanges(state, next.changes).state.info.members).toContain(erin.userId);
  });

  it.each<[string, () => unknown]>([
    [
      'a member swapped in a signed change',
      () => ({ ...stored, changes: stored.changes.map((c, i) => (i === 1 ? { ...c, change: { kind: 'add', members: [erin.userId] } } : c)) }),
    ],
    [
      'a signature flipped',
      () => ({
        ...stored,
        changes: stored.changes.map((c, i) => (i === 3 ? { ...c, sig: toBase64Url(fromBase64Url(c.sig).map((b, j) => (j === 5 ? b ^ 4 : b))) } : c)),
      }),
    ],
    ['changes out of order', () => ({ ...stored, changes: [stored.changes[0], stored.changes[2], stored.changes[1], ...stored.changes.slice(3)] })],
    ['a change repeated', () => ({ ...stored, changes: [...stored.changes, stored.changes[1]] })],
    ['the root missing', () => ({ ...stored, changes: stored.changes.slice(1) })],
    ['no changes', () => ({ ...stored, changes: [] })],
    ['another version (v1: changes without parents)', () => ({ ...stored, v: 1 })],
    ['another group id', () => ({ ...stored, id: createGroup(alice, { name: 'x', members: [] }).state.id })],
    ['a malformed group id', () => ({ ...stored, id: 'nope' })],
    ['an extra field', () => ({ ...stored, members: [alice.userId] })],
    ['an extra field in a change', () => ({ ...stored, changes: stored.changes.map((c, i) => (i === 1 ? { ...c, admin: true } : c)) })],
    ['a change of another group', () => ({ ...stored, changes: [...stored.changes, createGroup(alice, { name: 'y', members: [] }).changes[0]] })],
  ])('refuses stored state with %s', (_, tampered) => {
    expect(() => parseGroupState(JSON.stringify(tampered()))).toThrow(new TypeError('group state: malformed'));
  });

  it('refuses text that is not JSON, without echoing it', () => {
    expect(() => parseGroupState('{"secret')).toThrow(new TypeError('group state: malformed'));
  });

  it('refuses more refused changes than the bound keeps (only an edit could store them)', () => {
    const { bob: bs } = started();
    const spam = Array.from({ length: MAX_KEPT_REFUSED + 1 }, (_, i) =>
      signChange(carol, bs.id, ...headsOf(bs), { kind: 'rename', name: `spam ${i}` }),
    );
    const sorted = [...bs.changes, ...spam].sort((a, b) => a.epoch - b.epoch || (changeId(a) < changeId(b) ? -1 : 1));
    expect(() => parseGroupState(JSON.stringify({ v: 2, id: bs.id, changes: sorted }))).toThrow(new TypeError('group state: malformed'));
    expect(() => parseGroupState(JSON.stringify({ v: 2, id: bs.id, changes: sorted.slice(0, -1) }))).not.toThrow();
  });
});
