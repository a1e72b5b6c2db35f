import * as v from 'valibot';
import {
  createSenderKey,
  decodeDistribution,
  decodeSenderKeyMessage,
  deserializeState,
  encodeDistribution,
  senderKeyDecrypt,
  senderKeyDistribution,
  senderKeyEncrypt,
  serializeState,
  stateFromDistribution,
} from '../crypto/sender-key';
import { KeyedQueue } from '../keyed-queue';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';

/**
 * The sender keys of the groups this device is in (ARCH §8.7, §8.8): its own one per group, with the member
 * devices that hold its distribution, and every member device's, found by key id (a group message names no
 * group in the clear). Own keys are rotated lazily: a removal marks the key, and the next send makes a new one,
 * which goes only to the members of that moment.
 */

/** Member devices, by user id, that were sent a key's distribution. */
const SentTo = v.record(v.string(), v.array(v.number()));
type SentTo = v.InferOutput<typeof SentTo>;

/**
 * This device's sender key in one group, as stored: the chain state every message rewrites, kept small. The
 * devices sent its distribution are a record of their own (`SentRecord`), written only when they change.
 */
const OwnRecord = v.object({
  key: v.string(),
  /** The last sequence number a group message of this device carried; it continues across rotations. */
  seq: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  /** Set when a member left or was removed: the next send makes a new key first. */
  rotate: v.boolean(),
  /** Where versions before the split kept the devices; moved to the `SentRecord` on the record's next write. */
  sentTo: v.optional(SentTo),
});
type OwnRecord = v.InferOutput<typeof OwnRecord>;

/** The devices sent the own key's distribution, for the key with that id only: a record left by an older key counts as none. */
const SentRecord = v.object({ keyId: v.number(), sentTo: SentTo });
type SentRecord = v.InferOutput<typeof SentRecord>;

/** A member device's keys: the newest, and the one before it for messages still in flight across a rotation. */
const MemberRecord = v.object({ current: v.string(), previous: v.nullable(v.string()) });
type MemberRecord = v.InferOutput<typeof MemberRecord>;

/** What to send before a group message: the distribution of the key it is encrypted with. */
export interface OwnKey {
  readonly keyId: number;
  /** Member devices, by user id, that have the distribution already. */
  readonly sentTo: Readonly<Record<string, readonly number[]>>;
  /** The sequence number the next group message will carry. */
  readonly nextSeq: number;
}

export class SenderKeys {
  /** Every read-modify-write of an own record runs alone: members' distributions are recorded concurrently. */
  private readonly ownLocks = new KeyedQueue();
  /**
   * The last sent record read or written per group, with its stored text: a message reads the record (to find
   * members lacking the key) but parses it again only when the text changed, which at 1 000 members is most of
   * a send's store work otherwise.
   */
  private readonly sentCache = new Map<string, { readonly text: string; readonly record: SentRecord }>();

  constructor(
    private readonly store: KeyStore,
    private readonly now: () => number,
  ) {}

  /** This device's current key in `group`, made (or rotated) first when there is none or a removal asked for it. */
  own(group: string): Promise<OwnKey> {
    return this.ownLocks.run(group, async () => {
      const record = await this.readOwn(group);
      if (!record || record.rotate) {
        const previous = record ? deserializeState(record.key).keyId : undefined;
        const state = createSenderKey(previous);
        // The chain first: a sent record left by the old key names another key id, so it counts as none.
        await this.writeOwn(group, { key: serializeState(state), seq: record?.seq ?? 0, rotate: false });
        await this.writeSent(group, state.keyId, {});
        return { keyId: state.keyId, sentTo: {}, nextSeq: (record?.seq ?? 0) + 1 };
      }
      const keyId = deserializeState(record.key).keyId;
      return { keyId, sentTo: await this.readSent(group, record, keyId), nextSeq: record.seq + 1 };
    });
  }

  /** The distribution of the current own key: the chain key at the iteration the next message uses. */
  async distribution(group: string): Promise<Uint8Array> {
    const record = await this.readOwn(group);
    if (!record) throw new Error('sender key: none made for this group');
    const distribution = senderKeyDistribution(deserializeState(record.key));
    const bytes = encodeDistribution(distribution);
    distribution.chainKey.fill(0);
    return bytes;
  }

  /** Records that `user`'s `devices` were sent the current key's distribution. */
  sent(group: string, user: string, devices: readonly number[]): Promise<void> {
    return this.ownLocks.run(group, () => this.record(group, user, devices));
  }

  private async record(group: string, user: string, devices: readonly number[]): Promise<void> {
    const record = await this.readOwn(group);
    if (!record) return;
    const keyId = deserializeState(record.key).keyId;
    const before = await this.readSent(group, record, keyId);
    const had = before[user] ?? [];
    await this.updateSent(group, record, keyId, { ...before, [user]: [...new Set([...had, ...devices])] });
  }

  /** Forgets that `user`'s devices hold the key (devices gone or replaced): they are sent it again. */
  unsent(group: string, user: string, devices?: readonly number[]): Promise<void> {
    return this.ownLocks.run(group, () => this.forgetSent(group, user, devices));
  }

  private async forgetSent(group: string, user: string, devices?: readonly number[]): Promise<void> {
    const record = await this.readOwn(group);
    if (!record) return;
    const keyId = deserializeState(record.key).keyId;
    const before = await this.readSent(group, record, keyId);
    const had = before[user];
    if (!had) return;
    const left = devices === undefined ? [] : had.filter((d) => !devices.includes(d));
    await this.updateSent(group, record, keyId, { ...before, [user]: left });
  }

  /** Marks the own key in `group` for rotation before the next message (ARCH §8.8). */
  rotate(group: string): Promise<void> {
    return this.ownLocks.run(group, async () => {
      const record = await this.readOwn(group);
      if (record && !record.rotate) await this.writeOwn(group, { ...record, rotate: true });
    });
  }

  /**
   * Encrypts one group message under the own key and stores the advanced state before returning, so the
   * iteration is never used twice. `seq` is the number the plaintext carries (`own().nextSeq`). Reads and
   * writes only the chain record, whatever the group's size.
   */
  encrypt(group: string, plaintext: Uint8Array, associatedData: Uint8Array, seq: number): Promise<Uint8Array> {
    return this.ownLocks.run(group, async () => {
      const record = await this.readOwn(group);
      if (!record) throw new Error('sender key: none made for this group');
      const { state, message } = senderKeyEncrypt(deserializeState(record.key), plaintext, associatedData);
      await this.writeOwn(group, { ...record, key: serializeState(state), seq });
      return message;
    });
  }

  /**
   * Takes a member device's distribution. A key already held is kept as it is (it can read on from where it
   * is); a new key becomes current and the one before stays for messages in flight. Returns false for bytes
   * that are no distribution.
   */
  async accept(group: string, user: string, device: number, bytes: Uint8Array): Promise<boolean> {
    const distribution = decodeDistribution(bytes);
    if (!distribution) return false;
    const state = stateFromDistribution(distribution);
    distribution.chainKey.fill(0);
    const record = await this.readMember(group, user, device);
    const current = record ? deserializeState(record.current) : null;
    if (current?.keyId === state.keyId) return true;
    const next: MemberRecord = { current: serializeState(state), previous: record?.current ?? null };
    await this.store.set(StoreKeys.senderKeyIndex(user, device, state.keyId), group);
    await this.store.set(StoreKeys.memberSenderKey(group, user, device), JSON.stringify(next));
    if (record?.previous) await this.store.delete(StoreKeys.senderKeyIndex(user, device, deserializeState(record.previous).keyId));
    return true;
  }

  /** The group whose sender key from that device signed `message`, or null when no key it names is held. */
  async groupOf(user: string, device: number, message: Uint8Array): Promise<string | null> {
    const parsed = decodeSenderKeyMessage(message);
    if (!parsed) return null;
    return (await this.store.get(StoreKeys.senderKeyIndex(user, device, parsed.keyId))) ?? null;
  }

  /**
   * Opens a member device's group message and stores the advanced state; null when no held key opens it
   * (which check failed is not said).
   */
  async decrypt(group: string, user: string, device: number, message: Uint8Array, associatedData: Uint8Array): Promise<Uint8Array | null> {
    const record = await this.readMember(group, user, device);
    if (!record) return null;
    for (const which of ['current', 'previous'] as const) {
      const text = record[which];
      if (text === null) continue;
      const result = senderKeyDecrypt(deserializeState(text), message, associatedData, this.now());
      if (!result.ok) continue;
      await this.store.set(StoreKeys.memberSenderKey(group, user, device), JSON.stringify({ ...record, [which]: serializeState(result.state) }));
      return result.plaintext;
    }
    return null;
  }

  /** Forgets every key of `user`'s devices in `group`: a removed member's messages open no more. */
  async forgetMember(group: string, user: string): Promise<void> {
    for (const key of await this.store.list(`${StoreKeys.memberSenderKeyPrefix(group)}${user}/`)) await this.deleteMemberKey(key);
  }

  /** Forgets every key of `group`, own and members': this device left or was removed. */
  async forgetGroup(group: string): Promise<void> {
    for (const key of await this.store.list(StoreKeys.memberSenderKeyPrefix(group))) await this.deleteMemberKey(key);
    await this.store.delete(StoreKeys.ownSenderKey(group));
    this.sentCache.delete(group);
    await this.store.delete(StoreKeys.ownSenderKeySent(group));
  }

  private async deleteMemberKey(key: string): Promise<void> {
    const [user, device] = key.split('/').slice(-2);
    const record = parse(MemberRecord, await this.store.get(key));
    for (const text of [record?.current, record?.previous]) {
      if (text) await this.store.delete(StoreKeys.senderKeyIndex(user!, Number(device), deserializeState(text).keyId));
    }
    await this.store.delete(key);
  }

  private async readOwn(group: string): Promise<OwnRecord | null> {
    return parse(OwnRecord, await this.store.get(StoreKeys.ownSenderKey(group)));
  }

  /**
   * Writes the chain record. One written before the split still holds the devices: they go to their own record
   * first, so a failure between the two writes leaves both saying the same.
   */
  private async writeOwn(group: string, record: OwnRecord): Promise<void> {
    const { sentTo, ...chain } = record;
    if (sentTo) await this.writeSent(group, deserializeState(record.key).keyId, sentTo);
    await this.store.set(StoreKeys.ownSenderKey(group), JSON.stringify(chain));
  }

  /** The devices sent the key `keyId` of this chain record: from the record itself when written before the split. */
  private async readSent(group: string, record: OwnRecord, keyId: number): Promise<SentTo> {
    if (record.sentTo) return record.sentTo;
    const text = await this.store.get(StoreKeys.ownSenderKeySent(group));
    const cached = this.sentCache.get(group);
    let sent: SentRecord | null;
    if (text !== undefined && cached?.text === text) sent = cached.record;
    else {
      sent = parse(SentRecord, text);
      if (sent && text !== undefined) this.sentCache.set(group, { text, record: sent });
      else this.sentCache.delete(group);
    }
    return sent?.keyId === keyId ? sent.sentTo : {};
  }

  private async updateSent(group: string, record: OwnRecord, keyId: number, sentTo: SentTo): Promise<void> {
    // A record from before the split is split now: its own copy of the devices would go stale.
    if (record.sentTo) await this.writeOwn(group, { ...record, sentTo });
    else await this.writeSent(group, keyId, sentTo);
  }

  private async writeSent(group: string, keyId: number, sentTo: SentTo): Promise<void> {
    const record = { keyId, sentTo };
    const text = JSON.stringify(record);
    this.sentCache.delete(group);
    await this.store.set(StoreKeys.ownSenderKeySent(group), text);
    this.sentCache.set(group, { text, record });
  }

  private async readMember(group: string, user: string, device: number): Promise<MemberRecord | null> {
    return parse(MemberRecord, await this.store.get(StoreKeys.memberSenderKey(group, user, device)));
  }
}

function parse<T>(schema: v.GenericSchema<unknown, T>, text: string | undefined): T | null {
  if (text === undefined) return null;
  try {
    const parsed = v.safeParse(schema, JSON.parse(text));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}
