import { Limits } from '../../protocol/limits';
import { toBase64Url } from '../../protocol/base64url';
import { MemoryStore, type KeyStore } from '../../client-sdk/src';
import { collectEntries, entriesToRestore, writeEntries } from '../../client-sdk/src/archive/contents';
import { createSenderKey, deserializeState, serializeState } from '../../client-sdk/src/crypto/sender-key';
import { randomBytes } from '../../client-sdk/src/crypto/random';
import { SenderKeys } from '../../client-sdk/src/groups/distribution';
import type { FanoutBody } from '../../client-sdk/src/groups/wiring-fanout';
import { FANOUT_FRAME_CONCURRENCY, GroupSender } from '../../client-sdk/src/groups/wiring-send';
import type { Identity } from '../../client-sdk/src/identity/identity';
import type { PeerDirectory } from '../../client-sdk/src/identity/peers';
import { KeyedQueue } from '../../client-sdk/src/keyed-queue';
import type { DeliveryTokens } from '../../client-sdk/src/session/delivery-tokens';
import type { Outbox } from '../../client-sdk/src/session/outbox';
import type { Sessions } from '../../client-sdk/src/session/sessions';
import { StoreKeys } from '../../client-sdk/src/store/layout';

const encoder = new TextEncoder();
const user = (i: number) => `u${String(i).padStart(31, '0')}`;
const newGroup = () => toBase64Url(randomBytes(16));
const AD = encoder.encode('ad');
const TEXT = encoder.encode('hello group');

/** A store that records the keys written. */
class RecordingStore extends MemoryStore {
  readonly written: string[] = [];
  override async set(key: string, value: string): Promise<void> {
    this.written.push(key);
    await super.set(key, value);
  }
}

async function json(store: KeyStore, key: string): Promise<Record<string, unknown> | undefined> {
  const text = await store.get(key);
  return text === undefined ? undefined : (JSON.parse(text) as Record<string, unknown>);
}

describe('the own sender key: chain state and devices sent its distribution in separate records', () => {
  it('rewrites only the small chain record per message, and both survive a reload', async () => {
    const store = new RecordingStore();
    const group = newGroup();
    const keys = new SenderKeys(store, Date.now);
    const { keyId } = await keys.own(group);
    for (let i = 1; i <= 300; i++) await keys.sent(group, user(i), [1, 2, 3]);
    store.written.length = 0;
    await keys.encrypt(group, TEXT, AD, 1);
    await keys.encrypt(group, TEXT, AD, 2);
    expect(store.written).toEqual([StoreKeys.ownSenderKey(group), StoreKeys.ownSenderKey(group)]);
    const chain = await json(store, StoreKeys.ownSenderKey(group));
    expect(Object.keys(chain!).sort()).toEqual(['key', 'rotate', 'seq']);
    expect((await store.get(StoreKeys.ownSenderKey(group)))!.length).toBeLessThan(400);
    expect(await json(store, StoreKeys.ownSenderKeySent(group))).toMatchObject({ keyId });

    const reloaded = await new SenderKeys(store, Date.now).own(group);
    expect(reloaded.keyId).toBe(keyId);
    expect(reloaded.nextSeq).toBe(3);
    expect(Object.keys(reloaded.sentTo)).toHaveLength(300);
    expect(reloaded.sentTo[user(7)]).toEqual([1, 2, 3]);

    await keys.unsent(group, user(7), [2]);
    expect((await keys.own(group)).sentTo[user(7)]).toEqual([1, 3]);
  });

  it('counts a device list left by an older key as none: a rotated key is sent to every member again', async () => {
    const store = new MemoryStore();
    const group = newGroup();
    const keys = new SenderKeys(store, Date.now);
    const first = await keys.own(group);
    await keys.sent(group, user(1), [1]);
    await keys.encrypt(group, TEXT, AD, first.nextSeq);
    await keys.rotate(group);
    const second = await keys.own(group);
    expect(second.keyId).not.toBe(first.keyId);
    expect(second.sentTo).toEqual({});
    expect(second.nextSeq).toBe(2);
    // A sent record of the old key, as a failure between the rotation's two writes would leave it, still counts as none.
    await store.set(StoreKeys.ownSenderKeySent(group), JSON.stringify({ keyId: first.keyId, sentTo: { [user(1)]: [1] } }));
    expect((await new SenderKeys(store, Date.now).own(group)).sentTo).toEqual({});
  });

  it('loads a combined record written before the split and splits it on its first write', async () => {
    const store = new MemoryStore();
    const group = newGroup();
    const state = createSenderKey();
    const sentTo = { [user(1)]: [1, 2], [user(2)]: [1] };
    await store.set(StoreKeys.ownSenderKey(group), JSON.stringify({ key: serializeState(state), seq: 5, sentTo, rotate: false }));
    const keys = new SenderKeys(store, Date.now);
    expect(await keys.own(group)).toEqual({ keyId: state.keyId, sentTo, nextSeq: 6 });
    expect(await store.get(StoreKeys.ownSenderKeySent(group))).toBeUndefined();

    await keys.encrypt(group, TEXT, AD, 6);
    const chain = await json(store, StoreKeys.ownSenderKey(group));
    expect(chain).toMatchObject({ seq: 6, rotate: false });
    expect(chain).not.toHaveProperty('sentTo');
    expect(deserializeState(chain!.key as string).keyId).toBe(state.keyId);
    expect(await json(store, StoreKeys.ownSenderKeySent(group))).toEqual({ keyId: state.keyId, sentTo });
    expect(await new SenderKeys(store, Date.now).own(group)).toEqual({ keyId: state.keyId, sentTo, nextSeq: 7 });

    // A device recorded on a combined record splits it too, the new device included.
    const other = newGroup();
    await store.set(StoreKeys.ownSenderKey(other), JSON.stringify({ key: serializeState(createSenderKey()), seq: 0, sentTo, rotate: false }));
    await keys.sent(other, user(3), [4]);
    expect(await json(store, StoreKeys.ownSenderKey(other))).not.toHaveProperty('sentTo');
    expect((await keys.own(other)).sentTo).toEqual({ ...sentTo, [user(3)]: [4] });
  });

  it('goes through an archive round trip: the imported key is rotated, the sequence goes on, old and new formats alike', async () => {
    const store = new MemoryStore();
    const [split, combined] = [newGroup(), newGroup()];
    const keys = new SenderKeys(store, Date.now);
    const before = await keys.own(split);
    await keys.sent(split, user(1), [1, 2]);
    await keys.encrypt(split, TEXT, AD, before.nextSeq);
    const old = createSenderKey();
    await store.set(
      StoreKeys.ownSenderKey(combined),
      JSON.stringify({ key: serializeState(old), seq: 9, sentTo: { [user(1)]: [1] }, rotate: false }),
    );

    const restored = new MemoryStore();
    await writeEntries(restored, entriesToRestore(await collectEntries(store)));
    expect(await restored.get(StoreKeys.ownSenderKeySent(split))).toBe(await store.get(StoreKeys.ownSenderKeySent(split)));
    const imported = new SenderKeys(restored, Date.now);
    const after = await imported.own(split);
    expect(after.keyId).not.toBe(before.keyId);
    expect(after).toMatchObject({ sentTo: {}, nextSeq: 2 });
    const afterOld = await imported.own(combined);
    expect(afterOld.keyId).not.toBe(old.keyId);
    expect(afterOld).toMatchObject({ sentTo: {}, nextSeq: 10 });
    expect(await json(restored, StoreKeys.ownSenderKey(combined))).not.toHaveProperty('sentTo');
  });

  it('forgets both records when the device leaves the group', async () => {
    const store = new MemoryStore();
    const group = newGroup();
    const keys = new SenderKeys(store, Date.now);
    await keys.own(group);
    await keys.sent(group, user(1), [1]);
    await keys.forgetGroup(group);
    expect(await store.list('groups/')).toEqual([]);
  });
});

describe('a group message fans out its frames together', () => {
  const self = user(0);
  /** 64 copies a frame, so 320 devices take 5 frames: more than the window. */
  const limits = {
    maxCiphertextBytes: 16384,
    retentionDays: 30,
    maxDevicesPerSend: 16,
    maxFanoutDevicesPerFrame: 64,
    maxGroupSize: 1000,
    maxFrameBytes: 32768,
    maxAttachmentBytes: 1024,
  };
  const members = Array.from({ length: 160 }, (_, i) => user(i + 1));
  const message = () => ({ id: toBase64Url(randomBytes(16)), text: 'hi', body: encoder.encode('hi') });
  /** Lets every pending answer and continuation run. */
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

  /**
   * A sender to `members` (2 devices each) whose fake connection answers each frame after a few turns, queueing a
   * copy per named device then; `answer` may refuse or shape a frame's answer.
   */
  function harness(
    answer: (
      frame: FanoutBody,
      index: number,
    ) => Partial<Record<'missing' | 'full' | 'stale', { user: string; devices: number[] }[]>> | Error = () => ({}),
  ) {
    const queues = new Map<string, string[]>();
    const events: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    let index = 0;
    const sender = new GroupSender({
      identity: { userId: self, device: 1 } as Identity,
      peers: { devices: async () => [1, 2], forgetDevices: async () => undefined } as unknown as PeerDirectory,
      sessions: { has: async () => true } as unknown as Sessions,
      outbox: { send: async () => ({ id: 'x', sentAt: new Date() }) } as unknown as Outbox,
      senderKeys: new SenderKeys(new MemoryStore(), Date.now),
      deliveryTokens: { own: async () => new Uint8Array(Limits.deliveryTokenBytes), ofPeer: async () => undefined } as unknown as DeliveryTokens,
      ownDevices: async () => [1],
      limits: async () => limits,
      fanout: async (frame) => {
        const i = index++;
        events.push(`start ${frame.id}`);
        maxInFlight = Math.max(maxInFlight, ++inFlight);
        // Later frames answer sooner: any order of answers must do.
        for (let t = 0; t < 3 + ((7 - i) % 4); t++) await turn();
        inFlight--;
        events.push(`end ${frame.id}`);
        const shaped = answer(frame, i);
        if (shaped instanceof Error) throw shaped;
        for (const r of frame.recipients) {
          for (const d of r.devices) {
            if (shaped.full?.some((f) => f.user === r.user && f.devices.includes(d))) continue;
            const key = `${r.user}/${d}`;
            queues.set(key, [...(queues.get(key) ?? []), frame.id]);
          }
        }
        return { id: frame.id, sentAt: 1, expiresAt: 2, duplicate: false, missing: [], stale: [], full: [], unknown: [], ...shaped };
      },
      sleep: async () => undefined,
    });
    return { sender, queues, events, inFlight: () => inFlight, maxInFlight: () => maxInFlight };
  }

  it('has up to the window of frames in flight, and every device gets each message once, in order with the next', async () => {
    const h = harness();
    const group = newGroup();
    const lane = new KeyedQueue();
    const [first, second] = [message(), message()];
    // As the client calls it: both sends queued at once in the group's lane.
    await Promise.all([first, second].map((m) => lane.run(group, () => h.sender.send(group, [self, ...members], m, async () => undefined))));

    // Four at once (the window), not one after another.
    expect(FANOUT_FRAME_CONCURRENCY).toBe(4);
    expect(h.maxInFlight()).toBe(4);
    expect(h.events.filter((e) => e.startsWith('start'))).toHaveLength(10);
    // No frame of the second message starts before every frame of the first was answered.
    const lastEndOfFirst = h.events.lastIndexOf(`end ${first.id}`);
    const firstStartOfSecond = h.events.indexOf(`start ${second.id}`);
    expect(lastEndOfFirst).toBeLessThan(firstStartOfSecond);
    expect(h.queues.size).toBe(320);
    for (const copies of h.queues.values()) expect(copies).toEqual([first.id, second.id]);
  });

  it('follows each frame’s answer: full devices of any frame are retried with the same id, once', async () => {
    const full = [
      { user: members[3]!, devices: [2] },
      { user: members[150]!, devices: [1] },
    ];
    const h = harness((frame, i) => (i < 5 ? { full: full.filter((f) => frame.recipients.some((r) => r.user === f.user)) } : {}));
    const m = message();
    await h.sender.send(newGroup(), [self, ...members], m, async () => undefined);
    // 5 frames, then one retry frame naming only the two full devices.
    expect(h.events.filter((e) => e.startsWith('start'))).toEqual(Array.from({ length: 6 }, () => `start ${m.id}`));
    expect(h.queues.size).toBe(320);
    for (const copies of h.queues.values()) expect(copies).toEqual([m.id]);
  });

  it('rejects with a frame’s error only once no frame of the message is in flight, starting no more', async () => {
    const refused = new Error('refused');
    const h = harness((_, i) => (i === 3 ? refused : {}));
    let inFlightAtRejection = -1;
    await expect(
      h.sender
        .send(newGroup(), [self, ...members], message(), async () => undefined)
        .catch((err: unknown) => {
          inFlightAtRejection = h.inFlight();
          throw err;
        }),
    ).rejects.toBe(refused);
    expect(inFlightAtRejection).toBe(0);
    // The window's 4 frames started; the fifth never did.
    expect(h.events.filter((e) => e.startsWith('start'))).toHaveLength(FANOUT_FRAME_CONCURRENCY);
  });
});
