import { EbbClient, EbbError, MemoryStore, type GroupEvent, type SentMessage } from '../../client-sdk/src';
import { sdkSuite } from '../support/local-stack';
import { codeOf, inbox, until as untilWithin } from '../support/sdk';

/** Groups through the local stack (ARCH §8.8, §8.9): create, talk, devices, order, typed errors. */
/** `until` with room for a busy machine: the conditions are exact, only the patience is longer. */
const until = (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 20_000) => untilWithin(condition, what, timeoutMs);
// Each test runs several clients end to end; on a shared, busy machine that can take a while.
jest.setTimeout(90_000);
const env = sdkSuite({}, { reconnect: { baseDelayMs: 20, maxDelayMs: 200 } });

function groupEvents(client: EbbClient): GroupEvent[] {
  const events: GroupEvent[] = [];
  client.on('group', (e) => events.push(e));
  return events;
}

function sentLog(client: EbbClient): SentMessage[] {
  const sent: SentMessage[] = [];
  client.on('sent', (s) => sent.push(s));
  return sent;
}

/** A second device of `phone`'s account, linked and connected. */
async function link(phone: EbbClient): Promise<EbbClient> {
  const device = await env.client(new MemoryStore());
  const { code, linked } = await device.startLink();
  await phone.approveLink(code, { name: 'laptop' });
  await linked;
  await device.connect();
  return device;
}

/** Counts the `fanout` and `send` frames a client writes from now on. */
function frameLog(client: EbbClient): { action: string; recipients?: number }[] {
  const frames: { action: string; recipients?: number }[] = [];
  const connection = (client as unknown as { connection: { request: (action: string, body: unknown) => Promise<unknown> } }).connection;
  const request = connection.request.bind(connection);
  connection.request = (action, body) => {
    if (action === 'fanout') {
      const b = body as { recipients: { devices: number[] }[] };
      frames.push({ action, recipients: b.recipients.reduce((n, r) => n + r.devices.length, 0) });
    } else if (action === 'send') frames.push({ action });
    return request(action, body);
  };
  return frames;
}

describe('groups through the local stack', () => {
  it('creates a group: every member holds the same GroupInfo and gets a created event', async () => {
    const [alice, bob, carol] = [await env.connected(), await env.connected(), await env.connected()];
    const [bobEvents, carolEvents, aliceEvents] = [groupEvents(bob), groupEvents(carol), groupEvents(alice)];
    const g = await alice.createGroup({ name: 'ops', members: [bob.userId, carol.userId] });
    expect(g.id).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(g).toEqual({ id: g.id, name: 'ops', members: [alice.userId, bob.userId, carol.userId], admins: [alice.userId] });
    expect(aliceEvents).toEqual([{ group: g, change: 'created', by: alice.userId, members: g.members }]);
    await until(() => bobEvents.length === 1 && carolEvents.length === 1, 'members to learn of the group');
    expect(bobEvents[0]).toEqual({ group: g, change: 'created', by: alice.userId, members: g.members });
    expect(bob.group(g.id)).toEqual(g);
    expect(carol.groups()).toEqual([g]);
    expect(alice.groups()).toEqual([g]);
  });

  it('talks: one fanout frame per message reaches every member device, linked ones and own others included, in per-sender order', async () => {
    const [alice, bob, carol] = [await env.connected(), await env.connected(), await env.connected()];
    const bobLaptop = await link(bob);
    const aliceLaptop = await link(alice);
    const g = await alice.createGroup({ name: 'ops', members: [bob.userId, carol.userId] });
    await until(() => bob.group(g.id) !== undefined && carol.group(g.id) !== undefined && bobLaptop.group(g.id) !== undefined, 'the group');
    await until(() => aliceLaptop.group(g.id) !== undefined, 'alice laptop to hold the group');
    const [bobIn, laptopIn, carolIn, aliceIn] = [inbox(bob), inbox(bobLaptop), inbox(carol), inbox(alice)];
    const aliceLaptopSent = sentLog(aliceLaptop);

    const frames = frameLog(alice);
    const texts = ['one', 'two', 'three', 'four', 'five'];
    const results = [];
    for (const text of texts) results.push(await alice.sendToGroup(g.id, text));
    const fanouts = frames.filter((f) => f.action === 'fanout');
    // One frame per message after the first, which also carried the keys' distribution over pairwise `send`s.
    expect(fanouts).toHaveLength(texts.length);
    // bob's two devices, carol's, alice's laptop.
    expect(fanouts.every((f) => f.recipients === 4)).toBe(true);
    expect(frames.slice(frames.indexOf(fanouts[0]!) + 1).every((f) => f.action === 'fanout')).toBe(true);

    await until(() => bobIn.length === 5 && laptopIn.length === 5 && carolIn.length === 5, 'every member device to get all five');
    for (const received of [bobIn, laptopIn, carolIn]) {
      expect(received.map((m) => m.text)).toEqual(texts);
      expect(received.every((m) => m.group === g.id && m.from === alice.userId && m.fromDevice === 1)).toBe(true);
      expect(received.map((m) => m.id)).toEqual(results.map((r) => r.id));
    }
    await until(() => aliceLaptopSent.length === 5, 'sent copies on alice laptop');
    expect(aliceLaptopSent.map((s) => [s.text, s.group, s.to])).toEqual(texts.map((t) => [t, g.id, g.id]));

    // Replies from other members, each in their own order.
    await carol.sendToGroup(g.id, 'carol 1');
    await bobLaptop.sendToGroup(g.id, 'bob laptop 1');
    await carol.sendToGroup(g.id, 'carol 2');
    await until(() => aliceIn.length === 3 && bobIn.length === 7, 'replies');
    expect(aliceIn.filter((m) => m.from === carol.userId).map((m) => m.text)).toEqual(['carol 1', 'carol 2']);
    expect(aliceIn.find((m) => m.from === bob.userId)).toMatchObject({ text: 'bob laptop 1', fromDevice: bobLaptop.device, group: g.id });
    expect(bobIn.slice(5).map((m) => m.text)).toEqual(['carol 1', 'carol 2']);
    expect(carolIn).toHaveLength(6);
  });

  it('a device linked after the group was made gets its history from its account and reads on', async () => {
    const [alice, bob] = [await env.connected(), await env.connected()];
    const g = await alice.createGroup({ name: 'ops', members: [bob.userId] });
    await until(() => bob.group(g.id) !== undefined, 'bob to hold the group');
    const aliceIn = inbox(alice);
    await alice.sendToGroup(g.id, 'before the laptop');
    const laptop = await link(bob);
    await until(() => laptop.group(g.id) !== undefined, 'the laptop to get the group from bob');
    expect(laptop.group(g.id)).toEqual(bob.group(g.id));
    const laptopIn = inbox(laptop);
    await alice.sendToGroup(g.id, 'after the laptop');
    await until(() => laptopIn.length === 1, 'the laptop to read alice');
    expect(laptopIn[0]).toMatchObject({ text: 'after the laptop', group: g.id, from: alice.userId });
    await laptop.sendToGroup(g.id, 'from the laptop');
    await until(() => aliceIn.length === 1, 'alice to read the laptop');
    expect(aliceIn[0]).toMatchObject({ text: 'from the laptop', fromDevice: laptop.device });
  });

  it('refuses with typed errors and sends nothing: unknown group, malformed id, non-admin, non-member removal, over the limit', async () => {
    const [alice, bob, carol] = [await env.connected(), await env.connected(), await env.connected()];
    const g = await alice.createGroup({ name: 'ops', members: [bob.userId] });
    await until(() => bob.group(g.id) !== undefined, 'bob to hold the group');
    const frames = frameLog(alice);
    const carolFrames = frameLog(carol);
    expect(await codeOf(carol.sendToGroup(g.id, 'not in it'))).toBe('NOT_FOUND');
    const malformed = await alice.sendToGroup('not-a-group', 'x').catch((e: unknown) => e);
    expect(EbbError.is(malformed, 'BAD_REQUEST') && malformed.reason).toBe('malformed-group-id');
    expect(await codeOf(alice.removeGroupMembers(g.id, [carol.userId]))).toBe('BAD_REQUEST');
    expect(await codeOf(bob.addGroupMembers(g.id, [carol.userId]))).toBe('FORBIDDEN');
    expect(await codeOf(alice.addGroupMembers('AAAAAAAAAAAAAAAAAAAAAA', [carol.userId]))).toBe('NOT_FOUND');
    const limit = (await alice.status()).limits.maxGroupSize;
    const many = Array.from({ length: limit }, (_, i) => alice.userId.slice(0, 26) + String(i).padStart(6, '0'));
    const full = await alice.createGroup({ name: 'big', members: many }).catch((e: unknown) => e);
    expect(EbbError.is(full, 'CONFLICT') && full.reason).toBe('group-full');
    expect(frames.filter((f) => f.action !== 'status')).toEqual([]);
    expect(carolFrames).toEqual([]);
    expect(alice.groups().map((x) => x.id)).toEqual([g.id]);
  });
});
