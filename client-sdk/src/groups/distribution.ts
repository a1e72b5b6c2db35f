import * as z from 'zod/mini';
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
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';

/**
 * The sender keys of the groups this device is in (ARCH §8.7, §8.8): its own one per group, with the member
 * devices that hold its distribution, and every member device's, found by key id (a group message names no
 * group in the clear). Own keys are rotated lazily: a removal marks the key, and the next send makes a new one,
 * which goes only to the members of that moment.
 */

/** This device's sender key in one group, as stored. */
const OwnRecord = z.object({
  key: z.string(),
  /** The last sequence number a group message of this device carried; it continues across rotations. */
  seq: z.number().check(z.int(), z.minimum(0)),
  /** Member devices, by user id, that were sent this key's distribution. */
  sentTo: z.record(z.string(), z.array(z.number())),
  /** Set when a member left or was removed: the next send makes a new key first. */
  rotate: z.boolean(),
});
type OwnRecord = z.infer<typeof OwnRecord>;

/** A member device's keys: the newest, and the one before it for messages still in flight across a rotation. */
const MemberRecord = z.object({ current: z.string(), previous: z.nullable(z.string()) });
type MemberRecord = z.infer<typeof MemberRecord>;

/** What to send before a group message: the distribution of the key it is encrypted with. */
export interface OwnKey {
  readonly keyId: number;
  /** Member devices, by user id, that have the distribution already. */
  readonly sentTo: Readonly<Record<string, readonly number[]>>;
  /** The sequence number the next group message will carry. */
  readonly nextSeq: number;
}

export class SenderKeys {
  constructor(
    private readonly store: KeyStore,
    private readonly now: () => number,
  ) {}

  /** This device's current key in `group`, made (or rotated) first when there is none or a removal asked for it. */
  async own(group: string): Promise<OwnKey> {
    let record = await this.readOwn(group);
    if (!record || record.rotate) {
      const previous = record ? deserializeState(record.key).keyId : undefined;
      record = { key: serializeState(createSenderKey(previous)), seq: record?.seq ?? 0, sentTo: {}, rotate: false };
      await this.store.set(StoreKeys.ownSenderKey(group), JSON.stringify(record));
    }
    return { keyId: deserializeState(record.key).keyId, sentTo: record.sentTo, nextSeq: record.seq + 1 };
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
  async sent(group: string, user: string, devices: readonly number[]): Promise<void> {
    const record = await this.readOwn(group);
    if (!record) return;
    const had = record.sentTo[user] ?? [];
    const sentTo = { ...record.sentTo, [user]: [...new Set([...had, ...devices])] };
    await this.store.set(StoreKeys.ownSenderKey(group), JSON.stringify({ ...record, sentTo }));
  }

  /** Forgets that `user`'s devices hold the key (devices gone or replaced): they are sent it again. */
  async unsent(group: string, user: string, devices?: readonly number[]): Promise<void> {
    const record = await this.readOwn(group);
    if (!record?.sentTo[user]) return;
    const left = devices === undefined ? [] : record.sentTo[user].filter((d) => !devices.includes(d));
    const sentTo = { ...record.sentTo, [user]: left };
    await this.store.set(StoreKeys.ownSenderKey(group), JSON.stringify({ ...record, sentTo }));
  }

  /** Marks the own key in `group` for rotation before the next message (ARCH §8.8). */
  async rotate(group: string): Promise<void> {
    const record = await this.readOwn(group);
    if (record && !record.rotate) await this.store.set(StoreKeys.ownSenderKey(group), JSON.stringify({ ...record, rotate: true }));
  }

  /**
   * Encrypts one group message under the own key and stores the advanced state before returning, so the
   * iteration is never used twice. `seq` is the number the plaintext carries (`own().nextSeq`).
   */
  async encrypt(group: string, plaintext: Uint8Array, associatedData: Uint8Array, seq: number): Promise<Uint8Array> {
    const record = await this.readOwn(group);
    if (!record) throw new Error('sender key: none made for this group');
    const { state, message } = senderKeyEncrypt(deserializeState(record.key), plaintext, associatedData);
    await this.store.set(StoreKeys.ownSenderKey(group), JSON.stringify({ ...record, key: serializeState(state), seq }));
    return message;
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

  private async readMember(group: string, user: string, device: number): Promise<MemberRecord | null> {
    return parse(MemberRecord, await this.store.get(StoreKeys.memberSenderKey(group, user, device)));
  }
}

function parse<T>(schema: z.ZodMiniType<T>, text: string | undefined): T | null {
  if (text === undefined) return null;
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}
