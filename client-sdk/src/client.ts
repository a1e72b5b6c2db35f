import * as v from 'valibot';
import { MessageId, UserId, Username } from '../../protocol/frames';
import { Limits } from '../../protocol/limits';
import type { ServiceLimits, ServiceStatus } from '../../protocol/frames';
import {
  ARCHIVE_FORMAT,
  ARCHIVE_VERSION,
  type ArchiveContents,
  collectEntries,
  entriesToRestore,
  parseContents,
  writeEntries,
} from './archive/contents';
import { openArchive, sealArchive } from './archive/format';
import { type AttachmentTransport, bindAttachment, bindAttachments } from './attachments/received';
import { checkAttachments, uploadAttachments } from './attachments/upload';
import { parseGroupId } from './groups/group-id';
import {
  ATTACHMENT_REF_DIGEST_BYTES,
  ATTACHMENT_REF_KEY_BYTES,
  type AttachmentRef,
  AttachmentRefWire,
  attachmentRefFromWire,
} from '../../protocol/attachment-ref';
import { ATTACHMENT_ID_RANDOM_BYTES, MAX_ATTACHMENT_CLASS_DAYS } from '../../protocol/attachments';
import { EbbError, badRequest, toEbbError, withMessageId } from './errors';
import { randomId } from './crypto/random';
import { Emitter } from './events';
import { type Identity, loadOrCreateIdentity, parseIdentity } from './identity/identity';
import { PeerDirectory } from './identity/peers';
import { safetyNumber } from './identity/safety-number';
import { type EbbClientOptions, type Settings, resolveOptions } from './options';
import { ACK_CLOSE_WAIT_MS, ACK_RIDE_MARGIN_MS, AckBatcher, carryingAcks } from './session/acks';
import { DeliveryTokens } from './session/delivery-tokens';
import { OwnDevices } from './session/devices';
import { type PendingLink, approveLink, startLink } from './session/linking';
import { ReceiptBatcher } from './session/receipts';
import { handshake } from './session/handshake';
import { PREKEY_TARGET, replenishPrekeys } from './session/prekeys';
import { Inbox } from './session/inbox';
import { type PushSubscriptionInput, pushSubscriptionOf } from './session/push';
import { MESSAGE_ID_BYTES, Outbox } from './session/outbox';
import { type Reportable, Reportables } from './session/reportables';
import { Sessions } from './session/sessions';
import { StoreKeys } from './store/layout';
import { Connection } from './transport/connection';
import { signedConnectUrl } from './transport/connect-url';
import { DeviceRemovedPush, KeysLowPush, MessagePush, NoticePush } from '../../protocol/server-frames';
import { retryingRateLimited } from './transport/retry-after';
import { resolveWebSocket } from './transport/websocket';
import { SenderKeys } from './groups/distribution';
import { GroupService } from './groups/wiring';
import { GroupSender } from './groups/wiring-send';
import type {
  DeviceInfo,
  EbbClientEvents,
  GroupInfo,
  LinkStart,
  OutgoingAttachment,
  ReceivedAttachment,
  ReportedMessage,
  ReportResult,
  SendOptions,
  SendResult,
} from './types';

/**
 * An ebb account on one device: connects, keeps the connection alive, encrypts what it sends and
 * hands each received message to the app exactly once.
 */
export class EbbClient {
  private readonly events = new Emitter<EbbClientEvents>();
  // Wired for the identity in `wire()`, again when startLink() makes this client another account's device.
  private connection!: Connection;
  private acks!: AckBatcher;
  private inbox!: Inbox;
  private outbox!: Outbox;
  private peers!: PeerDirectory;
  private sessions!: Sessions;
  private reportables!: Reportables;
  private deliveryTokens!: DeliveryTokens;
  private ownDevices!: OwnDevices;
  private receipts!: ReceiptBatcher;
  private groupService!: GroupService;
  private limits: ServiceLimits | null = null;
  private refilling: Promise<void> | null = null;
  private registered: boolean;
  private connectCalled = false;
  private pendingLink: PendingLink | null = null;
  private attachmentTransport!: AttachmentTransport;

  /**
   * Loads the identity from `options.store`, creating and saving one on first use. Does not connect.
   * @throws EbbError BAD_REQUEST (not retryable) for invalid options.
   * @throws EbbError INTERNAL (not retryable) when the stored identity is corrupt, or the store
   *   holds an archive import that neither finished nor could be rolled back (clear it, import again).
   * @throws EbbError INTERNAL (retryable) when the store fails; its error is the `cause`.
   */
  static async create(options: EbbClientOptions): Promise<EbbClient> {
    try {
      const settings = resolveOptions(options);
      if ((await settings.store.get(StoreKeys.importing)) !== undefined) {
        throw new EbbError('INTERNAL', 'the store holds an unfinished archive import: clear it and import again', { retryable: false });
      }
      const identity = await loadOrCreateIdentity(settings.store);
      if (options.device !== undefined && options.device !== identity.device) {
        throw badRequest(`device: this store holds device ${identity.device} of its account`);
      }
      const client = new EbbClient(
        { ...settings, device: identity.device },
        identity,
        (await settings.store.get(StoreKeys.registered)) === settings.url,
      );
      await client.groupService.load();
      return client;
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Restores an account from `exportArchive` into `options.store`, which must be empty, and returns
   * a client for it that is not yet connected. The user id stays the same, so contacts reach the
   * user on whichever deployment `options.url` names: connect() registers the account there if it
   * is new to it and publishes fresh prekeys. Messages still queued on the old deployment are not in
   * the archive. Sessions do not continue: the archived device may have sent on them after the
   * export, so the next message to each peer device starts a new session (X3DH), which peers take
   * without an identity warning. Identity, contacts, accepted identities and safety numbers stay as they
   * were; the archived sessions still open what peers send on them until they switch.
   *
   * Everything is decrypted and checked before the first write to the store, and a failed write
   * deletes what was written: the store ends up either fully imported or as it was.
   * `options.device` defaults to the archive's device; sessions belong to that device number.
   * @throws EbbError BAD_REQUEST (not retryable) for invalid options, a `device` other than the
   *   archive's, or bytes that do not open with `passphrase`: "wrong passphrase or damaged archive"
   *   (which check failed is not said).
   * @throws EbbError CONFLICT (not retryable) when the store is not empty.
   * @throws EbbError INTERNAL (retryable) when the store fails; its error is the `cause`. Whatever
   *   was written has been deleted again, unless the store failed that too: create() then refuses it.
   */
  static async importArchive(bytes: Uint8Array, passphrase: string, options: EbbClientOptions): Promise<EbbClient> {
    if (!(bytes instanceof Uint8Array)) throw badRequest('bytes: must be a Uint8Array');
    if (typeof passphrase !== 'string') throw badRequest('passphrase: must be a string');
    const settings = resolveOptions(options);
    try {
      if ((await settings.store.list('')).length > 0) {
        throw new EbbError('CONFLICT', 'store: must be empty to import an archive into it', { retryable: false });
      }
      const opened = await openArchive(bytes, passphrase);
      const contents = opened && parseContents(opened);
      if (!contents) throw badRequest('wrong passphrase or damaged archive');
      if (options.device !== undefined && options.device !== contents.device) {
        throw badRequest(`device: the archive holds device ${contents.device} of its account`);
      }
      const identity = parseIdentity(contents.entries.find(([key]) => key === StoreKeys.identity)![1])!;
      // A linked device's archive restores that device: its number is in its identity, and must agree.
      if (identity.device !== contents.device) throw badRequest('wrong passphrase or damaged archive');
      await writeEntries(settings.store, entriesToRestore(contents.entries));
      const client = new EbbClient({ ...settings, device: contents.device }, identity, false);
      await client.groupService.load();
      return client;
    } catch (err) {
      throw toEbbError(err);
    }
  }

  private constructor(
    private settings: Settings,
    private identity: Identity,
    registered: boolean,
  ) {
    this.registered = registered;
    this.wire();
  }

  /** Builds the connection and the send and receive paths for `this.identity`. */
  private wire(): void {
    const { settings, identity } = this;
    const { store, device, now, timeoutMs, prekeyPolicy } = settings;
    this.connection = new Connection({
      // Only device 1 registers: a linked device's key is known to the service from the start.
      connectUrl: () => signedConnectUrl(settings.url, identity, device, Math.floor(now()), device === 1 && !this.registered),
      webSocket: () => resolveWebSocket(settings.WebSocket),
      setup: (request) =>
        handshake(request, {
          identity,
          url: settings.url,
          device,
          store,
          inbox: this.inbox,
          sessions: this.sessions,
          ownDevices: this.ownDevices,
          now,
          prekeyPolicy,
          onStatus: (status) => (this.limits = status.limits),
          onRegistered: () => (this.registered = true),
        }),
      onPush: (type, frame) => this.onPush(type, frame),
      onStopped: (error) => this.events.emit('error', error),
      timeoutMs,
      backoff: settings.backoff,
    });
    this.acks = new AckBatcher(
      (messages) => this.connection.request('ack', { messages }, 'open'),
      (messages) => this.connection.post('ack', { messages, quiet: true }),
      // A receipt on its way carries the acks (ARCH §6.5): the usual one confirms the message its ack names,
      // alone or inside a reply (ARCH §8.6), so the acks outwait the receipts.
      () => this.receipts.pending,
      settings.receiptWaitMs + ACK_RIDE_MARGIN_MS,
    );
    this.attachmentTransport = {
      routes: {
        // Presigning is idempotent (each call names a new object), so a rate-limited one may simply go again.
        presignUpload: (size, expiresInSeconds) =>
          retryingRateLimited(
            () => this.connection.request('attachment.upload', { size, ...(expiresInSeconds !== undefined && { expiresInSeconds }) }),
            timeoutMs,
          ),
        presignDownload: (id) => retryingRateLimited(() => this.connection.request('attachment.download', { id }), timeoutMs),
      },
      ...(settings.fetch && { fetch: settings.fetch }),
    };
    this.peers = new PeerDirectory(
      store,
      (user, device) => this.connection.request('keys.bundle', device === undefined ? { user } : { user, device }),
      (userId) => this.events.emit('identityChanged', { userId }),
    );
    this.sessions = new Sessions({ identity, device, store, peers: this.peers, now, prekeyPolicy });
    this.reportables = new Reportables(store, now);
    this.deliveryTokens = new DeliveryTokens({
      store,
      url: settings.url,
      publish: (token) => this.connection.request('deliveryToken.set', { token }),
    });
    this.ownDevices = new OwnDevices(store, identity);
    this.receipts = new ReceiptBatcher({
      send: (to, control) => this.outbox.send({ id: randomId(MESSAGE_ID_BYTES), to, body: new Uint8Array(0), control }),
      delayMs: settings.receiptWaitMs,
    });
    this.inbox = new Inbox({
      identity,
      device,
      store,
      sessions: this.sessions,
      acks: this.acks,
      reportables: this.reportables,
      now,
      emit: (held) => {
        // A message held for ordering went through the store: its attachments are bound again here.
        const message = bindAttachments(held, this.attachmentTransport);
        this.events.emit('message', message);
        if (settings.receipts) void this.receipts.receipt(message.from, 'delivered', message.id);
      },
      emitSent: (sent) => {
        void this.ownDevices.add(sent.fromDevice).catch(() => undefined);
        this.events.emit('sent', bindAttachments(sent, this.attachmentTransport));
      },
      emitReceipt: (receipt) => {
        if (receipt.from === identity.userId) void this.ownDevices.add(receipt.fromDevice).catch(() => undefined);
        this.events.emit('receipt', receipt);
      },
      learnDeliveryToken: (from, token, sentAt) => this.deliveryTokens.learn(from, token, sentAt),
      adoptDeliveryToken: (token, sentAt) => this.deliveryTokens.adopt(token, sentAt),
      fetch: (after) => this.connection.request('fetch', after === undefined ? {} : { after }),
      // Built below, once the outbox it sends changes with exists.
      groups: {
        isGroupMessage: (envelope) => this.groupService.isGroupMessage(envelope),
        open: (envelope) => this.groupService.open(envelope),
        control: (from, control, body) => this.groupService.control(from, control, body),
      },
      attachment: (ref) => bindAttachment(ref, this.attachmentTransport),
    });
    this.outbox = new Outbox({
      identity,
      store,
      peers: this.peers,
      sessions: this.sessions,
      deliveryTokens: this.deliveryTokens,
      ownDevices: () => this.ownDevices.list(),
      // Receipts waiting for the recipient ride inside the message (ARCH §8.6).
      ridingReceipts: (to) => this.receipts.take(to),
      limits: async () => {
        await this.connection.whenReady(timeoutMs);
        return this.limits!;
      },
      // A send is idempotent by message id, so a rate-limited one may simply go again.
      // Each attempt carries the acks then queued (ARCH §6.5).
      send: (body) => retryingRateLimited(() => carryingAcks(this.acks, 'send', body, (b) => this.connection.request('send', b)), timeoutMs),
    });
    const senderKeys = new SenderKeys(store, now);
    const limits = async () => {
      await this.connection.whenReady(timeoutMs);
      return this.limits!;
    };
    this.groupService = new GroupService({
      identity,
      store,
      outbox: this.outbox,
      senderKeys,
      now,
      limits,
      emit: (event) => this.events.emit('group', event),
      sender: new GroupSender({
        identity,
        peers: this.peers,
        sessions: this.sessions,
        outbox: this.outbox,
        senderKeys,
        deliveryTokens: this.deliveryTokens,
        ownDevices: () => this.ownDevices.list(),
        limits,
        // Idempotent by message id, as send is: a rate-limited frame goes again.
        fanout: (body) => retryingRateLimited(() => carryingAcks(this.acks, 'fanout', body, (b) => this.connection.request('fanout', b)), timeoutMs),
      }),
    });
  }

  /** This account's self-certifying user id (ARCH §4.1). */
  get userId(): string {
    return this.identity.userId;
  }

  /** This device's number in its account: 1 for the device that created it, another for a linked device (ARCH §8.6). */
  get device(): number {
    return this.settings.device;
  }

  /**
   * Authenticates, registers a new account, publishes prekeys and drains the queue: resolves once
   * every queued message has been handed to 'message' listeners. Afterwards the client reconnects
   * by itself whenever the connection drops.
   * @throws EbbError UNAUTHORIZED (not retryable) when the server refuses the connection.
   * @throws EbbError SIGNUPS_CLOSED, SERVICE_SHUT_DOWN, ACCOUNT_SUSPENDED… (not retryable) when the
   *   service refuses this account; the socket stays open so status() and 'notice' still work.
   * @throws EbbError INTERNAL (retryable) when the service cannot be reached within `timeoutMs`.
   */
  async connect(): Promise<void> {
    if (this.pendingLink) throw badRequest('this client is waiting for a link approval: await `linked` first');
    this.connectCalled = true;
    try {
      await this.connection.connect();
    } catch (err) {
      throw toEbbError(err);
    }
    // A device linked after groups were made asks the account's other devices for them (ARCH §8.9); best effort.
    void this.groupService.syncOnce().catch(() => undefined);
  }

  /**
   * Listens for an event; returns a function that removes the listener. 'message' gets each
   * message once; 'notice' gets service notices; 'error' reports that the client stopped
   * reconnecting; 'identityChanged' reports that a peer's identity key changed (see acceptIdentity).
   */
  on<K extends keyof EbbClientEvents>(event: K, listener: (payload: EbbClientEvents[K]) => void): () => void {
    return this.events.on(event, listener);
  }

  off<K extends keyof EbbClientEvents>(event: K, listener: (payload: EbbClientEvents[K]) => void): void {
    this.events.off(event, listener);
  }

  /**
   * Starts linking this client to an existing account as a new device (ARCH §8.6). The client must be
   * fresh: created on a store with no account, never connected. Connects under a temporary identity and
   * resolves with a code to show (text or QR code) and a `linked` promise. On the device holding the
   * account key (device 1), approveLink(code) sends this device what it needs, end-to-end encrypted to
   * a key in the code; `linked` then resolves, `userId` and `device` are the account's and this device's,
   * and connect() connects as that device, publishes its keys and receives from then on. The code is good
   * for 10 minutes. Restarting the app forgets the link under way: start again.
   * @throws EbbError CONFLICT (not retryable) when the store holds an account (it registered, or was linked).
   * @throws EbbError BAD_REQUEST (not retryable) after connect(), or while a link is under way.
   * @throws EbbError UNAUTHORIZED, INTERNAL from connecting, as connect() does.
   */
  async startLink(): Promise<LinkStart> {
    if (this.pendingLink) throw badRequest('a link is already under way on this client');
    if (this.connectCalled) throw badRequest('startLink: must come before connect()');
    if (this.identity.device !== 1 || (await this.settings.store.get(StoreKeys.registered)) !== undefined) {
      throw new EbbError('CONFLICT', 'this store holds an account: link a new device with an empty store', { retryable: false });
    }
    try {
      const pending = await startLink(this.identity, this.settings);
      this.pendingLink = pending;
      const linked = pending.linked.then(
        (identity) => {
          this.pendingLink = null;
          this.identity = identity;
          this.settings = { ...this.settings, device: identity.device };
          this.registered = true;
          this.wire();
          return this.groupService.load();
        },
        (err: unknown) => {
          this.pendingLink = null;
          throw toEbbError(err);
        },
      );
      return { code: pending.code, linked };
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Links the device that shows `code` (from its startLink()) to this account, named `name` in devices()
   * (sealed: the service cannot read it). Only device 1, which holds the account key, approves. Resolves
   * with the new device's number once the service added it; the new device's `linked` then resolves. The
   * new device receives what is sent to this account from then on; contacts see no identity change.
   * Waits for connect() to finish.
   * @throws EbbError BAD_REQUEST (not retryable) with reason `malformed-link-code` or `expired-link-code`
   *   (10 minutes), or for a `name` longer than 127 bytes of UTF-8; nothing is sent.
   * @throws EbbError FORBIDDEN (not retryable) on a linked device: it does not hold the account key.
   * @throws EbbError CONFLICT (not retryable) with reason `used-link-code` when that device was linked
   *   already, `device-limit` when the account has `maxDevicesPerAccount` devices (remove one first), or
   *   `device-numbers-used` when the account used every device number (they are never reused).
   * @throws EbbError RATE_LIMITED, SERVICE_READ_ONLY and other server refusals; INTERNAL (retryable) when
   *   not answered within `timeoutMs`: approving the same code again is safe.
   */
  async approveLink(code: string, options: { readonly name?: string } = {}): Promise<number> {
    try {
      const device = await approveLink(code, options.name, {
        identity: this.identity,
        now: this.settings.now,
        deliveryToken: () => this.deliveryTokens.own(),
        addDevice: (body) => this.connection.request('device.add', body),
      });
      await this.ownDevices.add(this.device);
      await this.ownDevices.add(device);
      return device;
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * This account's devices, this one marked `current`, with the names approveLink gave them. Waits for
   * connect() to finish.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`; server refusals as the service sends them.
   */
  async devices(): Promise<DeviceInfo[]> {
    try {
      return await this.ownDevices.learn(await this.connection.request('devices.list', {}));
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Removes a device from this account: the service deletes its queue and keys and closes its sockets,
   * and refuses its connects (UNAUTHORIZED) from then on, whatever it kept. A removed device that is
   * connected is told first: it stops and emits 'error' (UNAUTHORIZED, reason `device-removed`); one that
   * is offline learns it from the refused upgrade of its next connect in Node (UNAUTHORIZED); a browser
   * cannot read why an upgrade failed, so there connect() only fails to connect. Device 1 removes any other
   * device; any device removes itself (this client then stops: close() it, and wipe its store if the device
   * is being given away). Resolves with false when the account had no such device (already removed).
   * Waits for connect() to finish.
   * @throws EbbError BAD_REQUEST (not retryable) for a `device` that is not a device number; nothing is sent.
   * @throws EbbError FORBIDDEN (not retryable) for device 1 (delete the account instead), or another device
   *   removed from a device that does not hold the account key.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`: removing again is safe.
   */
  async removeDevice(device: number): Promise<boolean> {
    if (!Number.isInteger(device) || device < 1 || device > Limits.maxDevice)
      throw badRequest(`device: must be a whole number from 1 to ${Limits.maxDevice}`);
    try {
      const { removed } = await this.connection.request('device.remove', { device });
      await this.ownDevices.remove(device);
      return removed;
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Marks a received message read: its sender's devices get a `read` receipt (unless this client was created
   * with `receipts: false`), and this account's other devices a 'receipt' with `from` this account and
   * `sender` set, to mark it read there too. Receipts are batched for a moment and best effort: resolves once
   * the batch went out, or could not (a failure is not reported; nothing is retried).
   * @throws EbbError BAD_REQUEST (not retryable) when `message` is not a ReceivedMessage or `{ id, from }`.
   */
  async markRead(message: ReportedMessage): Promise<void> {
    if (
      typeof message !== 'object' ||
      message === null ||
      !v.safeParse(MessageId, message.id).success ||
      !v.safeParse(UserId, message.from).success
    ) {
      throw badRequest('message: must be a received message, or { id, from }');
    }
    const sends: Promise<void>[] = [];
    if (this.settings.receipts && message.from !== this.userId) sends.push(this.receipts.receipt(message.from, 'read', message.id));
    if ((await this.ownDevices.list().catch(() => [])).some((d) => d !== this.device)) {
      sends.push(this.receipts.readSync(this.userId, message.from, message.id));
    }
    await Promise.all(sends);
  }

  /**
   * Encrypts `content` for every device of `to` the account certified and queues it on the server, with a
   * copy for every other device of this account (a 'sent' event there; `to` this account itself sends only
   * that copy). Resolves once the server has stored both. Sends to one recipient are delivered in the order
   * of the calls; a device of `to` linked meanwhile gets the message too (the server names it missing).
   * @throws EbbError BAD_REQUEST (not retryable) for an invalid user id, content or option.
   * @throws EbbError PAYLOAD_TOO_LARGE (not retryable) when the ciphertext would exceed the
   *   service's `maxCiphertextBytes`; nothing is sent.
   * @throws EbbError NOT_FOUND (not retryable) when `to` has no account, or no device of it has
   *   published prekeys yet.
   * @throws EbbError FORBIDDEN (not retryable) when `to`'s identity key changed and the app has not
   *   called acceptIdentity(to) since; 'identityChanged' was emitted when the change was seen.
   * @throws EbbError RATE_LIMITED (retryable, see `retryAfterSeconds`) when waiting as the server asks
   *   would overrun `timeoutMs`: shorter waits are waited out and the send retried. SERVICE_READ_ONLY and other
   *   server refusals with the server's retryability.
   * @throws EbbError INTERNAL (retryable) when the connection was lost and the send could not be
   *   completed within `timeoutMs`. The message may then have been queued: a new send() is a new
   *   message, unless it passes `{ id: err.messageId }` (every error from send() carries `messageId`).
   * @throws EbbError INTERNAL (retryable) when the store fails; its error is the `cause`.
   */
  async send(to: string, content: string | Uint8Array, options: SendOptions = {}): Promise<SendResult> {
    if (!v.safeParse(UserId, to).success) throw badRequest('to: must be a user id');
    const isText = typeof content === 'string';
    if (!isText && !(content instanceof Uint8Array)) throw badRequest('content: must be a string or a Uint8Array');
    checkSeconds('expiresInSeconds', options.expiresInSeconds);
    checkSeconds('burnAfterReadingSeconds', options.burnAfterReadingSeconds);
    if (options.id !== undefined && !v.safeParse(MessageId, options.id).success) throw badRequest('id: must be a message id from an earlier send()');
    const id = options.id ?? randomId(MESSAGE_ID_BYTES);
    const body = isText ? new TextEncoder().encode(content) : content;
    try {
      const message = {
        id,
        to,
        body,
        ...(isText && { text: content }),
        ...(options.expiresInSeconds !== undefined && { expiresInSeconds: options.expiresInSeconds }),
        ...(options.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: options.burnAfterReadingSeconds }),
      };
      const attachments = await this.uploadAttachments(options, (refs) => this.outbox.checkFits({ ...message, attachments: refs }));
      return await this.outbox.send({ ...message, ...(attachments && { attachments }) });
    } catch (err) {
      throw withMessageId(toEbbError(err), id);
    }
  }

  /**
   * Creates a group of this account and `members` (user ids; this account is its creator and first admin) and
   * sends its signed founding change to every member's devices and this account's other devices over the
   * pairwise sessions (ARCH §8.8). The service learns no name, id or member list: it relays ciphertext. Members
   * whose devices cannot be reached yet (no account, no published keys, an identity change not accepted) are
   * still members; they learn of the group when an admin changes it next. Emits 'group' (`created`) here too.
   * Waits for connect() to finish.
   * @throws EbbError BAD_REQUEST (not retryable) for a name that is not 1 to 100 characters (not only spaces, no
   *   control characters), or members that are not distinct user ids; nothing is sent.
   * @throws EbbError CONFLICT (not retryable) with reason `group-full` for more than the service's `maxGroupSize`
   *   members, this account included; nothing is sent.
   * @throws EbbError INTERNAL (retryable) when the connection was lost or the store failed; the group exists here
   *   then, and changing it later sends every member its history.
   */
  async createGroup(input: { readonly name: string; readonly members: readonly string[] }): Promise<GroupInfo> {
    if (typeof input !== 'object' || input === null) throw badRequest('input: must be { name, members }');
    try {
      return await this.groupService.create(input.name, input.members);
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Sends a message to every device of every member of group `groupId` and to this account's other devices
   * ('sent' there, with `group` set): encrypted ONCE under this device's sender key, which goes first to every
   * member device that lacks it over the pairwise sessions, and queued with one `fanout` frame naming every
   * device (several only past the frame's limits). After a member left or was removed, a new sender key is made
   * first and given to the current members only. Group messages are franked like 1:1 messages (report() proves
   * which member sent one), delivered in each sender's order, and carry `expiresInSeconds` and
   * `burnAfterReadingSeconds` as send() does. Members the service says have no account any more are dropped
   * from the group on this device. Waits for connect() to finish.
   * @throws EbbError BAD_REQUEST (not retryable) with reason `malformed-group-id` for a malformed group id, or
   *   for invalid content or options (attachments are not supported in group messages yet); nothing is sent.
   * @throws EbbError NOT_FOUND (not retryable) when this device is in no group with this id (never was, left, or
   *   was removed); nothing is sent.
   * @throws EbbError PAYLOAD_TOO_LARGE (not retryable) when the ciphertext would exceed `maxCiphertextBytes`; nothing is sent.
   * @throws EbbError RATE_LIMITED, SERVICE_READ_ONLY and other server refusals with the server's retryability;
   *   INTERNAL (retryable) when the connection was lost: retry with `{ id: err.messageId }`, as for send().
   */
  async sendToGroup(groupId: string, content: string | Uint8Array, options: SendOptions = {}): Promise<SendResult> {
    const isText = typeof content === 'string';
    if (!isText && !(content instanceof Uint8Array)) throw badRequest('content: must be a string or a Uint8Array');
    checkSeconds('expiresInSeconds', options.expiresInSeconds);
    checkSeconds('burnAfterReadingSeconds', options.burnAfterReadingSeconds);
    if (options.id !== undefined && !v.safeParse(MessageId, options.id).success) throw badRequest('id: must be a message id from an earlier send()');
    const id = options.id ?? randomId(MESSAGE_ID_BYTES);
    try {
      // A group this device is not in fails before anything is uploaded.
      if (options.attachments !== undefined && this.groupService.get(parseGroupId(groupId)) === undefined) {
        throw new EbbError('NOT_FOUND', 'this device is in no group with this id', { retryable: false });
      }
      // The group sender checks the message's size itself, after the upload (ARCH §8.8).
      const attachments = await this.uploadAttachments(options, async () => undefined);
      return await this.groupService.send(groupId, {
        id,
        body: isText ? new TextEncoder().encode(content) : content,
        ...(isText && { text: content }),
        ...(options.expiresInSeconds !== undefined && { expiresInSeconds: options.expiresInSeconds }),
        ...(options.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: options.burnAfterReadingSeconds }),
        ...(attachments && { attachments }),
      });
    } catch (err) {
      throw withMessageId(toEbbError(err), id);
    }
  }

  /** The groups this device is in, as its store holds them. */
  groups(): GroupInfo[] {
    return this.groupService.list();
  }

  /** The group with this id, or undefined when this device is in none (a malformed id included). */
  group(groupId: string): GroupInfo | undefined {
    return this.groupService.get(groupId);
  }

  /**
   * Adds `members` (user ids) to the group; an admin only. Every member's devices get the signed change, the new
   * members every change of the group so they can check it from its root; they read messages sent from then on
   * only (each member hands them its sender key at its current iteration). Emits 'group' (`members-added`).
   * @throws EbbError BAD_REQUEST (not retryable) for a malformed group id, members that are not distinct user ids,
   *   or with reason `already-group-member`; nothing is sent.
   * @throws EbbError NOT_FOUND (not retryable) when this device is in no such group; FORBIDDEN (not retryable) with
   *   reason `not-group-admin` when this account is no admin of it; CONFLICT (not retryable) with reason
   *   `group-full` past `maxGroupSize`, or `group-history-full` past 256 changes; nothing is sent.
   * @throws EbbError INTERNAL (retryable) when the connection was lost or the store failed.
   */
  async addGroupMembers(groupId: string, members: readonly string[]): Promise<GroupInfo> {
    return this.groupCall(() => this.groupService.add(groupId, members));
  }

  /**
   * Removes `members` from the group; an admin only. They get the change (so they know) and nothing sent to the
   * group afterwards: every remaining member makes a new sender key before its next message. Emits 'group'
   * (`members-removed`).
   * @throws EbbError BAD_REQUEST (not retryable) for a malformed group id or members, or with reason
   *   `not-group-member` when one of them is no member; nothing is sent.
   * @throws EbbError FORBIDDEN (not retryable) with reason `not-senior-group-admin` when one of them is an admin
   *   who became admin before this account (or is this account: it leaves instead); nothing is sent.
   * @throws EbbError NOT_FOUND, FORBIDDEN, CONFLICT, INTERNAL as addGroupMembers.
   */
  async removeGroupMembers(groupId: string, members: readonly string[]): Promise<GroupInfo> {
    return this.groupCall(() => this.groupService.remove(groupId, members));
  }

  /**
   * Makes `members` admins of the group; an admin only. Emits 'group' (`promoted`, an extension of the documented
   * changes).
   * @throws EbbError BAD_REQUEST (not retryable) for a malformed group id or members, or with reason
   *   `not-group-member` or `already-group-admin`; nothing is sent.
   * @throws EbbError NOT_FOUND, FORBIDDEN, CONFLICT, INTERNAL as addGroupMembers.
   */
  async promoteGroupMembers(groupId: string, members: readonly string[]): Promise<GroupInfo> {
    return this.groupCall(() => this.groupService.promote(groupId, members));
  }

  /**
   * Renames the group; an admin only. Emits 'group' (`renamed`).
   * @throws EbbError BAD_REQUEST (not retryable) for a malformed group id, a bad name or the name it has.
   * @throws EbbError NOT_FOUND, FORBIDDEN, CONFLICT, INTERNAL as addGroupMembers.
   */
  async renameGroup(groupId: string, name: string): Promise<GroupInfo> {
    return this.groupCall(() => this.groupService.rename(groupId, name));
  }

  /**
   * Leaves the group (any member may): the members are told, this device forgets the group and its keys, and the
   * others make new sender keys. When the last admin leaves, the longest-standing member becomes admin. Emits
   * 'group' (`left`). Resolves with the group as the others now have it.
   * @throws EbbError BAD_REQUEST (not retryable) for a malformed group id; NOT_FOUND (not retryable) when this
   *   device is in no such group; INTERNAL (retryable) when the connection was lost or the store failed.
   */
  async leaveGroup(groupId: string): Promise<GroupInfo> {
    return this.groupCall(() => this.groupService.leave(groupId));
  }

  private async groupCall(call: () => Promise<GroupInfo>): Promise<GroupInfo> {
    try {
      return await call();
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Replaces this account's delivery token (ARCH §6.6). Everyone this account writes to learns its token from
   * the messages, and the service lets them fill this account's whole queue, where senders it never wrote to
   * may fill only a share. After rotating, a contact counts as such again only once a message from this
   * account reaches it: rotate to stop someone this account once wrote to from filling its queue. The
   * account's other devices are sent the new token (best effort) and put it in their messages from then on.
   * Waits for connect() to finish.
   * @throws EbbError SERVICE_READ_ONLY, SERVICE_SHUT_DOWN, ACCOUNT_SUSPENDED (not retryable) from the service.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs` or the store fails; the new
   *   token is then published with the next send().
   */
  async rotateDeliveryToken(): Promise<void> {
    let token: string;
    try {
      token = await this.deliveryTokens.rotate(this.settings.now());
    } catch (err) {
      throw toEbbError(err);
    }
    // The service keeps one token per account: the other devices must carry the new one in their messages too.
    if ((await this.ownDevices.list().catch(() => [])).some((d) => d !== this.device)) {
      const sync = { id: randomId(MESSAGE_ID_BYTES), to: this.userId, body: new Uint8Array(0), control: { type: 'token', token } as const };
      // Best effort, like read state: a device that misses it sends the old token until a later rotation.
      await this.outbox.send(sync).catch(() => undefined);
    }
  }

  /**
   * Reports a received message as abuse to the service's operator (ARCH §9). This reveals the
   * message's content to the operator, with the franking key that proves the sender sent exactly that
   * to this account: the operator learns nothing else. The client keeps what a report needs for every
   * message it handed to 'message' listeners until the message expires (at most the newest 2000).
   * `message` is the ReceivedMessage, or `{ id, from }` (from: the sender's user id): ids are chosen by
   * senders, so only the pair names one message. A bare id still works while one sender used it.
   * Reporting a message again is answered with the first report's id and `duplicate: true`.
   * Waits for connect() to finish.
   * @throws EbbError BAD_REQUEST (not retryable) for an invalid message id or sender, or a `reason` that
   *   is not 1 to 500 characters; nothing is sent.
   * @throws EbbError NOT_FOUND (not retryable) when no such received message is kept: never received,
   *   expired, or received on another device; nothing is sent.
   * @throws EbbError CONFLICT (not retryable) for a bare id that messages from more than one sender
   *   carry: pass the message or `{ id, from }` instead; nothing is sent.
   * @throws EbbError FORBIDDEN (not retryable) when the service cannot verify the message as delivered
   *   to this device with this content, e.g. it was received from another deployment.
   * @throws EbbError RATE_LIMITED (retryable, see `retryAfterSeconds`), ACCOUNT_SUSPENDED, SERVICE_READ_ONLY
   *   and other server refusals with the server's retryability.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`, or when the store fails;
   *   reporting again is safe.
   */
  async report(message: ReportedMessage | string, reason: string): Promise<ReportResult> {
    const target = typeof message === 'string' ? { id: message } : message;
    if (typeof target !== 'object' || target === null || !v.safeParse(MessageId, target.id).success)
      throw badRequest('message.id: must be a message id');
    if (typeof message !== 'string' && !v.safeParse(UserId, message.from).success) throw badRequest('message.from: must be a user id');
    if (typeof reason !== 'string' || reason.length < 1 || reason.length > Limits.maxReportReasonChars) {
      throw badRequest(`reason: must be 1 to ${Limits.maxReportReasonChars} characters`);
    }
    try {
      const kept = typeof message === 'string' ? await this.onlyReportable(message) : await this.reportables.find(message.from, message.id);
      if (!kept) throw new EbbError('NOT_FOUND', 'no received message with this id from this sender is kept for reporting', { retryable: false });
      const { reportId, duplicate } = await this.connection.request('report', {
        message: { id: kept.id, from: kept.from, sentAt: kept.sentAt, frank: kept.frank },
        frankKey: kept.frankKey,
        content: { kind: kept.kind, body: kept.body, ...(kept.attachments && { attachments: [...kept.attachments] }) },
        reason,
      });
      return { reportId, duplicate };
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /** The one kept message with this id; CONFLICT when several senders used it (a reused id must not pick the report's target). */
  private async onlyReportable(id: string): Promise<Reportable | null> {
    const kept = await this.reportables.withId(id);
    if (kept.length > 1) {
      throw new EbbError('CONFLICT', 'messages from more than one sender carry this id: report the message or { id, from }', { retryable: false });
    }
    return kept[0] ?? null;
  }

  /**
   * The safety number of this account and `peerId`: 60 digits in groups of 5, the same on both
   * sides. Users compare them out of band to rule out a man in the middle. Uses the newest identity
   * key seen for the peer, accepted or not; fetches the peer's keys when none are known yet (that
   * uses up one-time prekeys, so sessions are started with them).
   * @throws EbbError BAD_REQUEST (not retryable) for an invalid user id.
   * @throws EbbError NOT_FOUND (not retryable) when the peer has no account.
   * @throws EbbError INTERNAL (retryable) when the keys cannot be fetched or the store fails.
   */
  async safetyNumber(peerId: string): Promise<string> {
    if (!v.safeParse(UserId, peerId).success) throw badRequest('peerId: must be a user id');
    try {
      let peerKey = await this.peers.latestIdentity(peerId);
      if (!peerKey) {
        const bundle = await this.peers.bundle(peerId).catch((err: unknown) => {
          if (EbbError.is(err, 'FORBIDDEN')) return null; // a change was recorded: read it below
          throw err;
        });
        for (const prekeys of bundle?.devices ?? []) await this.sessions.initiate(bundle!, prekeys);
        peerKey = await this.peers.latestIdentity(peerId);
      }
      if (!peerKey) throw new EbbError('INTERNAL', 'the peer keys could not be read', { retryable: true });
      return safetyNumber({ userId: this.userId, identityKey: this.identity.identityPublicKey }, { userId: peerId, identityKey: peerKey });
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Accepts the new identity key of `peerId` after an 'identityChanged' event: sends to the peer
   * work again, and sessions agreed with its old key are forgotten, so new ones use the new key.
   * Does nothing when no change is pending.
   * @throws EbbError BAD_REQUEST (not retryable) for an invalid user id.
   * @throws EbbError INTERNAL (retryable) when the store fails.
   */
  async acceptIdentity(peerId: string): Promise<void> {
    if (!v.safeParse(UserId, peerId).success) throw badRequest('peerId: must be a user id');
    try {
      const accepted = await this.peers.accept(peerId);
      if (accepted) await this.sessions.keepOnly(peerId, accepted);
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Sets this account's username, which others can find it by with lookupUsername(), and releases
   * the one it had. Names are 3 to 32 characters of A-Z, a-z, 0-9 and _, unique regardless of case:
   * "Alice_1" and "alice_1" are one name, shown as last set. Setting the current name again succeeds.
   * Waits for connect() to finish.
   * @throws EbbError BAD_REQUEST (not retryable) when `username` breaks those rules; nothing is sent.
   * @throws EbbError CONFLICT (not retryable) when another user holds the name, in any case, or a
   *   concurrent change of this account's name (from another device or tab) came first.
   * @throws EbbError FORBIDDEN (not retryable) when the name is reserved or looks like a reserved one
   *   (admin, adm1n, ebb_support, …).
   * @throws EbbError RATE_LIMITED (retryable, see `retryAfterSeconds`) past the deployment's limit.
   * @throws EbbError SERVICE_READ_ONLY, SERVICE_SHUT_DOWN (not retryable) from those phases on.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`; setting it again is safe.
   */
  async setUsername(username: string): Promise<void> {
    if (!v.safeParse(Username, username).success) throw badRequest('username: must be 3 to 32 characters of A-Z, a-z, 0-9 and _');
    try {
      await this.connection.request('username.set', { username });
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * The user id holding `username`, in any case, or null when no one does. Waits for connect() to finish.
   * @throws EbbError BAD_REQUEST (not retryable) when `username` is not a valid name; nothing is sent.
   * @throws EbbError RATE_LIMITED (retryable, see `retryAfterSeconds`) past the deployment's limit.
   * @throws EbbError SERVICE_SHUT_DOWN (not retryable) once the service has shut down.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`.
   */
  async lookupUsername(username: string): Promise<string | null> {
    if (!v.safeParse(Username, username).success) throw badRequest('username: must be 3 to 32 characters of A-Z, a-z, 0-9 and _');
    try {
      return (await this.connection.request('username.lookup', { username })).userId;
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Deletes this account from the server, with its prekeys, queued messages and username, and closes
   * its other connections; then closes this client. Works in every phase, shut-down included, on a
   * connection that connect() opened (also one refused by policy, like status()). Messages this account
   * sent that are still waiting for their recipients are delivered to them.
   *
   * The store keeps the identity keys, sessions and everything else: whether to wipe it is the app's
   * call. Only the registration flag is cleared, so an EbbClient created on the same store later
   * registers a new, empty account with the same user id.
   * @throws EbbError BAD_REQUEST (not retryable) when connect() has not been called.
   * @throws EbbError FORBIDDEN (not retryable) on a linked device: only device 1, which holds the account key, deletes it.
   * @throws EbbError INTERNAL (not retryable) after close(), including a deleteAccount() that succeeded.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`, or when the store
   *   fails; calling deleteAccount() again finishes the job.
   */
  async deleteAccount(): Promise<void> {
    try {
      await this.connection.request('account.delete', {}, 'open');
      this.registered = false;
      await this.settings.store.delete(StoreKeys.registered);
      await this.deliveryTokens.unpublished();
    } catch (err) {
      throw toEbbError(err);
    }
    // Nothing left to ack: the queue is gone.
    this.acks.discard();
    await this.connection.close();
  }

  /**
   * Subscribes this device to wake-ups (ARCH §6.13): while it has no connection open, the service has its push
   * service wake it, at most once a minute, when something is queued for it. The push says nothing of sender,
   * content or count: the app connects to learn what waits. Pass a browser's `PushSubscription` from
   * `PushManager.subscribe({ userVisibleOnly: true, applicationServerKey: (await status()).push.vapidPublicKey })`
   * (or its `toJSON()`), or a native token `{ platform: 'apns' | 'fcm', token }`. Replaces this device's earlier
   * subscription; registering the same one again is no error. Waits for connect() to finish.
   * @throws EbbError BAD_REQUEST (not retryable) for a malformed subscription or token, a Web Push endpoint that is
   *   not https (the local stack also accepts its own receiver's http one) or keys that are not a P-256 key and a
   *   16-byte secret; nothing is stored.
   * @throws EbbError FORBIDDEN (not retryable) when this device is no longer one of the account's.
   * @throws EbbError RATE_LIMITED (retryable, see `retryAfterSeconds`) past the deployment's limit.
   * @throws EbbError SERVICE_READ_ONLY, SERVICE_SHUT_DOWN (not retryable) from those phases on.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`; registering again is safe.
   */
  async registerPush(subscription: PushSubscriptionInput): Promise<void> {
    const parsed = pushSubscriptionOf(subscription);
    try {
      await this.connection.request('push.register', { subscription: parsed });
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Stops wake-ups for this device: the service forgets its push subscription. Resolves with false when it had
   * none. Works in every phase. Waits for connect() to finish.
   * @throws EbbError RATE_LIMITED (retryable, see `retryAfterSeconds`) past the deployment's limit.
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`; unregistering again is safe.
   */
  async unregisterPush(): Promise<boolean> {
    try {
      return (await this.connection.request('push.unregister', {})).removed;
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * The service's phase, sunset schedule and limits, and `push.vapidPublicKey` when it sends Web Push. Works on
   * any open connection, including one whose connect() was refused by policy (e.g. SERVICE_SHUT_DOWN).
   * @throws EbbError INTERNAL (retryable) when not answered within `timeoutMs`.
   */
  async status(): Promise<ServiceStatus> {
    try {
      const status = await this.connection.request('status', {}, 'open');
      this.limits = status.limits;
      return status;
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * One encrypted file holding everything this device keeps for the account, to move it to another
   * device or deployment with importArchive: the identity's secret keys, peer identities, sessions
   * (with skipped message keys), prekey private keys, the ids of messages already received (so a
   * re-delivery is not shown twice), the received messages kept for report() until they expire (their
   * content in plaintext) and every other entry of the store, including the app's own.
   * Only the deployment's registration flag is left out. Makes no request: works before connect(),
   * after close(), and after the service shut down. The store is read key by key, not as one
   * snapshot: export while the app is not sending, or after close(), for a consistent archive.
   *
   * The archive holds secret keys and is only as strong as the passphrase: it is encrypted with
   * XSalsa20-Poly1305 under a key derived by scrypt (N = 2^17, r = 8, p = 1: 128 MiB and about a
   * second per guess), which slows down guessing but cannot save a guessable passphrase. Store it
   * like the keys it contains. Archives written with N = 2^15 by earlier versions still import.
   * @throws EbbError BAD_REQUEST (not retryable) when `passphrase` is shorter than 15 characters.
   * @throws EbbError INTERNAL (retryable) when the store fails; its error is the `cause`.
   */
  async exportArchive(passphrase: string): Promise<Uint8Array> {
    if (typeof passphrase !== 'string' || [...passphrase.normalize('NFC')].length < MIN_PASSPHRASE_LENGTH) {
      throw badRequest(`passphrase: must be a string of at least ${MIN_PASSPHRASE_LENGTH} characters`);
    }
    try {
      await this.inbox.idle(); // a message being handled lands in the archive whole, session and seen id
      const contents: ArchiveContents = {
        format: ARCHIVE_FORMAT,
        version: ARCHIVE_VERSION,
        userId: this.userId,
        device: this.device,
        exportedAt: Math.floor(this.settings.now()),
        entries: await collectEntries(this.settings.store),
      };
      return await sealArchive(new TextEncoder().encode(JSON.stringify(contents)), passphrase);
    } catch (err) {
      throw toEbbError(err);
    }
  }

  /**
   * Acks what has been received, stops reconnecting and closes the connection. Pending requests
   * fail with EbbError INTERNAL (not retryable). Never throws.
   */
  async close(): Promise<void> {
    this.pendingLink?.cancel(new EbbError('INTERNAL', 'the client was closed', { retryable: false }));
    this.inbox.stop();
    await this.inbox.idle();
    if (this.connection.isOpen) {
      await this.receipts.flush(Math.min(ACK_CLOSE_WAIT_MS, this.settings.timeoutMs));
      await this.acks.flush(Math.min(ACK_CLOSE_WAIT_MS, this.settings.timeoutMs));
    }
    this.receipts.discard();
    this.acks.discard();
    await this.connection.close();
    // A receipt sent by the flush may still be storing its session: nothing writes to the store once close() resolves.
    await this.outbox.idle();
  }

  /**
   * A received attachment again, from the JSON it serializes to (`JSON.parse(JSON.stringify(attachment))`):
   * for an app that keeps messages in its own history and downloads their files later, after a restart too.
   * That JSON holds the attachment's key: keep it as private as the message. Makes no request.
   * @throws EbbError BAD_REQUEST (not retryable) when `saved` is not such a reference.
   */
  attachment(saved: unknown): ReceivedAttachment {
    const wire = v.safeParse(AttachmentRefWire, saved);
    const ref = wire.success ? attachmentRefFromWire(wire.output) : null;
    if (!ref) throw badRequest('saved: must be what a received attachment serializes to (JSON)');
    return bindAttachment(ref, this.attachmentTransport);
  }

  /**
   * Checks, encrypts and uploads `options.attachments` (ARCH §8.10) before the message they go with is sent:
   * undefined when there are none. `fits` is given stand-in references as long as the real ones will be, so a
   * message that could not be sent is refused before any byte is uploaded. For send() and sendToGroup().
   * @throws EbbError BAD_REQUEST, PAYLOAD_TOO_LARGE before any upload; INTERNAL (reason `attachment-upload`)
   *   when an upload failed every attempt; the presign route's refusals.
   */
  private async uploadAttachments(
    options: SendOptions,
    fits: (refs: readonly AttachmentRef[]) => Promise<void>,
  ): Promise<AttachmentRef[] | undefined> {
    if (options.attachments === undefined) return undefined;
    if (options.onProgress !== undefined && typeof options.onProgress !== 'function') throw badRequest('onProgress: must be a function');
    // Shapes first, so a malformed list fails before waiting for the connection.
    checkAttachments(options.attachments, Number.POSITIVE_INFINITY);
    if (options.attachments.length === 0) return undefined;
    await this.connection.whenReady(this.settings.timeoutMs);
    const attachments = checkAttachments(options.attachments, this.limits!.maxAttachmentBytes);
    await fits(attachments.map(standInRef));
    return uploadAttachments(attachments, {
      ...this.attachmentTransport,
      ...(options.expiresInSeconds !== undefined && { expiresInSeconds: options.expiresInSeconds }),
      ...(options.onProgress && { onProgress: options.onProgress }),
    });
  }

  /**
   * Tops one-time prekeys up after the server said others drew them low, so first messages keep their
   * one-time prekey. Best effort: a failure waits for the next connect, which tops up as well.
   */
  private refillPrekeys(): void {
    if (this.refilling) return;
    const { store, now, prekeyPolicy } = this.settings;
    this.refilling = replenishPrekeys((action, body) => this.connection.request(action, body), store, this.identity, now(), prekeyPolicy, {
      lowWater: PREKEY_TARGET,
    })
      .catch(() => undefined)
      .finally(() => (this.refilling = null));
  }

  private onPush(type: string, frame: unknown): void {
    if (type === 'message') {
      const push = v.safeParse(MessagePush, frame);
      if (push.success) void this.inbox.receive(push.output);
    } else if (type === 'device.removed') {
      const removed = v.safeParse(DeviceRemovedPush, frame);
      if (removed.success && removed.output.device === this.settings.device) {
        this.connection.refuse(
          new EbbError('UNAUTHORIZED', 'this device was removed from the account', { retryable: false, reason: 'device-removed' }),
        );
      }
    } else if (type === 'keys.low') {
      const low = v.safeParse(KeysLowPush, frame);
      if (low.success && low.output.device === this.settings.device) this.refillPrekeys();
    } else if (type === 'notice') {
      const notice = v.safeParse(NoticePush, frame);
      if (notice.success) {
        const { phase, schedule, serverTime, reason, daysUntilShutdown } = notice.output;
        this.events.emit('notice', {
          phase,
          schedule,
          serverTime,
          ...(reason !== undefined && { reason }),
          ...(daysUntilShutdown !== undefined && { daysUntilShutdown }),
        });
      }
    }
  }
}

/**
 * Not a strength check (that is the app's to make), only a floor against the worst choices. 15, as
 * NIST SP 800-63B-4 §3.1.1.2 asks of a password that is the only factor: nothing else stands between
 * a stolen archive and offline guessing. Imports accept any length, so older archives still open.
 */
const MIN_PASSPHRASE_LENGTH = 15;

/** A reference as long as the one `attachment` will get once uploaded: the longest id, zero key and digest. */
function standInRef(attachment: OutgoingAttachment): AttachmentRef {
  const size = attachment.data instanceof Uint8Array ? attachment.data.length : attachment.data.size;
  return {
    id: `${MAX_ATTACHMENT_CLASS_DAYS}/${'A'.repeat(Math.ceil((ATTACHMENT_ID_RANDOM_BYTES * 4) / 3))}`,
    key: new Uint8Array(ATTACHMENT_REF_KEY_BYTES),
    digest: new Uint8Array(ATTACHMENT_REF_DIGEST_BYTES),
    size,
    name: attachment.name,
    type: attachment.type,
  };
}

/** The protocol's bound on `expiresInSeconds`; burn-after-reading uses the same. */
const MAX_SECONDS = 365 * 86400;

function checkSeconds(name: string, value: number | undefined): void {
  if (value === undefined) return;
  if (!Number.isInteger(value) || value < 1 || value > MAX_SECONDS)
    throw badRequest(`${name}: must be a whole number of seconds from 1 to ${MAX_SECONDS}`);
}
