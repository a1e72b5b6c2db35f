import { randomBytes } from 'node:crypto';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { DynamoQueue } from '../../lambdas/adapters/dynamodb';
import { DEPTH_SORT_KEY } from '../../lambdas/adapters/queue-keys';
import { MemoryQueue } from '../../lambdas/adapters/memory';
import type { CiphertextQueue, DeviceAddress, QueuedMessage, QueueLimits, QueueShare } from '../../lambdas/core/ports';
import { T0, freshMessageId, freshUserId, useDynalite } from './backends';

/** The CiphertextQueue contract (lambdas/core/ports.ts), run against the memory and the DynamoDB adapter. */
function queueContract(make: () => Promise<CiphertextQueue>): void {
  let queue: CiphertextQueue;
  let recipient: DeviceAddress;
  beforeEach(async () => {
    queue = await make();
    recipient = { userId: freshUserId(), device: 1 };
  });

  const bytes = (n: number) => randomBytes(n).toString('base64url');
  const message = (sentAt: number, over: Partial<QueuedMessage> = {}): QueuedMessage => ({
    recipient,
    id: freshMessageId(),
    from: { userId: freshUserId(), device: 2 },
    sentAt,
    expiresAt: Math.floor(sentAt / 1000) + 3600,
    ciphertext: bytes(48),
    frank: { commitment: bytes(32), tag: bytes(32), kid: 'k1' },
    ...over,
  });
  /** What a read gives back for `m`: the share is absent for a contact's, as the port says it may be. */
  const asRead = (m: QueuedMessage) => ({ ...m, share: m.share ?? 'contact' });
  const read = async (nowMs: number, limit = 100) => (await queue.page(recipient, null, limit, nowMs)).messages.map(asRead);
  /** The send path's order: a reservation, then the put it is matched by. */
  const send = async (m: QueuedMessage, limits: QueueLimits, share: QueueShare = m.share ?? 'contact') => {
    if (!(await queue.reserve(recipient, share, limits, m.sentAt))) return false;
    await queue.put(m);
    return true;
  };

  describe('put and page', () => {
    it('reads an empty queue as no messages and no cursor', async () => {
      expect(await queue.page(recipient, null, 10, T0)).toEqual({ messages: [], cursor: null });
    });

    it('gives back every field as put, share included, in server-time order', async () => {
      const later = message(T0 + 5, { share: 'stranger' });
      const earlier = message(T0 + 1, { share: 'contact' });
      const plain = message(T0 + 3);
      for (const m of [later, earlier, plain]) await queue.put(m);
      expect(await read(T0 + 10)).toEqual([earlier, plain, later].map(asRead));
    });

    it('keeps apart the queues of two devices of one user', async () => {
      const other: DeviceAddress = { userId: recipient.userId, device: 2 };
      await queue.put(message(T0));
      await queue.put({ ...message(T0 + 1), recipient: other });
      expect(await read(T0 + 10)).toHaveLength(1);
      expect((await queue.page(other, null, 10, T0 + 10)).messages.map((m) => m.recipient)).toEqual([other]);
    });

    it('leaves expired messages out of a read from the second they expire', async () => {
      const expiresAt = T0 / 1000 + 60;
      const short = message(T0, { expiresAt });
      const long = message(T0 + 1);
      await queue.put(short);
      await queue.put(long);
      expect(await read(expiresAt * 1000 - 1)).toEqual([short, long].map(asRead));
      expect(await read(expiresAt * 1000)).toEqual([asRead(long)]);
    });

    it('pages in order to the end, skipping expired messages, and resumes after cursorOf(message)', async () => {
      const all = Array.from({ length: 7 }, (_, i) => message(T0 + i, i % 3 === 1 ? { expiresAt: T0 / 1000 + 1 } : {}));
      for (const m of all) await queue.put(m);
      const now = T0 + 5000;
      const live = all.filter((m) => m.expiresAt * 1000 > now).map(asRead);

      const seen: ReturnType<typeof asRead>[] = [];
      let cursor: string | null = null;
      for (let pages = 0; pages < 10; pages++) {
        const page = await queue.page(recipient, cursor, 2, now);
        expect(page.messages.length).toBeLessThanOrEqual(2);
        seen.push(...page.messages.map(asRead));
        cursor = page.cursor;
        if (cursor === null) break;
        expect(queue.isCursor(cursor)).toBe(true);
      }
      expect(cursor).toBeNull();
      expect(seen).toEqual(live);

      const resumed = await queue.page(recipient, queue.cursorOf(all[2]!), 100, now);
      expect(resumed.messages.map(asRead)).toEqual(live.filter((m) => m.sentAt > all[2]!.sentAt));
    });

    it('says a page is not the last while more messages follow it', async () => {
      for (let i = 0; i < 3; i++) await queue.put(message(T0 + i));
      expect((await queue.page(recipient, null, 2, T0 + 10)).cursor).not.toBeNull();
    });

    it('knows its own cursors and no others', () => {
      const m = message(T0);
      expect(queue.isCursor(queue.cursorOf(m))).toBe(true);
      for (const other of ['', 'x', 'm#1#short', `d#${freshMessageId()}`, 'n#depth']) expect(queue.isCursor(other)).toBe(false);
    });
  });

  describe('claim (send markers)', () => {
    const marker = (sentAt: number, share?: QueueShare) => ({ sentAt, expiresAt: Math.floor(sentAt / 1000) + 60, ...(share && { share }) });
    /** A marker as a repeat returns it: the share is absent for a contact's, as the port says it may be. */
    const claimed = async (from: string, id: string, sentAt: number, share?: QueueShare) => {
      const earlier = await queue.claim(recipient, from, id, marker(sentAt, share));
      return earlier && { ...earlier, share: earlier.share ?? 'contact' };
    };

    it('makes the first claim and answers a repeat with the marker it left, share included', async () => {
      const [from, id] = [freshUserId(), freshMessageId()];
      expect(await claimed(from, id, T0, 'stranger')).toBeNull();
      expect(await claimed(from, id, T0 + 500)).toEqual(marker(T0, 'stranger'));
    });

    it('reads a marker left without a share as a contact one', async () => {
      const [from, id] = [freshUserId(), freshMessageId()];
      expect(await claimed(from, id, T0)).toBeNull();
      expect(await claimed(from, id, T0 + 1)).toEqual(marker(T0, 'contact'));
    });

    it('keeps claims of another sender, id or recipient apart', async () => {
      const [from, id] = [freshUserId(), freshMessageId()];
      await queue.claim(recipient, from, id, marker(T0));
      expect(await queue.claim(recipient, freshUserId(), id, marker(T0))).toBeNull();
      expect(await queue.claim(recipient, from, freshMessageId(), marker(T0))).toBeNull();
      expect(await queue.claim({ ...recipient, device: 9 }, from, id, marker(T0))).toBeNull();
    });

    it('counts an expired marker as absent: the next claim is made anew', async () => {
      const [from, id] = [freshUserId(), freshMessageId()];
      const first = marker(T0, 'contact');
      expect(await claimed(from, id, T0)).toBeNull();
      expect(await claimed(from, id, first.expiresAt * 1000 - 1)).toEqual(first);
      const renewed = marker(first.expiresAt * 1000, 'stranger');
      expect(await claimed(from, id, renewed.sentAt, 'stranger')).toBeNull();
      expect(await claimed(from, id, renewed.sentAt + 1)).toEqual(renewed);
    });

    it('grants concurrent claims of one (sender, id) exactly once', async () => {
      const [from, id] = [freshUserId(), freshMessageId()];
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => queue.claim(recipient, from, id, marker(T0 + i))));
      expect(results.filter((r) => r === null)).toHaveLength(1);
      const winner = results.indexOf(null);
      for (const r of results) if (r !== null) expect(r.sentAt).toBe(T0 + winner);
    });

    it('never shows a marker as a message', async () => {
      await queue.claim(recipient, freshUserId(), freshMessageId(), marker(T0));
      expect(await read(T0)).toEqual([]);
    });
  });

  describe('remove', () => {
    it('deletes the given messages and counts how many were there and how many strangers', async () => {
      const [a, b, c] = [message(T0, { share: 'stranger' }), message(T0 + 1), message(T0 + 2, { share: 'stranger' })];
      for (const m of [a, b, c]) await queue.put(m);
      expect(await queue.remove(recipient, [a, b, a], T0 + 10)).toEqual({ messages: 2, strangers: 1 });
      expect(await read(T0 + 10)).toEqual([asRead(c)]);
    });

    it('counts missing messages as nothing, twice over', async () => {
      const m = message(T0);
      await queue.put(m);
      expect(await queue.remove(recipient, [m], T0 + 10)).toEqual({ messages: 1, strangers: 0 });
      expect(await queue.remove(recipient, [m], T0 + 10)).toEqual({ messages: 0, strangers: 0 });
      expect(await queue.remove(recipient, [{ id: freshMessageId(), sentAt: T0 }], T0 + 10)).toEqual({ messages: 0, strangers: 0 });
      expect(await queue.remove(recipient, [], T0 + 10)).toEqual({ messages: 0, strangers: 0 });
    });

    it('deletes an expired message but counts it as absent', async () => {
      const expired = message(T0, { expiresAt: T0 / 1000 + 60, share: 'stranger' });
      await queue.put(expired);
      expect(await queue.remove(recipient, [expired], expired.expiresAt * 1000)).toEqual({ messages: 0, strangers: 0 });
      expect(await read(T0)).toEqual([]);
    });
  });

  describe('reserve and release', () => {
    const limits: QueueLimits = { depth: 3, strangerDepth: 2 };

    it('grants reservations until the queue holds its depth, and again once an ack gives room back', async () => {
      const sent = [message(T0), message(T0 + 1), message(T0 + 2)];
      for (const m of sent) expect(await send(m, limits)).toBe(true);
      expect(await queue.reserve(recipient, 'contact', limits, T0 + 3)).toBe(false);
      await queue.release(recipient, await queue.remove(recipient, [sent[0]!], T0 + 3));
      expect(await send(message(T0 + 4), limits)).toBe(true);
      expect(await queue.reserve(recipient, 'contact', limits, T0 + 5)).toBe(false);
    });

    it("holds strangers to their share while a contact's message still fits", async () => {
      const strangers = [message(T0, { share: 'stranger' }), message(T0 + 1, { share: 'stranger' })];
      for (const m of strangers) expect(await send(m, limits)).toBe(true);
      expect(await queue.reserve(recipient, 'stranger', limits, T0 + 2)).toBe(false);
      expect(await send(message(T0 + 3), limits)).toBe(true);
      expect(await queue.reserve(recipient, 'contact', limits, T0 + 4)).toBe(false);

      await queue.release(recipient, await queue.remove(recipient, [strangers[0]!], T0 + 4));
      expect(await send(message(T0 + 5, { share: 'stranger' }), limits)).toBe(true);
    });

    it('counts expired messages as absent: a full queue whose messages expired takes new ones', async () => {
      const expiresAt = T0 / 1000 + 60;
      for (let i = 0; i < 3; i++) expect(await send(message(T0 + i, { expiresAt, share: i < 2 ? 'stranger' : 'contact' }), limits)).toBe(true);
      const later = expiresAt * 1000 + 1;
      expect(await send(message(later, { share: 'stranger' }), limits)).toBe(true);
      expect(await send(message(later + 1, { share: 'stranger' }), limits)).toBe(true);
    });

    it('gives back no room for a message acked after it expired: it no longer counted', async () => {
      const expiring = message(T0, { expiresAt: T0 / 1000 + 60 });
      for (const m of [expiring, message(T0 + 1), message(T0 + 2)]) expect(await send(m, limits)).toBe(true);
      const later = expiring.expiresAt * 1000 + 1;
      expect(await send(message(later), limits)).toBe(true);
      const acked = await queue.remove(recipient, [expiring], later + 1);
      await queue.release(recipient, acked);
      expect(await queue.reserve(recipient, 'contact', limits, later + 2)).toBe(false);
      expect(await read(later + 2)).toHaveLength(3);
      expect(acked).toEqual({ messages: 0, strangers: 0 });
    });

    it('never grants one free place twice to concurrent reservations', async () => {
      const sent = [message(T0), message(T0 + 1), message(T0 + 2)];
      for (const m of sent) await send(m, limits);
      expect(await queue.reserve(recipient, 'contact', limits, T0 + 3)).toBe(false);
      await queue.release(recipient, await queue.remove(recipient, [sent[0]!], T0 + 3));
      const granted = await Promise.all(Array.from({ length: 6 }, () => queue.reserve(recipient, 'contact', limits, T0 + 4)));
      expect(granted.filter(Boolean)).toHaveLength(1);
    });

    it('takes releasing nothing as no change', async () => {
      await queue.release(recipient, { messages: 0, strangers: 0 });
      for (let i = 0; i < 3; i++) expect(await send(message(T0 + i), limits)).toBe(true);
      await queue.release({ ...recipient, device: 9 }, { messages: 1, strangers: 0 });
      expect(await queue.reserve(recipient, 'contact', limits, T0 + 3)).toBe(false);
    });
  });

  describe('removeAll', () => {
    it('deletes every message and marker of the device, counts them, and leaves other devices alone', async () => {
      const limits: QueueLimits = { depth: 2, strangerDepth: 1 };
      const other: DeviceAddress = { userId: recipient.userId, device: 2 };
      const sent = [message(T0), message(T0 + 1, { share: 'stranger' })];
      for (const m of sent) {
        expect(await send(m, limits)).toBe(true);
        expect(await queue.claim(recipient, m.from.userId, m.id, { sentAt: m.sentAt, expiresAt: m.expiresAt })).toBeNull();
      }
      const kept = { ...message(T0), recipient: other };
      await queue.put(kept);

      expect(await queue.removeAll(recipient)).toBe(4);
      expect(await read(T0 + 10)).toEqual([]);
      expect(await queue.claim(recipient, sent[0]!.from.userId, sent[0]!.id, { sentAt: T0 + 10, expiresAt: sent[0]!.expiresAt })).toBeNull();
      expect(await send(message(T0 + 20), limits)).toBe(true);
      expect(await send(message(T0 + 21, { share: 'stranger' }), limits)).toBe(true);
      expect((await queue.page(other, null, 10, T0 + 10)).messages).toHaveLength(1);
    });

    it('counts an empty queue as nothing removed', async () => {
      expect(await queue.removeAll(recipient)).toBe(0);
    });
  });
}

describe('MemoryQueue', () => {
  queueContract(async () => new MemoryQueue());

  it("gives back cancelled reservations never put, a stranger's to the strangers' share", async () => {
    const queue = new MemoryQueue();
    const recipient = { userId: freshUserId(), device: 1 };
    const limits: QueueLimits = { depth: 3, strangerDepth: 2 };
    for (let i = 0; i < 2; i++) expect(await queue.reserve(recipient, 'stranger', limits, T0)).toBe(true);
    expect(await queue.reserve(recipient, 'stranger', limits, T0)).toBe(false);
    await queue.cancel(recipient, { messages: 1, strangers: 1 });
    expect(await queue.reserve(recipient, 'stranger', limits, T0)).toBe(true);
    expect(await queue.reserve(recipient, 'contact', limits, T0)).toBe(true);
    expect(await queue.reserve(recipient, 'contact', limits, T0)).toBe(false);
  });
});

describe('DynamoQueue on dynalite', () => {
  const dynamo = useDynalite();
  queueContract(async () => {
    const { db, names } = await dynamo.fresh();
    return new DynamoQueue(db, names.queue);
  });

  it('deletes a depth counter that held only the cancelled reservation: a send to no one leaves no item', async () => {
    const { db, names } = await dynamo.fresh();
    const queue = new DynamoQueue(db, names.queue);
    const nobody = { userId: freshUserId(), device: 3 };
    const counter = async () =>
      (await db.send(new GetCommand({ TableName: names.queue, Key: { rcpt: `${nobody.userId}#3`, sk: DEPTH_SORT_KEY } }))).Item;
    expect(await queue.reserve(nobody, 'stranger', { depth: 3, strangerDepth: 2 }, T0)).toBe(true);
    expect(await counter()).toBeDefined();
    await queue.cancel(nobody, { messages: 1, strangers: 1 }, true);
    expect(await counter()).toBeUndefined();
  });

  it('only gives back a cancelled reservation, dropIfOnly or not, while the counter holds others', async () => {
    const { db, names } = await dynamo.fresh();
    const queue = new DynamoQueue(db, names.queue);
    const device = { userId: freshUserId(), device: 1 };
    const limits = { depth: 5, strangerDepth: 3 };
    const counter = async () =>
      (await db.send(new GetCommand({ TableName: names.queue, Key: { rcpt: `${device.userId}#1`, sk: DEPTH_SORT_KEY } }))).Item;
    for (const share of ['contact', 'stranger', 'stranger'] as const) expect(await queue.reserve(device, share, limits, T0)).toBe(true);
    await queue.cancel(device, { messages: 1, strangers: 1 }, true);
    expect(await counter()).toMatchObject({ queuedMessages: 2, strangerMessages: 1 });
    await queue.cancel(device, { messages: 1, strangers: 0 });
    expect(await counter()).toMatchObject({ queuedMessages: 1, strangerMessages: 1 });
  });
});
