import * as v from 'valibot';
import { type Envelope, UserId } from '../../../protocol/frames';
import type { ServiceLimits } from '../../../protocol/frames';
import type { Control } from '../crypto/plaintext';
import { randomId } from '../crypto/random';
import { EbbError } from '../errors';
import type { Identity } from '../identity/identity';
import { KeyedQueue } from '../keyed-queue';
import type { GroupOpened, GroupReceiver } from '../session/inbox';
import { MESSAGE_ID_BYTES, type Outbox } from '../session/outbox';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { GroupEvent, GroupInfo, SendResult } from '../types';
import type { SenderKeys } from './distribution';
import {
  type GroupState,
  type GroupUpdate,
  type SignedGroupChange,
  addMembers,
  addedWithout,
  batchChanges,
  createGroup,
  decodeChanges,
  encodeChanges,
  leaveGroup,
  openGroup,
  parseGroupId,
  parseGroupState,
  promoteMembers,
  receiveChanges,
  removeMembers,
  renameGroup,
  serializeGroupState,
} from './state';
import type { GroupOutgoing, GroupSender } from './wiring-send';
import { groupLane, isGroupEnvelope, openGroupMessage } from './wiring-receive';

export interface GroupServiceOptions {
  readonly identity: Identity;
  readonly store: KeyStore;
  readonly outbox: Outbox;
  readonly sender: GroupSender;
  readonly senderKeys: SenderKeys;
  readonly now: () => number;
  /** The deployment's limits once connected (`maxGroupSize`, `maxCiphertextBytes`). */
  readonly limits: () => Promise<ServiceLimits>;
  readonly emit: (event: GroupEvent) => void;
}

/** A group as this device keeps it: its signed changes, and members whose accounts the service said are gone. */
interface Entry {
  readonly state: GroupState;
  /** Users the service answered `unknown` for (account deleted): left out of sends and of GroupInfo here. */
  readonly gone: ReadonlySet<string>;
  /**
   * The member whose device handed this device the group's history (the admin who added this account, or its
   * creator): its devices may also pass on changes others made, which this device may have missed.
   */
  readonly adder: string | null;
}

/** An entry as `keep` stores it: the state module's serialized group, and what this device adds to it. */
const StoredEntry = v.object({ state: v.string(), gone: v.array(UserId), adder: v.nullable(UserId) });

/** Members changes are sent to at once: one user's sends queue behind each other anyway. */
const SEND_CONCURRENCY = 8;
/** Bytes of changes one control message carries at most, well below the smallest `maxCiphertextBytes` with its header. */
const MAX_CHANGES_BYTES_FLOOR = 8 * 1024;
/** Changes of a group not yet joined, kept while the rest of its snapshot arrives. */
const MAX_PENDING_CHANGES = 512;
/** Sender keys kept for groups whose history has not arrived: per group, and groups at once. */
const MAX_PENDING_KEYS_PER_GROUP = 64;
const MAX_PENDING_GROUPS = 64;

/**
 * Groups in EbbClient (ARCH §8.8): the groups this device is in, kept in the store as their signed changes
 * (groups/state.ts), changed by this device's admins' calls and by changes other members' devices send over
 * the pairwise sessions; group messages sent with the sender keys (wiring-send.ts) and opened for the inbox
 * (wiring-receive.ts). Everything one group does — sends, changes made here and received — runs in one lane.
 */
export class GroupService implements GroupReceiver {
  private readonly groups = new Map<string, Entry>();
  private readonly lanes = new KeyedQueue();
  /** Changes of groups this device is not in yet, by group, while a snapshot split over messages arrives. */
  private readonly pending = new Map<string, SignedGroupChange[]>();
  /** Sender keys for groups this device does not hold yet (a device linked since, its history on the way). */
  private readonly pendingKeys = new Map<string, { from: { user: string; device: number }; body: Uint8Array }[]>();

  constructor(private readonly options: GroupServiceOptions) {}

  /** Reads the groups the store holds; one that does not parse or verify is left out (and left in the store). */
  async load(): Promise<void> {
    const { store } = this.options;
    for (const key of await store.list(StoreKeys.groupPrefix)) {
      const text = await store.get(key);
      if (text === undefined) continue;
      try {
        const stored = v.safeParse(StoredEntry, JSON.parse(text));
        if (!stored.success) continue;
        const state = parseGroupState(stored.output.state);
        const id = key.slice(StoreKeys.groupPrefix.length);
        if (state.id === id) this.groups.set(id, { state, gone: new Set(stored.output.gone), adder: stored.output.adder });
      } catch {
        // Left in the store, unread: a state this version cannot check is not this device's to destroy.
      }
    }
  }

  list(): GroupInfo[] {
    return [...this.groups.values()].map(infoOf);
  }

  get(id: string): GroupInfo | undefined {
    const entry = this.groups.get(id);
    return entry && infoOf(entry);
  }

  async create(name: string, members: readonly string[]): Promise<GroupInfo> {
    const limits = await this.options.limits();
    const update = createGroup(this.options.identity, { name, members }, { maxGroupSize: limits.maxGroupSize });
    return this.lanes.run(update.state.id, async () => {
      await this.keep({ state: update.state, gone: new Set(), adder: null });
      for (const event of update.events) this.options.emit(event);
      await this.publish(update.state, update.changes, update.state.info.members);
      return infoOf(this.groups.get(update.state.id)!);
    });
  }

  /** Applies a local change (add, remove, rename, leave) and sends it to every member before and after it. */
  async change(id: string, make: (state: GroupState, maxGroupSize: number) => GroupUpdate & { changes: SignedGroupChange[] }): Promise<GroupInfo> {
    parseGroupId(id);
    const limits = await this.options.limits();
    return this.lanes.run(id, async () => {
      const entry = this.require(id);
      const update = make(entry.state, limits.maxGroupSize);
      const before = entry.state.info.members;
      const self = this.options.identity.userId;
      const stillIn = update.state.info.members.includes(self);
      if (stillIn) await this.keep({ ...entry, state: update.state });
      await this.applyEffects(id, update);
      for (const event of update.events) this.options.emit(event);
      const everyone = [...new Set([...before, ...update.state.info.members])];
      await this.publish(update.state, update.changes, everyone, update.added);
      if (!stillIn) await this.drop(id);
      return infoOf({ ...entry, state: update.state });
    });
  }

  add(id: string, users: readonly string[]): Promise<GroupInfo> {
    return this.change(id, (state, maxGroupSize) => addMembers(state, this.options.identity, users, { maxGroupSize }));
  }

  remove(id: string, users: readonly string[]): Promise<GroupInfo> {
    return this.change(id, (state) => removeMembers(state, this.options.identity, users));
  }

  promote(id: string, users: readonly string[]): Promise<GroupInfo> {
    return this.change(id, (state) => promoteMembers(state, this.options.identity, users));
  }

  rename(id: string, name: string): Promise<GroupInfo> {
    return this.change(id, (state) => renameGroup(state, this.options.identity, name));
  }

  leave(id: string): Promise<GroupInfo> {
    return this.change(id, (state) => leaveGroup(state, this.options.identity));
  }

  /**
   * Sends a group message to every member device and this account's other devices.
   * @throws EbbError NOT_FOUND when this device is in no group with this id.
   */
  send(id: string, message: GroupOutgoing): Promise<SendResult> {
    parseGroupId(id);
    return this.lanes.run(id, async () => {
      const entry = this.require(id);
      const members = entry.state.info.members.filter((m) => !entry.gone.has(m));
      return this.options.sender.send(id, members, message, (users) => this.forgetGone(id, users));
    });
  }

  // --- GroupReceiver (session/inbox.ts)

  isGroupMessage(envelope: Envelope): boolean {
    return isGroupEnvelope(envelope);
  }

  open(envelope: Envelope): Promise<GroupOpened | 'wait' | null> {
    const { identity, senderKeys, now } = this.options;
    return openGroupMessage(envelope, {
      identity,
      senderKeys,
      now,
      membership: {
        members: (group) => this.groups.get(group)?.state.info.members ?? null,
        sharesGroup: (user) =>
          [...this.groups.values()].some((e) => e.state.info.members.includes(user)) ||
          [...this.pendingKeys.values()].some((keys) => keys.some((k) => k.from.user === user)),
      },
    });
  }

  async control(from: { user: string; device: number }, control: Control, body: Uint8Array): Promise<{ lane: string; seq: number } | void> {
    if (control.type === 'groupSync') {
      if (from.user === this.options.identity.userId) void this.shareWithOwnDevices().catch(() => undefined);
      return;
    }
    if (control.type === 'senderKey') {
      const group = control.group;
      if (!this.groups.has(group)) return this.keepForLater(group, from, body);
      // A key only from a member, for a group this device is in: anyone else's is dropped.
      if (!this.groups.get(group)?.state.info.members.includes(from.user)) return;
      if (!(await this.options.senderKeys.accept(group, from.user, from.device, body))) return;
      return { lane: groupLane(group, from.user), seq: control.seq };
    }
    if (control.type === 'group') {
      const changes = decodeChanges(body);
      const group = changes?.[0]?.group;
      if (!changes || group === undefined || changes.some((c) => c.group !== group)) return;
      await this.lanes.run(group, () => this.received(group, from, changes));
    }
  }

  /**
   * Changes a member's device sent: for a known group, only those its author's device sent itself (ARCH §8.8);
   * for a group this device is not in, a snapshot from which it checks its own membership from the root, taken
   * only from a device of the admin who added it.
   */
  private async received(group: string, from: { user: string; device: number }, changes: SignedGroupChange[]): Promise<void> {
    const entry = this.groups.get(group);
    let update: GroupUpdate | null;
    let adder = entry?.adder ?? null;
    if (entry) {
      const relayed = from.user === entry.adder || from.user === this.options.identity.userId;
      const taken = changes.filter((c) => relayed || (c.author.user === from.user && c.author.device === from.device));
      if (taken.length === 0) return;
      update = receiveChanges(entry.state, taken);
      // In the background: sending waits for the connection, and this may run inside the connect's drain.
      void this.relay(update.state, taken).catch(() => undefined);
    } else {
      const kept = [...(this.pending.get(group) ?? []), ...changes].slice(-MAX_PENDING_CHANGES);
      update = openGroup({ v: 2, group, changes: kept }, this.options.identity.userId);
      const by = update?.events[0]?.by;
      if (!update || (by !== from.user && from.user !== this.options.identity.userId)) {
        if (this.pending.has(group) || this.pending.size < MAX_PENDING_GROUPS) this.pending.set(group, kept);
        return;
      }
      this.pending.delete(group);
      adder = from.user;
    }
    if (update.events.length === 0 && update.state === entry?.state) return;
    const self = this.options.identity.userId;
    if (update.state.info.members.includes(self)) await this.keep({ state: update.state, gone: entry?.gone ?? new Set(), adder });
    await this.applyEffects(group, update);
    for (const event of update.events) this.options.emit(event);
    if (!update.state.info.members.includes(self)) await this.drop(group);
    else if (!entry) await this.takeKeptKeys(group);
  }

  /**
   * Asks this account's other devices for the history of every group the account is in, once: a device linked
   * after groups were made holds none of them (ARCH §8.9). Best effort: a failure asks again on the next connect.
   */
  async syncOnce(): Promise<void> {
    const { identity, store } = this.options;
    if (identity.device === 1 || (await store.get(StoreKeys.groupsSynced)) !== undefined) return;
    await this.options.outbox.send({ id: randomId(MESSAGE_ID_BYTES), to: identity.userId, body: new Uint8Array(0), control: { type: 'groupSync' } });
    await store.set(StoreKeys.groupsSynced, '1');
  }

  /** Sends the history of every group this device holds to this account's other devices. */
  private async shareWithOwnDevices(): Promise<void> {
    for (const group of [...this.groups.keys()]) {
      await this.lanes.run(group, async () => {
        const entry = this.groups.get(group);
        if (entry) await this.publish(entry.state, [], [], [this.options.identity.userId]);
      });
    }
  }

  /** A sender key for a group not held yet: kept in memory, a few per group, until its history arrives. */
  private keepForLater(group: string, from: { user: string; device: number }, body: Uint8Array): void {
    if (!this.pendingKeys.has(group) && this.pendingKeys.size >= MAX_PENDING_GROUPS) return;
    const kept = [...(this.pendingKeys.get(group) ?? []), { from, body: body.slice() }];
    this.pendingKeys.set(group, kept.slice(-MAX_PENDING_KEYS_PER_GROUP));
  }

  private async takeKeptKeys(group: string): Promise<void> {
    const kept = this.pendingKeys.get(group) ?? [];
    this.pendingKeys.delete(group);
    const members = this.groups.get(group)?.state.info.members ?? [];
    for (const { from, body } of kept) {
      if (members.includes(from.user)) await this.options.senderKeys.accept(group, from.user, from.device, body);
      body.fill(0);
    }
  }

  /**
   * What a change means for sender keys (ARCH §8.8): a removed member's keys are forgotten, and this device's
   * own key is rotated before its next message, which gives the new key to the members of that moment only.
   * Members added get the current key when this device next sends: from its current iteration on.
   */
  private async applyEffects(group: string, update: GroupUpdate): Promise<void> {
    if (update.removed.length === 0) return;
    for (const user of update.removed) await this.options.senderKeys.forgetMember(group, user);
    await this.options.senderKeys.rotate(group);
  }

  /** Sends `changes` to `users` (this account's other devices included); `joined` get every change of the group. */
  private async publish(
    state: GroupState,
    changes: readonly SignedGroupChange[],
    users: readonly string[],
    joined: readonly string[] = [],
    ownDevices = true,
  ): Promise<void> {
    const limits = await this.options.limits();
    const budget = Math.max(MAX_CHANGES_BYTES_FLOOR, limits.maxCiphertextBytes - 2048);
    const plain = batchChanges(changes, budget).map(encodeChanges);
    const full = batchChanges(state.changes, budget).map(encodeChanges);
    const queue = [...new Set([...users, ...(ownDevices ? [this.options.identity.userId] : [])])];
    const worker = async () => {
      for (let user = queue.shift(); user !== undefined; user = queue.shift()) {
        for (const body of joined.includes(user) ? full : plain) {
          const sent = await this.options.outbox
            .send({ id: randomId(MESSAGE_ID_BYTES), to: user, body, control: { type: 'group' } })
            .then(() => true)
            .catch((err: unknown) => {
              // No device that can receive it (no other own device, account gone) or an unaccepted identity: skipped.
              if (EbbError.is(err, 'NOT_FOUND') || EbbError.is(err, 'FORBIDDEN')) return false;
              throw err;
            });
          if (!sent) break;
        }
      }
    };
    await Promise.all(Array.from({ length: SEND_CONCURRENCY }, worker));
  }

  private async forgetGone(group: string, users: readonly string[]): Promise<void> {
    const entry = this.groups.get(group);
    if (!entry) return;
    await this.keep({ ...entry, gone: new Set([...entry.gone, ...users]) });
    for (const user of users) await this.options.senderKeys.forgetMember(group, user);
  }

  private require(id: string): Entry {
    const entry = this.groups.get(id);
    if (!entry) throw new EbbError('NOT_FOUND', 'this device is in no group with this id', { retryable: false });
    return entry;
  }

  private async keep(entry: Entry): Promise<void> {
    const { state, gone, adder } = entry;
    await this.options.store.set(StoreKeys.group(state.id), JSON.stringify({ state: serializeGroupState(state), gone: [...gone], adder }));
    this.groups.set(state.id, entry);
  }

  /**
   * Passes changes others made on to the members this account added concurrently with them: their authors did
   * not know those members, and this device's history snapshot to them did not hold the changes (`addedWithout`:
   * the add is neither an ancestor nor a descendant of the change). So an admin's add and another admin's
   * concurrent change reach everyone, every member folds the same set, and no later change waits forever on a
   * parent a member never got.
   */
  private async relay(state: GroupState, changes: readonly SignedGroupChange[]): Promise<void> {
    const self = this.options.identity.userId;
    const byMember = new Map<string, SignedGroupChange[]>();
    for (const change of changes) {
      if (change.author.user === self) continue;
      for (const m of addedWithout(state, self, change)) byMember.set(m, [...(byMember.get(m) ?? []), change]);
    }
    for (const [member, list] of byMember) await this.publish(state, list, [member], [], false);
  }

  /** This device left or was removed: the group and every sender key of it are forgotten. */
  private async drop(group: string): Promise<void> {
    this.groups.delete(group);
    await this.options.store.delete(StoreKeys.group(group));
    await this.options.senderKeys.forgetGroup(group);
  }
}

function infoOf(entry: Entry): GroupInfo {
  const { info } = entry.state;
  const present = (m: string) => !entry.gone.has(m);
  return { id: info.id, name: info.name, members: info.members.filter(present), admins: info.admins.filter(present) };
}
