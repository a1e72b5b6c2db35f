import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { EbbClient, MemoryStore, type GroupEvent } from '../../client-sdk/src';
import { fromBase64Url } from '../../protocol/base64url';
import { LOCAL_AWS } from '../../local/dynamo';
import { sdkSuite } from '../support/local-stack';
import { codeOf, inbox, until } from '../support/sdk';

/**
 * Groups over time (ARCH §8.8): restarts, archives, a member offline for days, expiry and burn, reports,
 * a member whose account is gone, and what the service stores (no group id, name or member list).
 */
/** Real time plus what a test skips: it runs on (queue order follows server time) and never goes back. */
const clock = { skipped: 0, now: () => Date.now() + clock.skipped };
const env = sdkSuite({ now: clock.now }, { now: clock.now, reconnect: { baseDelayMs: 20, maxDelayMs: 200 } });
const DAY_MS = 86_400_000;

function groupEvents(client: EbbClient): GroupEvent[] {
  const events: GroupEvent[] = [];
  client.on('group', (e) => events.push(e));
  return events;
}

async function threeInAGroup(name = 'ops', stores: { bob?: MemoryStore; carol?: MemoryStore } = {}) {
  const alice = await env.connected();
  const bob = await env.client(stores.bob);
  const carol = await env.client(stores.carol);
  await Promise.all([bob.connect(), carol.connect()]);
  const g = await alice.createGroup({ name, members: [bob.userId, carol.userId] });
  await until(() => bob.group(g.id) !== undefined && carol.group(g.id) !== undefined, 'members to hold the group');
  return { alice, bob, carol, g };
}

/** Every item of every table of the stack, with its binary attributes' bytes. */
async function everyItem(): Promise<{ table: string; json: string; binaries: Uint8Array[] }[]> {
  const db = new DynamoDBClient({ endpoint: env.stack.dynamodbEndpoint, ...LOCAL_AWS });
  try {
    const out: { table: string; json: string; binaries: Uint8Array[] }[] = [];
    for (const [table, name] of Object.entries(env.stack.tables)) {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await db.send(new ScanCommand({ TableName: name, ConsistentRead: true, ExclusiveStartKey: start }));
        for (const item of page.Items ?? []) {
          const binaries = Object.values(item).flatMap((v) => (v.B ? [v.B] : []));
          out.push({ table, json: JSON.stringify(item), binaries });
        }
        start = page.LastEvaluatedKey;
      } while (start);
    }
    return out;
  } finally {
    db.destroy();
  }
}

function containsBytes(haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0;
}

describe('groups over time through the local stack', () => {
  it('keeps groups and sender keys across a restart and through an archive', async () => {
    const bobStore = new MemoryStore();
    const { alice, bob, g } = await threeInAGroup('ops', { bob: bobStore });
    const aliceIn = inbox(alice);
    await bob.sendToGroup(g.id, 'before the restart');
    await until(() => aliceIn.length === 1, 'the first message');
    await bob.close();

    const again = await env.client(bobStore);
    expect(again.groups()).toEqual([g]);
    await again.connect();
    const againIn = inbox(again);
    await alice.sendToGroup(g.id, 'to the restarted bob');
    await again.sendToGroup(g.id, 'after the restart');
    await until(() => againIn.length === 1 && aliceIn.length === 2, 'both ways after the restart');
    expect(aliceIn.map((m) => m.text)).toEqual(['before the restart', 'after the restart']);

    const archive = await again.exportArchive('correct horse battery staple');
    await again.close();
    const restored = await EbbClient.importArchive(archive, 'correct horse battery staple', {
      url: env.stack.url,
      store: new MemoryStore(),
      now: clock.now,
    });
    try {
      expect(restored.groups()).toEqual([g]);
      await restored.connect();
      const restoredIn = inbox(restored);
      await restored.sendToGroup(g.id, 'from the archive');
      await alice.sendToGroup(g.id, 'to the archive');
      await until(() => aliceIn.length === 3 && restoredIn.length === 1, 'both ways after the import');
      expect(aliceIn[2]!.text).toBe('from the archive');
      expect(restoredIn[0]!.text).toBe('to the archive');
    } finally {
      await restored.close();
    }
  });

  it('a member offline for days gets every message it was entitled to, in order, and none it was not', async () => {
    const carolStore = new MemoryStore();
    const { alice, bob, carol, g } = await threeInAGroup('ops', { carol: carolStore });
    const carolFirst = inbox(carol);
    await alice.sendToGroup(g.id, 'while online');
    await until(() => carolFirst.length === 1, 'the first message');
    await carol.close();

    await alice.sendToGroup(g.id, 'a1');
    await bob.sendToGroup(g.id, 'b1');
    await alice.sendToGroup(g.id, 'a2');
    await alice.sendToGroup(g.id, 'gone in an hour', { expiresInSeconds: 3600 });
    await bob.sendToGroup(g.id, 'b2');
    await alice.removeGroupMembers(g.id, [carol.userId]);
    const notHers = await alice.sendToGroup(g.id, 'after carol was removed');
    clock.skipped += 3 * DAY_MS;

    const back = await env.client(carolStore);
    const [backIn, backEvents] = [inbox(back), groupEvents(back)];
    await back.connect();
    await until(() => backEvents.length === 1, 'the removal to arrive');
    expect(backIn.filter((m) => m.from === alice.userId).map((m) => m.text)).toEqual(['a1', 'a2']);
    expect(backIn.filter((m) => m.from === bob.userId).map((m) => m.text)).toEqual(['b1', 'b2']);
    expect(backIn.map((m) => m.id)).not.toContain(notHers.id);
    expect(backIn.every((m) => m.group === g.id)).toBe(true);
    expect(backEvents[0]).toMatchObject({ change: 'members-removed', by: alice.userId, members: [carol.userId] });
    expect(back.groups()).toEqual([]);
  });

  it('carries expiry and burn per message, and reports prove which member sent one', async () => {
    const { alice, bob, carol, g } = await threeInAGroup();
    const bobIn = inbox(bob);
    const sent = await alice.sendToGroup(g.id, 'abusive words', { expiresInSeconds: 600, burnAfterReadingSeconds: 30 });
    await until(() => bobIn.length === 1, 'the message');
    const m = bobIn[0]!;
    expect(m).toMatchObject({ id: sent.id, group: g.id, from: alice.userId, burnAfterReadingSeconds: 30 });
    expect(m.expiresAt!.getTime()).toBe(m.sentAt.getTime() + 600_000);

    const { reportId, duplicate } = await bob.report(m, 'abuse in the group');
    expect(duplicate).toBe(false);
    const stored = (await everyItem()).filter((i) => i.table === 'reports' && i.json.includes(reportId));
    expect(stored).toHaveLength(1);
    expect(stored[0]!.json).toContain(alice.userId);
    expect(stored[0]!.json).toContain('abusive words');
    // Pinning it on another member fails at the service: the franking tag binds the sender device.
    const connection = (bob as unknown as { connection: { request: (a: string, b: unknown) => Promise<unknown> } }).connection;
    const kept = { id: m.id, sentAt: m.sentAt.getTime() };
    const frank = (await (
      bob as unknown as { reportables: { find: (u: string, id: string) => Promise<{ frank: unknown; frankKey: string; body: string }> } }
    ).reportables.find(alice.userId, m.id))!;
    const pinned = connection.request('report', {
      message: { ...kept, from: { user: carol.userId, device: 1 }, frank: frank.frank },
      frankKey: frank.frankKey,
      content: { kind: 'text', body: frank.body },
      reason: 'pinned on carol',
    });
    expect(await codeOf(pinned)).toBe('FORBIDDEN');
  });

  it('drops a member whose account is gone when the service answers unknown', async () => {
    const { alice, bob, carol, g } = await threeInAGroup();
    const bobIn = inbox(bob);
    await alice.sendToGroup(g.id, 'to all three');
    await until(() => bobIn.length === 1, 'the first message');
    await carol.deleteAccount();
    await alice.sendToGroup(g.id, 'carol is gone');
    await until(() => bobIn.length === 2, 'bob to read on');
    expect(alice.group(g.id)!.members).toEqual([alice.userId, bob.userId]);
  });

  it('stores no group id, name or member list anywhere on the service', async () => {
    const name = 'a-very-secret-room-name';
    const { alice, bob, carol, g } = await threeInAGroup(name);
    const dave = await env.connected();
    const [bobIn, daveIn] = [inbox(bob), inbox(dave)];
    await alice.sendToGroup(g.id, 'hello group');
    await alice.addGroupMembers(g.id, [dave.userId]);
    await until(() => dave.group(g.id) !== undefined, 'dave to join');
    await alice.renameGroup(g.id, `${name}-2`);
    await carol.sendToGroup(g.id, 'from carol');
    await until(() => bobIn.length === 2 && daveIn.length === 1, 'the messages');
    // Take bob and dave offline first, so their queues hold group messages while the tables are read.
    await Promise.all([bob.close(), dave.close()]);
    await alice.sendToGroup(g.id, 'queued for the offline members');

    const items = await everyItem();
    expect(items.some((i) => i.table === 'queue')).toBe(true);
    const idBytes = fromBase64Url(g.id);
    for (const item of items) {
      expect(item.json).not.toContain(g.id);
      expect(item.json).not.toContain(name);
      for (const bytes of item.binaries) expect(containsBytes(bytes, idBytes)).toBe(false);
      // A queue item names its recipient and sender; no item names more members than that.
      const members = [alice.userId, bob.userId, carol.userId, dave.userId].filter((u) => item.json.includes(u));
      expect(members.length).toBeLessThanOrEqual(2);
    }
  });
});
