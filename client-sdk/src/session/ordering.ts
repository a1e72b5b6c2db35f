import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { ReceivedMessage } from '../types';

/**
 * Per-sender order over a queue that can deliver out of order: a failed push leaves a message for the
 * next fetch while a later one is pushed, and a push can overtake the drain on connect. Each sender
 * device numbers its messages to each recipient device (`seq` inside the ciphertext, so the server
 * cannot reorder them unseen); the recipient hands them to the app in that order. A message that skips
 * ahead is held (in the store, so a restart keeps it) while the inbox drains the queue; once a drain that
 * started after it was held finds the gap still open, the earlier message is given up on (it expired, or
 * its send failed for good) and what is held goes out. Nothing waits longer than one drain.
 */

/** Held messages per sender device at most: beyond that the lane is released without waiting. */
export const MAX_HELD_PER_SENDER = 200;

/** The next sequence number for a message to `user`'s `device`. Sends to one user are serialized by the outbox. */
export async function nextSendSeq(store: KeyStore, user: string, device: number): Promise<number> {
  const key = StoreKeys.sentSeq(user, device);
  const seq = Number((await store.get(key)) ?? 0) + 1;
  await store.set(key, String(seq));
  return seq;
}

interface Held {
  readonly message: ReceivedMessage;
  /** The drain generation current when it was held: a drain with a higher one may give up on its gap. */
  readonly heldIn: number;
}

interface Lane {
  readonly user: string;
  readonly device: number;
  expected: number;
  readonly held: Map<number, Held>;
}

/** The receiving side: decides which messages go to the app now. Called from the inbox's one-at-a-time queue. */
export class ReceiveOrder {
  private lanes: Map<string, Lane> | null = null;

  constructor(
    private readonly store: KeyStore,
    private readonly now: () => number,
  ) {}

  /** Messages held back right now. Internal, for tests. */
  get heldCount(): number {
    let count = 0;
    for (const lane of this.lanes?.values() ?? []) count += lane.held.size;
    return count;
  }

  /**
   * The messages to hand to the app now, in order, after `message` numbered `seq` arrived: none when it
   * is held (the caller then drains the queue), else it and any held ones it unblocks. A number below
   * the expected one (a message given up on that came after all, or a sender that started over) is
   * handed over at once: order is best effort, delivery is not.
   */
  async accept(user: string, device: number, seq: number, message: ReceivedMessage, generation: number): Promise<ReceivedMessage[]> {
    const lane = await this.lane(user, device);
    if (seq < lane.expected) return [message];
    let out: ReceivedMessage[];
    if (seq === lane.expected) {
      lane.expected = seq + 1;
      out = [message, ...(await this.take(lane, (s) => s === lane.expected))];
    } else if (lane.held.size < MAX_HELD_PER_SENDER) {
      await this.store.set(StoreKeys.held(user, device, seq), serialize(message));
      lane.held.set(seq, { message, heldIn: generation });
      return [];
    } else {
      // Too much held: give up on the gaps rather than grow without bound.
      lane.held.set(seq, { message, heldIn: generation });
      out = await this.take(lane, () => true);
    }
    await this.store.set(StoreKeys.expectedSeq(user, device), String(lane.expected));
    return out;
  }

  /**
   * Starts `user`'s `device` lane at `seq` unless it is further already or holds messages: a group member's
   * first message to a member that joined later carries a number far past 1 (ARCH §8.8), and must not wait.
   */
  async start(user: string, device: number, seq: number): Promise<void> {
    const lane = await this.lane(user, device);
    if (lane.held.size > 0 || seq <= lane.expected) return;
    lane.expected = seq;
    await this.store.set(StoreKeys.expectedSeq(user, device), String(seq));
  }

  /** After drain `generation` completed: held messages whose gaps it did not fill, in order, per sender. */
  async release(generation: number): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (const lane of (await this.all()).values()) {
      if (lane.held.size === 0) continue;
      const before = lane.expected;
      out.push(...(await this.take(lane, (seq, held) => seq === lane.expected || held.heldIn < generation)));
      if (lane.expected !== before) await this.store.set(StoreKeys.expectedSeq(lane.user, lane.device), String(lane.expected));
    }
    return out;
  }

  /** Takes held messages in order while `may` allows, advancing `expected`; expired ones are dropped. */
  private async take(lane: Lane, may: (seq: number, held: Held) => boolean): Promise<ReceivedMessage[]> {
    const out: ReceivedMessage[] = [];
    for (const seq of [...lane.held.keys()].sort((a, b) => a - b)) {
      const held = lane.held.get(seq)!;
      if (!may(seq, held)) break;
      lane.held.delete(seq);
      await this.store.delete(StoreKeys.held(lane.user, lane.device, seq));
      lane.expected = seq + 1;
      if (!(held.message.expiresAt && held.message.expiresAt.getTime() <= this.now())) out.push(held.message);
    }
    return out;
  }

  private async lane(user: string, device: number): Promise<Lane> {
    const lanes = await this.all();
    const key = `${user}/${device}`;
    let lane = lanes.get(key);
    if (!lane) {
      const expected = Number((await this.store.get(StoreKeys.expectedSeq(user, device))) ?? 1);
      lane = { user, device, expected, held: new Map() };
      lanes.set(key, lane);
    }
    return lane;
  }

  /** Loads what a previous run held, once. */
  private async all(): Promise<Map<string, Lane>> {
    if (this.lanes) return this.lanes;
    const lanes = new Map<string, Lane>();
    for (const key of await this.store.list(StoreKeys.heldPrefix)) {
      const [user, device, seq] = key.slice(StoreKeys.heldPrefix.length).split('/');
      const text = await this.store.get(key);
      const message = text === undefined ? null : deserialize(text);
      if (!message || !user || !device || !seq) {
        await this.store.delete(key);
        continue;
      }
      const laneKey = `${user}/${device}`;
      let lane = lanes.get(laneKey);
      if (!lane) {
        const expected = Number((await this.store.get(StoreKeys.expectedSeq(user, Number(device)))) ?? 1);
        lane = { user, device: Number(device), expected, held: new Map() };
        lanes.set(laneKey, lane);
      }
      lane.held.set(Number(seq), { message, heldIn: 0 });
    }
    this.lanes ??= lanes;
    return this.lanes;
  }
}

function serialize(m: ReceivedMessage): string {
  return JSON.stringify({
    ...m,
    body: toBase64Url(m.body),
    sentAt: m.sentAt.getTime(),
    ...(m.expiresAt && { expiresAt: m.expiresAt.getTime() }),
  });
}

function deserialize(text: string): ReceivedMessage | null {
  try {
    const raw = JSON.parse(text) as Record<string, unknown>;
    const { body, sentAt, expiresAt, ...rest } = raw;
    if (typeof body !== 'string' || typeof sentAt !== 'number' || typeof rest.id !== 'string' || typeof rest.from !== 'string') return null;
    return {
      ...(rest as unknown as ReceivedMessage),
      body: fromBase64Url(body),
      sentAt: new Date(sentAt),
      ...(typeof expiresAt === 'number' && { expiresAt: new Date(expiresAt) }),
    };
  } catch {
    return null;
  }
}
