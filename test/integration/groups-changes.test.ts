import { type EbbClient, type GroupEvent, type KeyStore } from '../../client-sdk/src';
import { fromBase64Url } from '../../protocol/base64url';
import type { Envelope } from '../../protocol/frames';
import { deserializeState, senderKeyDecrypt } from '../../client-sdk/src/crypto/sender-key';
import { encodeChanges, signChange } from '../../client-sdk/src/groups/change';
import { headsOf, parseGroupState } from '../../client-sdk/src/groups/state';
import { groupAssociatedData } from '../../client-sdk/src/groups/wiring-message';
import { randomId } from '../../client-sdk/src/crypto/random';
import type { Identity } from '../../client-sdk/src/identity/identity';
import { StoreKeys } from '../../client-sdk/src/store/layout';
import { sdkSuite } from '../support/local-stack';
import { inbox, until as untilWithin } from '../support/sdk';

/** Group changes through the local stack (ARCH §8.8): admin rules, removal, late join, leave, convergence. */
/** `until` with room for a busy machine: the conditions are exact, only the patience is longer. */
const until = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) => untilWithin(condition, what, timeoutMs);
// Each test runs several clients end to end; on a shared, busy machine that can take a while.
jest.setTimeout(90_000);
const env = sdkSuite({}, { reconnect: { baseDelayMs: 20, maxDelayMs: 200 } });

/** The SDK internals these attacks reach for: the store, the identity, the outbox and the inbox. */
interface Internals {
  settings: { store: KeyStore };
  identity: Identity;
  outbox: { send(m: { id: string; to: string; body: Uint8Array; control: { type: 'group' } }): Promise<unknown> };
  inbox: { idle(): Promise<void>; receive: (raw: unknown, heldIn?: number) => Promise<void> };
}
const internals = (c: EbbClient) => c as unknown as Internals;

function groupEvents(client: EbbClient): GroupEvent[] {
  const events: GroupEvent[] = [];
  client.on('group', (e) => events.push(e));
  return events;
}

/** Every envelope `client`'s inbox is handed from now on, as the server delivered it. */
function rawEnvelopes(client: EbbClient): Envelope[] {
  const seen: Envelope[] = [];
  const inner = internals(client).inbox;
  const receive = inner.receive.bind(inner);
  inner.receive = (raw: unknown, heldIn?: number) => {
    seen.push(raw as Envelope);
    return receive(raw, heldIn);
  };
  return seen;
}

/** The sender-key state `holder` keeps for `sender`'s device 1 in `group`, as stored now. */
async function heldKey(holder: EbbClient, group: string, sender: string) {
  const text = await internals(holder).settings.store.get(StoreKeys.memberSenderKey(group, sender, 1));
  if (text === undefined) throw new Error('no sender key held');
  return deserializeState((JSON.parse(text) as { current: string }).current);
}

async function ownKeyId(client: EbbClient, group: string): Promise<number> {
  const text = await internals(client).settings.store.get(StoreKeys.ownSenderKey(group));
  return deserializeState((JSON.parse(text!) as { key: string }).key).keyId;
}

/** Whether `state` opens the raw group message `envelope` from `sender`'s device 1. */
function opens(state: ReturnType<typeof deserializeState>, group: string, sender: string, envelope: Envelope): boolean {
  return senderKeyDecrypt(state, fromBase64Url(envelope.ciphertext), groupAssociatedData(group, sender, 1)).ok;
}

async function queuedIds(client: EbbClient): Promise<string[]> {
  const page = await env.stack.ports.queue.page({ userId: client.userId, device: 1 }, null, 100, Date.now());
  return page.messages.map((m) => m.id);
}

async function threeInAGroup() {
  const [alice, bob, carol] = [await env.connected(), await env.connected(), await env.connected()];
  const g = await alice.createGroup({ name: 'ops', members: [bob.userId, carol.userId] });
  await until(() => bob.group(g.id) !== undefined && carol.group(g.id) !== undefined, 'members to hold the group');
  return { alice, bob, carol, g };
}

describe('group changes through the local stack', () => {
  it('ignores a change from a non-admin: a forged add reaches every member and changes nothing', async () => {
    const { alice, bob, carol, g } = await threeInAGroup();
    const dave = await env.connected();
    const [aliceEvents, carolEvents, daveEvents] = [groupEvents(alice), groupEvents(carol), groupEvents(dave)];
    const carolIn = inbox(carol);
    // bob is a member, not an admin: his SDK refuses, so he signs the change himself and sends it as his SDK would.
    // On the history he holds, so the change names its parents and is folded (and refused), not kept waiting.
    const held = JSON.parse((await internals(bob).settings.store.get(StoreKeys.group(g.id)))!) as { state: string };
    const forged = signChange(internals(bob).identity, g.id, ...headsOf(parseGroupState(held.state)), { kind: 'add', members: [dave.userId] });
    for (const to of [alice.userId, carol.userId, dave.userId]) {
      await internals(bob).outbox.send({ id: randomId(16), to, body: encodeChanges([forged]), control: { type: 'group' } });
    }
    await bob.send(carol.userId, 'after the forged change');
    await until(() => carolIn.length === 1, 'the message after the change');
    await new Promise((r) => setTimeout(r, 200));
    expect(carol.group(g.id)).toEqual(g);
    expect(alice.group(g.id)).toEqual(g);
    expect(dave.groups()).toEqual([]);
    expect([...aliceEvents, ...carolEvents, ...daveEvents]).toEqual([]);
  });

  it('removes a member: it gets nothing sent after, and the raw ciphertext does not open under the key it held', async () => {
    const { alice, bob, carol, g } = await threeInAGroup();
    const [bobIn, carolIn] = [inbox(bob), inbox(carol)];
    const [bobEvents, carolEvents] = [groupEvents(bob), groupEvents(carol)];
    const carolRaw = rawEnvelopes(carol);
    await alice.sendToGroup(g.id, 'before');
    await until(() => bobIn.length === 1 && carolIn.length === 1, 'the first message');
    const bobKey = await heldKey(bob, g.id, alice.userId);
    const keyBefore = await ownKeyId(alice, g.id);
    const lastBefore = await alice.sendToGroup(g.id, 'last before');
    await until(() => bobIn.length === 2 && carolIn.length === 2, 'the last message before');

    const after = await alice.removeGroupMembers(g.id, [bob.userId]);
    expect(after.members).toEqual([alice.userId, carol.userId]);
    await until(() => bobEvents.length === 1 && carolEvents.length === 1, 'the removal');
    expect(bobEvents[0]).toMatchObject({ change: 'members-removed', by: alice.userId, members: [bob.userId] });
    expect(bob.groups()).toEqual([]);
    expect(carol.group(g.id)).toEqual(after);

    const secret = await alice.sendToGroup(g.id, 'after');
    await until(() => carolIn.length === 3, 'carol to get the message after');
    expect(await ownKeyId(alice, g.id)).not.toBe(keyBefore);
    const raw = carolRaw.find((e) => e.id === secret.id)!;
    const rawBefore = carolRaw.find((e) => e.id === lastBefore.id)!;
    // The key bob held opens what came before (so this check can fail), and not what came after.
    expect(opens(bobKey, g.id, alice.userId, rawBefore)).toBe(true);
    expect(opens(bobKey, g.id, alice.userId, raw)).toBe(false);
    // Handed the envelope itself, bob's SDK shows nothing; and the service queued nothing for him.
    await internals(bob).inbox.receive(raw);
    await internals(bob).inbox.idle();
    expect(bobIn.map((m) => m.text)).toEqual(['before', 'last before']);
    expect(await queuedIds(bob)).not.toContain(secret.id);
    // bob's own messages to the group are refused: he is in none, and the members dropped his key.
    expect(await bob.sendToGroup(g.id, 'still here?').catch((e: { code: string }) => e.code)).toBe('NOT_FOUND');
  });

  it('drops a group message the service moved: another id, another sender device, another sender, or replayed', async () => {
    const { alice, bob, carol, g } = await threeInAGroup();
    const [bobIn, carolIn] = [inbox(bob), inbox(carol)];
    const carolRaw = rawEnvelopes(carol);
    const sent = await alice.sendToGroup(g.id, 'only once, only from alice');
    await until(() => carolIn.length === 1 && bobIn.length === 1, 'the message');
    const raw = carolRaw.find((e) => e.id === sent.id)!;
    const moved: Envelope[] = [
      { ...raw, id: randomId(16) },
      { ...raw, id: randomId(16), from: { user: alice.userId, device: 2 } },
      { ...raw, id: randomId(16), from: { user: bob.userId, device: 1 } },
      raw,
    ];
    for (const envelope of moved) await internals(carol).inbox.receive(envelope);
    await internals(carol).inbox.idle();
    expect(carolIn.map((m) => m.text)).toEqual(['only once, only from alice']);
  });

  it('adds a member late: it reads from then on, and earlier raw ciphertext does not open under the key it was given', async () => {
    const { alice, bob, carol, g } = await threeInAGroup();
    const dave = await env.connected();
    const [daveIn, carolIn] = [inbox(dave), inbox(carol)];
    const daveEvents = groupEvents(dave);
    const carolRaw = rawEnvelopes(carol);
    const early = await alice.sendToGroup(g.id, 'before dave');
    await until(() => carolIn.length === 1, 'the early message');

    const added = await alice.addGroupMembers(g.id, [dave.userId]);
    expect(added.members).toEqual([alice.userId, bob.userId, carol.userId, dave.userId]);
    await until(() => daveEvents.length === 1, 'dave to join');
    expect(daveEvents[0]).toEqual({ group: added, change: 'members-added', by: alice.userId, members: [dave.userId] });
    await until(() => bob.group(g.id)?.members.length === 4, 'bob to see dave');

    await alice.sendToGroup(g.id, 'welcome dave');
    await bob.sendToGroup(g.id, 'hi dave');
    await until(() => daveIn.length === 2, 'dave to read what follows');
    expect(daveIn.map((m) => m.text).sort()).toEqual(['hi dave', 'welcome dave']);
    const daveKey = await heldKey(dave, g.id, alice.userId);
    const raw = carolRaw.find((e) => e.id === early.id)!;
    expect(opens(daveKey, g.id, alice.userId, raw)).toBe(false);
    await internals(dave).inbox.receive(raw);
    await internals(dave).inbox.idle();
    expect(daveIn.map((m) => m.text)).not.toContain('before dave');
  });

  it('leaves: the others are told, make new keys, and the leaver gets nothing more', async () => {
    const { alice, bob, carol, g } = await threeInAGroup();
    const [bobIn, carolIn] = [inbox(bob), inbox(carol)];
    const [aliceEvents, carolEvents] = [groupEvents(alice), groupEvents(carol)];
    await alice.sendToGroup(g.id, 'one');
    await carol.sendToGroup(g.id, 'from carol');
    await until(() => bobIn.length === 2, 'bob to read both');
    const [aliceKey, carolKey] = [await ownKeyId(alice, g.id), await ownKeyId(carol, g.id)];

    const left = await bob.leaveGroup(g.id);
    expect(left.members).toEqual([alice.userId, carol.userId]);
    expect(bob.groups()).toEqual([]);
    await until(() => aliceEvents.length === 1 && carolEvents.length === 1, 'the others to learn');
    expect(aliceEvents[0]).toMatchObject({ change: 'left', by: bob.userId, members: [bob.userId] });
    const afterA = await alice.sendToGroup(g.id, 'two');
    const afterC = await carol.sendToGroup(g.id, 'carol again');
    await until(() => carolIn.filter((m) => m.text === 'two').length === 1, 'carol to read on');
    expect(await ownKeyId(alice, g.id)).not.toBe(aliceKey);
    expect(await ownKeyId(carol, g.id)).not.toBe(carolKey);
    await new Promise((r) => setTimeout(r, 200));
    expect(bobIn.map((m) => m.text)).toEqual(['one', 'from carol']);
    expect(await queuedIds(bob)).not.toContain(afterA.id);
    expect(await queuedIds(bob)).not.toContain(afterC.id);
  });

  it('converges: two admins renaming, adding and removing at once end with one GroupInfo everywhere', async () => {
    const { alice, bob, carol, g } = await threeInAGroup();
    const dave = await env.connected();
    await alice.promoteGroupMembers(g.id, [bob.userId]);
    await until(() => bob.group(g.id)?.admins.includes(bob.userId) === true, 'bob to be admin');
    await Promise.all([
      alice.renameGroup(g.id, 'by alice'),
      bob.renameGroup(g.id, 'by bob'),
      alice.addGroupMembers(g.id, [dave.userId]),
      bob.removeGroupMembers(g.id, [carol.userId]),
    ]);
    const views = () => [alice.group(g.id), bob.group(g.id), dave.group(g.id)].map((x) => JSON.stringify(x));
    await until(() => new Set(views()).size === 1 && dave.group(g.id) !== undefined, 'every member to hold one group', 10_000);
    const final = alice.group(g.id)!;
    expect(final.members).toEqual([alice.userId, bob.userId, dave.userId]);
    expect(final.admins).toEqual([alice.userId, bob.userId]);
    expect(['by alice', 'by bob']).toContain(final.name);
    await until(() => carol.group(g.id) === undefined, 'carol to learn she was removed');
    // And messages follow the converged membership.
    const daveIn = inbox(dave);
    await bob.sendToGroup(g.id, 'after the dust settled');
    await until(() => daveIn.length === 1, 'dave to read bob');
  });
});
