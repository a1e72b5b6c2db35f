/**
 * What the web chat does, apart from how it looks: it drives the SDK and the chat's history and tells a
 * `ChatView` what changed. It touches no DOM, so tests run it in Node against the local stack.
 */
import {
  type BackoffOptions,
  type DeviceInfo,
  EbbClient,
  EbbError,
  type GroupEvent,
  type GroupInfo,
  type KeyStore,
  type Phase,
  type PushSubscriptionInput,
  type Receipt,
  type ReceivedAttachment,
  type ReceivedMessage,
  type SentMessage,
  type SunsetSchedule,
} from '../client-sdk/src';
import { ApproveWording, ExportWording, PlainError, PushWording, UsernameWording, explain } from './errors';
import { GroupWording, MAX_MEMBERS_PER_FORM, groupEventText, memberInputs } from './groups';
import { type ChatAttachment, ChatHistory, type ChatMessage, type Conversation, type ReceiptKind } from './history';
import { shortId } from './render';

const USER_ID = /^[A-Za-z0-9_-]{32}$/;
const USERNAME = /^[A-Za-z0-9_]{3,32}$/;

export interface ConnectionStatus {
  readonly online: boolean;
  /** One plain sentence, e.g. "Connected" or why not. */
  readonly text: string;
}

/** The page's side: each method is told that one part of what it shows changed. */
export interface ChatView {
  /** The account is known: `userId`, or null when this visitor is offered none (the service takes no new accounts). */
  account(userId: string | null): void;
  connection(status: ConnectionStatus): void;
  sunset(phase: Phase, schedule: SunsetSchedule): void;
  /** The list of conversations changed (one added, unread counts, the open one). */
  conversations(): void;
  /** The open conversation changed: its messages, delivery states or identity warning. */
  chat(): void;
}

export interface ChatControllerOptions {
  /** The service's WebSocket URL. */
  readonly url: string;
  /** The SDK's store: identity, sessions. */
  readonly store: KeyStore;
  /** The chat's own store: conversations and the username, beside the SDK's. */
  readonly historyStore: KeyStore;
  readonly view: ChatView;
  /** @default Date.now */
  readonly now?: () => number;
  /** Whether the page can be seen: a burn-after-reading timer starts only then. @default () => true */
  readonly isVisible?: () => boolean;
  /**
   * Waits before connecting again when the client has stopped (refused, suspended) or a connect failed:
   * doubling from `baseDelayMs` up to `maxDelayMs`; a suspended account waits `maxDelayMs` each time.
   * @default { baseDelayMs: 2000, maxDelayMs: 60000 }
   */
  readonly retry?: { readonly baseDelayMs: number; readonly maxDelayMs: number };
  /** The client's own reconnects after a dropped connection. @default the SDK's */
  readonly reconnect?: BackoffOptions;
}

/** A link under way on a new device (ARCH §8.6): the code to show, and when the device is ready. */
export interface PendingLink {
  /** `ebb-link:…`, for the QR code and as text; good for 10 minutes. */
  readonly code: string;
  /**
   * Resolves once the account's first device approved the code and this page connected as the new device.
   * Rejects with a PlainError when the code expired or linking failed: startLink() again for a new code.
   */
  readonly linked: Promise<void>;
}

export interface SendSettings {
  readonly expiresInSeconds?: number;
  readonly burnAfterReadingSeconds?: number;
}

/** Phases in which a new identity could never register: a first visit then gets the notice, not an account. */
const NO_NEW_ACCOUNTS = new Set(['SIGNUPS_CLOSED', 'SERVICE_SHUT_DOWN']);
/** Refusals no later attempt can change: the page stops connecting and says why. */
const FINAL = new Set(['SIGNUPS_CLOSED', 'SERVICE_SHUT_DOWN', 'BAD_REQUEST']);
const DEFAULT_RETRY = { baseDelayMs: 2000, maxDelayMs: 60_000 };
/** Receipts kept for sends still under way (their message id is not known yet); more are dropped. */
const MAX_EARLY_RECEIPTS = 1000;
const REMOVED = 'This browser is no longer a device of the account, and has forgotten it. Reload the page to start again.';
const REMOVED_ELSEWHERE = 'This device was removed from the account, and this browser has forgotten it. Reload the page to start again.';
const REFUSED_DEVICE =
  "The service no longer accepts this browser as a device of the account: it was removed from the account's first device. " +
  "If it was not, check this computer's clock and reload.";

export class ChatController {
  private currentConversation: Conversation | undefined;
  private phase: Phase = 'open';
  private hasAccount = true;
  private readonly now: () => number;
  private readonly isVisible: () => boolean;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retries = 0;
  private closed = false;
  /** Receipts that came before the send they are about resolved, by `<recipient>/<message id>`. */
  private readonly earlyReceipts = new Map<string, ReceiptKind>();
  /** Ids of group messages sent from this account: their receipts (one per member) tick nothing. */
  private readonly groupMessages = new Set<string>();
  /** The name each group had when last seen, so a rename can say what it was. */
  private readonly groupNames = new Map<string, string>();
  /** The files of messages this page sends, by message key: kept for retries and for showing them. */
  private readonly outgoingFiles = new Map<string, readonly File[]>();

  private constructor(
    private readonly client: EbbClient,
    private readonly history: ChatHistory,
    private readonly options: ChatControllerOptions,
    /** The username this browser last set, as remembered in the history store. */
    readonly savedUsername: string | undefined,
    /** The identity was made by open(): this is a first visit. */
    private fresh: boolean,
    /** A first visit that has not chosen yet between a new account (connect) and linking (startLink). */
    private unchosen: boolean,
  ) {
    this.now = options.now ?? Date.now;
    this.isVisible = options.isVisible ?? (() => true);
  }

  /**
   * Opens (or creates) the identity and the history, without connecting: the page can take input while
   * `connect()` runs.
   * @throws EbbError INTERNAL when a store cannot be read.
   */
  static async open(options: ChatControllerOptions): Promise<ChatController> {
    const now = options.now ?? Date.now;
    const fresh = (await options.store.list('')).length === 0;
    const client = await EbbClient.create({
      url: options.url,
      store: options.store,
      now,
      ...(options.reconnect && { reconnect: options.reconnect }),
    });
    const history = new ChatHistory(options.historyStore);
    await history.load(now());
    // Remembered, so a reload before the choice offers it again rather than registering.
    if (fresh) await history.setUnchosen(true);
    return new ChatController(client, history, options, await history.username(), fresh, fresh || (await history.unchosen()));
  }

  /** `open()`, then `connect()`. */
  static async start(options: ChatControllerOptions): Promise<ChatController> {
    const controller = await ChatController.open(options);
    await controller.connect();
    return controller;
  }

  /**
   * Connects and reports everything to the view. A first visit to a service that takes no new accounts
   * keeps nothing: the identity made for it is deleted and the view is told there is no account
   * (`account(null)`) and why (`connection`, `sunset`). Never rejects: a service that cannot be reached
   * or refuses is reported to the view in plain words. Call it once.
   */
  async connect(): Promise<void> {
    const { view } = this.options;
    const { fresh } = this;
    // Listeners first: connect() hands every message queued while the page was closed to them.
    this.client.on('message', (message) => void this.receive(message).catch(() => undefined));
    this.client.on('sent', (sent) => void this.receiveSent(sent).catch(() => undefined));
    this.client.on('receipt', (receipt) => void this.receiveReceipt(receipt).catch(() => undefined));
    this.client.on('notice', (notice) => this.showSunset(notice.phase, notice.schedule));
    this.client.on('identityChanged', ({ userId }) => void this.flagIdentityChange(userId).catch(() => undefined));
    this.client.on('group', (event) => void this.receiveGroupEvent(event).catch(() => undefined));
    for (const group of this.client.groups()) this.groupNames.set(group.id, group.name);
    // The client reconnects by itself after a drop and stops on a refusal: the page then tries again later.
    this.client.on('error', (error) => this.offline('Disconnected.', error));
    if (!fresh) view.account(this.client.userId);
    try {
      await this.client.connect();
      view.connection({ online: true, text: 'Connected' });
      this.choose();
    } catch (error) {
      if (fresh && EbbError.is(error) && NO_NEW_ACCOUNTS.has(error.code)) return this.turnAway(error);
      this.offline('Cannot connect.', error);
    }
    if (fresh) view.account(this.client.userId);
    const status = await this.client.status().catch(() => undefined);
    // No status without a connection: a notice will bring it.
    if (status) this.showSunset(status.phase, status.schedule);
  }

  get userId(): string | null {
    return this.hasAccount ? this.client.userId : null;
  }

  /**
   * True on a first visit until the visitor chose: a new account (`connect()`) or this browser as another
   * device of an account they already have (`startLink()`). The page asks before connecting.
   */
  get choosing(): boolean {
    return this.unchosen;
  }

  /** This browser's device number in its account: 1 for the device that created it (ARCH §8.6). */
  get device(): number {
    return this.client.device;
  }

  /** Only the first device holds the account key, which approves new devices and removes others. */
  get holdsAccountKey(): boolean {
    return this.client.device === 1;
  }

  /**
   * On a first visit, instead of a new account: makes this browser another device of an existing account.
   * Resolves with the code to show; the account's first device approves it (approveLink), then this page
   * connects as the new device, as `connect()` does, and `linked` resolves.
   * @throws PlainError when the service cannot be reached, or this browser holds an account already.
   */
  async startLink(): Promise<PendingLink> {
    let start;
    try {
      start = await this.client.startLink();
    } catch (error) {
      throw new PlainError(explain(error));
    }
    const linked = start.linked.then(
      async () => {
        // Now a device of an existing account: a refusal is no reason to forget it.
        this.fresh = false;
        await this.connect();
      },
      (error: unknown) => {
        throw new PlainError(explain(error));
      },
    );
    return { code: start.code, linked };
  }

  /**
   * Approves the new device that shows `code`, under `name` (only this account's devices can read it).
   * Resolves with its device number.
   * @throws PlainError saying why not: a malformed, expired or used code, the device limit, not the first device.
   */
  async approveLink(code: string, name: string): Promise<number> {
    try {
      return await this.client.approveLink(code.trim(), name.trim() === '' ? {} : { name: name.trim() });
    } catch (error) {
      throw new PlainError(explain(error, ApproveWording));
    }
  }

  /**
   * This account's devices, this one marked `current`.
   * @throws PlainError when the service cannot be asked.
   */
  async devices(): Promise<DeviceInfo[]> {
    try {
      return await this.client.devices();
    } catch (error) {
      throw new PlainError(explain(error));
    }
  }

  /**
   * Removes `device` from the account: its sockets close and it can never connect again. Removing this
   * browser's own device also forgets the account here: both stores are wiped and the view told so.
   * @throws PlainError when the service refuses (device 1, or another device from a device that is not the first).
   */
  async removeDevice(device: number): Promise<void> {
    try {
      await this.client.removeDevice(device);
    } catch (error) {
      throw new PlainError(
        explain(error, { FORBIDDEN: 'The first device holds the account key and cannot be removed; other devices are removed from it.' }),
      );
    }
    if (device === this.client.device) await this.forget();
  }

  /**
   * The key `PushManager.subscribe` needs (`applicationServerKey`, base64url), or null when this service sends no
   * Web Push (ARCH §6.13).
   * @throws PlainError when the service cannot be asked.
   */
  async pushKey(): Promise<string | null> {
    try {
      return (await this.client.status()).push?.vapidPublicKey ?? null;
    } catch (error) {
      throw new PlainError(explain(error));
    }
  }

  /**
   * Has the service wake this browser through `subscription` while no page of it is connected (ARCH §6.13).
   * @throws PlainError saying why not (the service refused the subscription, is read-only, cannot be reached).
   */
  async registerPush(subscription: PushSubscriptionInput): Promise<void> {
    try {
      await this.client.registerPush(subscription);
    } catch (error) {
      throw new PlainError(explain(error, PushWording));
    }
  }

  /**
   * The service forgets this browser's push subscription.
   * @throws PlainError when the service cannot be asked.
   */
  async unregisterPush(): Promise<void> {
    try {
      await this.client.unregisterPush();
    } catch (error) {
      throw new PlainError(explain(error));
    }
  }

  /**
   * A wake-up reached a visible page (the service worker passes it on): if the page is waiting to connect again,
   * it connects now rather than when its timer says.
   */
  wake(): void {
    if (this.closed || this.retryTimer === undefined) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    void this.reconnect();
  }

  get current(): Conversation | undefined {
    return this.currentConversation;
  }

  get conversations(): Conversation[] {
    return [...this.history.conversations.values()];
  }

  /** False once the service is read-only or shut down. */
  get canSend(): boolean {
    return this.hasAccount && this.phase !== 'read-only' && this.phase !== 'shut-down';
  }

  /**
   * Sets the username others find this account by.
   * @throws PlainError saying why not (taken, reserved, malformed, the service refused).
   */
  async setUsername(input: string): Promise<string> {
    const username = input.trim();
    try {
      await this.client.setUsername(username);
    } catch (error) {
      throw new PlainError(explain(error, UsernameWording));
    }
    await this.history.setUsername(username);
    return username;
  }

  /**
   * Opens the conversation with a user id or username and makes it the current one. A user id never seen
   * before is checked first (its keys are fetched, which a first send needs anyway), so a mistyped id is
   * caught here rather than at the first send.
   * @throws PlainError when the input names nobody, this account, or an id that has no account.
   */
  async startConversation(input: string): Promise<Conversation> {
    const text = input.trim();
    let peerId: string | null = null;
    let label: string | undefined;
    if (USERNAME.test(text)) {
      peerId = await this.client.lookupUsername(text).catch((error: unknown) => {
        throw new PlainError(explain(error));
      });
      if (peerId) label = text;
    }
    if (!peerId && USER_ID.test(text)) peerId = text;
    if (!peerId) throw new PlainError(USERNAME.test(text) ? `Nobody is called ${text}.` : 'Enter a user id (32 characters) or a username.');
    if (peerId === this.client.userId) throw new PlainError('That is your own user id.');
    if (!this.history.conversations.has(peerId)) await this.requireAccount(peerId);
    const conversation = this.history.open(peerId, label);
    await this.history.save(conversation);
    this.select(conversation);
    return conversation;
  }

  /**
   * Makes a group of this account and the people `members` names (usernames or user ids, separated by commas or
   * spaces), this account its admin, and opens its conversation (ARCH §8.9).
   * @throws PlainError when the name is not 1 to 100 characters, a member names nobody, or the group would be too large.
   */
  async createGroup(name: string, members: string): Promise<Conversation> {
    const users = await this.resolveMembers(members);
    let group: GroupInfo;
    try {
      group = await this.client.createGroup({ name: name.trim(), members: users });
    } catch (error) {
      throw new PlainError(explain(error, GroupWording));
    }
    const conversation = this.history.openGroup(group.id, group.name);
    await this.history.save(conversation);
    this.select(conversation);
    return conversation;
  }

  /** The group of a group's conversation as this device holds it; undefined once this account left it. */
  groupOf(conversation: Conversation): GroupInfo | undefined {
    return conversation.group ? this.client.group(conversation.peerId) : undefined;
  }

  /** Whether this account may add, remove and rename in the group of `conversation`. */
  isGroupAdmin(conversation: Conversation): boolean {
    return this.groupOf(conversation)?.admins.includes(this.client.userId) ?? false;
  }

  /**
   * How a person is named on this page: "You", the username the user found them by, or the start of their id.
   * Only names the user typed are shown: the service tells nobody whose a user id is.
   */
  nameOf(userId: string): string {
    if (userId === this.client.userId) return 'You';
    return this.history.nameOf(userId) ?? shortId(userId);
  }

  /**
   * Adds the people `members` names to the open group (admins only).
   * @throws PlainError saying why not (not an admin, a member already, nobody by that name, too many members).
   */
  async addGroupMembers(members: string): Promise<void> {
    const conversation = this.requireGroup();
    const users = await this.resolveMembers(members);
    if (users.length === 0) throw new PlainError('Type the usernames or user ids of the people to add.');
    await this.groupCall(() => this.client.addGroupMembers(conversation.peerId, users));
  }

  /**
   * Removes `userId` from the open group (admins only): it gets nothing sent to the group from then on.
   * @throws PlainError saying why not.
   */
  async removeGroupMember(userId: string): Promise<void> {
    const conversation = this.requireGroup();
    await this.groupCall(() => this.client.removeGroupMembers(conversation.peerId, [userId]));
  }

  /**
   * Renames the open group (admins only).
   * @throws PlainError saying why not (not an admin, a name that is not 1 to 100 characters).
   */
  async renameGroup(name: string): Promise<void> {
    const conversation = this.requireGroup();
    await this.groupCall(() => this.client.renameGroup(conversation.peerId, name.trim()));
  }

  /**
   * Leaves the open group: the other members are told, and nothing sent to it reaches this account any more.
   * Its conversation stays, to read.
   * @throws PlainError when the service cannot be reached.
   */
  async leaveGroup(): Promise<void> {
    const conversation = this.requireGroup();
    await this.groupCall(() => this.client.leaveGroup(conversation.peerId));
  }

  /** Makes `conversation` the open one; its burn-after-reading timers start if the page can be seen. */
  select(conversation: Conversation): void {
    this.currentConversation = conversation;
    this.markShown(conversation);
    this.options.view.conversations();
    this.options.view.chat();
  }

  /**
   * Sends `text`, with `files` attached, to the open conversation; the message shows as sending (with the
   * upload's progress when it has files), then sent or failed (with Retry). Files stay in this page's memory
   * for a retry: after a reload, a failed message with files cannot be sent again.
   */
  send(text: string, settings: SendSettings = {}, files: readonly File[] = []): ChatMessage | undefined {
    const conversation = this.currentConversation;
    if (!conversation || (text.trim() === '' && files.length === 0)) return undefined;
    const at = this.now();
    const { expiresInSeconds, burnAfterReadingSeconds } = settings;
    const message: ChatMessage = {
      id: `out/${crypto.randomUUID()}`,
      direction: 'out',
      text,
      at,
      delivery: 'sending',
      ...(expiresInSeconds !== undefined && { expiresInSeconds, expiresAt: at + expiresInSeconds * 1000 }),
      ...(burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds }),
      ...(files.length > 0 && { attachments: files.map(fileAttachment), progress: 0 }),
    };
    if (files.length > 0) this.outgoingFiles.set(message.id, files);
    conversation.messages.push(message);
    void this.deliver(conversation, message);
    return message;
  }

  /** A file this page is sending or sent, for showing it without a download; undefined after a reload. */
  localFile(message: ChatMessage, index: number): File | undefined {
    return this.outgoingFiles.get(message.id)?.[index];
  }

  /**
   * Downloads and decrypts a received file (ARCH §8.10), straight from the bucket.
   * @throws EbbError NOT_FOUND once it expired, INTERNAL with reason `attachment-integrity` when it was altered.
   */
  async download(attachment: ChatAttachment, onProgress?: (share: number) => void): Promise<Blob> {
    if (attachment.saved === undefined) throw new PlainError('This file was sent from this browser and is not kept here.');
    const bytes = await this.client.attachment(attachment.saved).download({
      ...(onProgress && { onProgress: (done: number, total: number) => onProgress(total === 0 ? 1 : done / total) }),
    });
    return new Blob([bytes as BlobPart], { type: attachment.type });
  }

  /** Sends a failed message again, under the same id: the recipient can never get it twice. */
  retry(conversation: Conversation, message: ChatMessage): Promise<void> {
    return this.deliver(conversation, message);
  }

  /** Trusts the open conversation's new identity key: sending to it works again. */
  async acceptIdentity(): Promise<void> {
    const conversation = this.currentConversation;
    if (!conversation) return;
    await this.client.acceptIdentity(conversation.peerId);
    conversation.identityChanged = false;
    await this.saveAndShow(conversation);
  }

  /**
   * The 60 digits to compare with `peerId`.
   * @throws PlainError when they cannot be computed (no keys known and none can be fetched).
   */
  async safetyNumber(peerId: string): Promise<string> {
    try {
      return await this.client.safetyNumber(peerId);
    } catch (error) {
      throw new PlainError(explain(error));
    }
  }

  /**
   * The encrypted archive of this account. The passphrase is typed twice, blind: two that differ export nothing.
   * @throws PlainError when the two differ or the passphrase is too short.
   */
  async exportArchive(passphrase: string, again: string): Promise<Uint8Array> {
    if (passphrase !== again) throw new PlainError('The two passphrases differ. Type the same passphrase in both fields.');
    try {
      return await this.client.exportArchive(passphrase);
    } catch (error) {
      throw new PlainError(explain(error, ExportWording));
    }
  }

  /**
   * `conversation` is on screen: every received message in it is read. Starts the burn timers of its
   * burn-after-reading messages and sends read receipts (which also mark them read on this account's
   * other devices).
   */
  markShown(conversation: Conversation): void {
    if (!this.isVisible()) return;
    const now = this.now();
    let changed = false;
    for (const message of conversation.messages) {
      if (message.direction !== 'in') continue;
      if (message.burnAfterReadingSeconds !== undefined && message.burnAt === undefined) {
        message.burnAt = now + message.burnAfterReadingSeconds * 1000;
        changed = true;
      }
      if (!message.read && message.messageId !== undefined) {
        message.read = true;
        changed = true;
        void this.client.markRead({ id: message.messageId, from: message.from ?? conversation.peerId }).catch(() => undefined);
      }
    }
    conversation.unread = 0;
    if (changed) void this.saveAndShow(conversation);
  }

  /** Removes what has expired or burned; the page calls it a few times a second. */
  async tick(): Promise<void> {
    const changed = await this.history.prune(this.now());
    if (this.currentConversation && changed.includes(this.currentConversation)) this.options.view.chat();
  }

  close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    return this.client.close();
  }

  /** Says why the page is offline, and connects again later unless nothing can change the answer. */
  private offline(what: string, error: unknown): void {
    const code = EbbError.is(error) ? error.code : 'INTERNAL';
    // The service said so before closing: this browser's keys are of no use any more, as after removing itself.
    if (EbbError.is(error) && error.reason === 'device-removed') {
      void this.forget(REMOVED_ELSEWHERE).catch(() => undefined);
      return;
    }
    // A linked device's key is refused only once the account removed it: no later attempt can succeed.
    if (code === 'UNAUTHORIZED' && !this.holdsAccountKey) {
      this.options.view.connection({ online: false, text: REFUSED_DEVICE });
      return;
    }
    const final = FINAL.has(code) || this.closed;
    this.options.view.connection({ online: false, text: `${what} ${explain(error)}${final ? '' : ' Trying again shortly.'}` });
    if (final) return;
    const { baseDelayMs, maxDelayMs } = this.options.retry ?? DEFAULT_RETRY;
    // Only an operator lifts a suspension: no point asking often.
    const delay = code === 'ACCOUNT_SUSPENDED' ? maxDelayMs : Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(this.retries++, 30));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.reconnect();
    }, delay);
  }

  private async reconnect(): Promise<void> {
    try {
      await this.client.connect();
    } catch (error) {
      this.offline('Cannot connect.', error);
      return;
    }
    this.retries = 0;
    this.options.view.connection({ online: true, text: 'Connected' });
  }

  /** The visitor chose (a new account, or linking): a reload connects from now on. */
  private choose(): void {
    if (!this.unchosen) return;
    this.unchosen = false;
    void this.history.setUnchosen(false).catch(() => undefined);
  }

  /** This browser was removed from the account (by itself or by device 1): nothing it keeps is of use, so it keeps nothing. */
  private async forget(text = REMOVED): Promise<void> {
    this.closed = true;
    clearTimeout(this.retryTimer);
    await this.client.close().catch(() => undefined);
    const { store } = this.options;
    for (const key of await store.list('')) await store.delete(key);
    await this.history.clear();
    this.currentConversation = undefined;
    this.hasAccount = false;
    this.options.view.account(null);
    this.options.view.connection({ online: false, text });
    this.options.view.conversations();
    this.options.view.chat();
  }

  /** A first visit the service cannot take: says why, and keeps no identity that could never register. */
  private async turnAway(error: EbbError): Promise<void> {
    const status = await this.client.status().catch(() => undefined);
    await this.client.close();
    const { store } = this.options;
    for (const key of await store.list('')) await store.delete(key);
    this.hasAccount = false;
    this.options.view.account(null);
    this.options.view.connection({ online: false, text: explain(error) });
    if (status) this.showSunset(status.phase, status.schedule);
  }

  /** @throws PlainError when `peerId` has no account (or its keys cannot be fetched). */
  private async requireAccount(peerId: string): Promise<void> {
    try {
      await this.client.safetyNumber(peerId);
    } catch (error) {
      if (EbbError.is(error, 'NOT_FOUND')) {
        throw new PlainError(`No account has the user id ${peerId} on this service. Check the id with the person who gave it to you.`);
      }
      throw new PlainError(explain(error));
    }
  }

  /** The open conversation when it is a group this account is in. */
  private requireGroup(): Conversation {
    const conversation = this.currentConversation;
    if (!conversation?.group) throw new PlainError('Open a group first.');
    if (conversation.left || !this.client.group(conversation.peerId)) throw new PlainError('You are not in this group any more.');
    return conversation;
  }

  private async groupCall(call: () => Promise<unknown>): Promise<void> {
    try {
      await call();
    } catch (error) {
      throw new PlainError(explain(error, GroupWording));
    }
  }

  /**
   * The user ids `text` names: usernames are looked up (and remembered, to name the members by), user ids
   * taken as they are. This account itself is left out.
   * @throws PlainError naming the first word that names nobody.
   */
  private async resolveMembers(text: string): Promise<string[]> {
    const inputs = memberInputs(text);
    if (inputs.length > MAX_MEMBERS_PER_FORM) throw new PlainError(`Name at most ${MAX_MEMBERS_PER_FORM} people at once.`);
    const users: string[] = [];
    for (const input of inputs) {
      if (USER_ID.test(input)) {
        users.push(input);
        continue;
      }
      if (!USERNAME.test(input)) throw new PlainError(`“${input}” is neither a username nor a user id.`);
      const userId = await this.client.lookupUsername(input).catch((error: unknown) => {
        throw new PlainError(explain(error));
      });
      if (userId === null) throw new PlainError(`Nobody is called ${input}.`);
      await this.history.rememberName(userId, input);
      users.push(userId);
    }
    return [...new Set(users)].filter((user) => user !== this.client.userId);
  }

  /** A group was made or changed: a line in its conversation says how; a group this account left stays, to read. */
  private async receiveGroupEvent(event: GroupEvent): Promise<void> {
    const { group } = event;
    const before = this.groupNames.get(group.id);
    this.groupNames.set(group.id, group.name);
    const conversation = this.history.openGroup(group.id, group.name);
    const self = this.client.userId;
    conversation.left = !group.members.includes(self);
    conversation.messages.push({
      id: `event/${crypto.randomUUID()}`,
      direction: 'event',
      text: groupEventText(event, self, (userId) => this.nameOf(userId), before),
      at: this.now(),
    });
    await this.saveAndShow(conversation);
  }

  /** A group's name as last seen here, for a message that came before its group's event. */
  private groupName(groupId: string): string {
    return this.client.group(groupId)?.name ?? this.groupNames.get(groupId) ?? 'Group';
  }

  /** Sends (or retries) `message`, moving it through sending → sent, or → failed with the error's code. */
  private async deliver(conversation: Conversation, message: ChatMessage): Promise<void> {
    message.delivery = 'sending';
    delete message.failure;
    await this.saveAndShow(conversation);
    const files = this.outgoingFiles.get(message.id);
    try {
      if (message.attachments && !files)
        throw new EbbError('BAD_REQUEST', 'the files of this message are no longer in this page', { retryable: false });
      let shownTenth = -1;
      const options = {
        ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
        ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
        // Same id on a retry: the server queues it once and the recipient shows it once.
        ...(message.messageId !== undefined && { id: message.messageId }),
        ...(files && {
          attachments: files.map((file) => ({ ...fileAttachment(file), data: file })),
          onProgress: (sent: number, total: number) => {
            message.progress = total === 0 ? 1 : sent / total;
            // The bar moves in tenths: not a redraw of the conversation per chunk.
            if (Math.floor(message.progress * 10) === shownTenth) return;
            shownTenth = Math.floor(message.progress * 10);
            this.options.view.chat();
          },
        }),
      };
      const result = conversation.group
        ? await this.client.sendToGroup(conversation.peerId, message.text, options)
        : await this.client.send(conversation.peerId, message.text, options);
      delete message.progress;
      message.messageId = result.id;
      if (conversation.group) this.forgetGroupReceipts(result.id);
      else this.applyEarlyReceipt(conversation.peerId, message);
      message.at = result.sentAt.getTime();
      if (message.expiresInSeconds !== undefined) message.expiresAt = message.at + message.expiresInSeconds * 1000;
      message.delivery = 'sent';
    } catch (error) {
      message.delivery = 'failed';
      message.failure = EbbError.is(error) ? error.code : 'INTERNAL';
      if (EbbError.is(error) && error.messageId !== undefined) message.messageId = error.messageId;
      // send() refuses with FORBIDDEN while a changed identity is not accepted.
      if (message.failure === 'FORBIDDEN' && !conversation.group) conversation.identityChanged = true;
      // sendToGroup() refuses with NOT_FOUND once this account is no longer in the group.
      if (message.failure === 'NOT_FOUND' && conversation.group) conversation.left = true;
    }
    await this.saveAndShow(conversation);
  }

  private async receive(received: ReceivedMessage): Promise<void> {
    const group = received.group === undefined ? undefined : this.client.group(received.group);
    const conversation =
      received.group === undefined
        ? this.history.open(received.from)
        : this.history.openGroup(received.group, group?.name ?? this.groupName(received.group));
    const id = `in/${received.from}/${received.id}`;
    if (conversation.messages.some((message) => message.id === id)) return;
    const expiresAt = received.expiresAt?.getTime();
    if (expiresAt !== undefined && expiresAt <= this.now()) return;
    conversation.messages.push({
      id,
      messageId: received.id,
      direction: 'in',
      text: received.text ?? `[${received.body.length} bytes of binary content]`,
      at: received.sentAt.getTime(),
      ...(received.group !== undefined && { from: received.from }),
      ...(expiresAt !== undefined && { expiresAt }),
      ...(received.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: received.burnAfterReadingSeconds }),
      ...(received.attachments && { attachments: received.attachments.map(savedAttachment) }),
    });
    conversation.messages.sort((a, b) => a.at - b.at);
    if (received.identityChanged && received.group === undefined) conversation.identityChanged = true;
    if (conversation !== this.currentConversation || !this.isVisible()) conversation.unread++;
    if (conversation === this.currentConversation) this.markShown(conversation);
    await this.saveAndShow(conversation);
  }

  /** A message another device of this account sent: shown in its conversation as sent from here. */
  private async receiveSent(sent: SentMessage): Promise<void> {
    const conversation = sent.group === undefined ? this.history.open(sent.to) : this.history.openGroup(sent.group, this.groupName(sent.group));
    if (conversation.messages.some((message) => message.direction === 'out' && message.messageId === sent.id)) return;
    const expiresAt = sent.expiresAt?.getTime();
    if (expiresAt !== undefined && expiresAt <= this.now()) return;
    const message: ChatMessage = {
      id: `sent/${sent.id}`,
      messageId: sent.id,
      direction: 'out',
      text: sent.text ?? `[${sent.body.length} bytes of binary content]`,
      at: sent.sentAt.getTime(),
      delivery: 'sent',
      fromDevice: sent.fromDevice,
      ...(expiresAt !== undefined && { expiresAt }),
      ...(sent.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: sent.burnAfterReadingSeconds }),
      ...(sent.attachments && { attachments: sent.attachments.map(savedAttachment) }),
    };
    if (sent.group !== undefined) this.forgetGroupReceipts(sent.id);
    else this.applyEarlyReceipt(sent.to, message);
    conversation.messages.push(message);
    conversation.messages.sort((a, b) => a.at - b.at);
    await this.saveAndShow(conversation);
  }

  /** A recipient's receipt ticks a sent message; read state from another own device marks a received one read. */
  /**
   * A group message's receipts come from every member: no tick could say whose they are, so they are dropped,
   * not held as early receipts (which they would fill).
   */
  private forgetGroupReceipts(messageId: string): void {
    this.groupMessages.add(messageId);
    if (this.groupMessages.size > MAX_EARLY_RECEIPTS) this.groupMessages.delete(this.groupMessages.values().next().value!);
    for (const key of this.earlyReceipts.keys()) if (key.endsWith(`/${messageId}`)) this.earlyReceipts.delete(key);
  }

  private async receiveReceipt(receipt: Receipt): Promise<void> {
    if (this.groupMessages.has(receipt.messageId)) return;
    if (receipt.from === this.client.userId) {
      const conversation = receipt.sender === undefined ? undefined : this.history.conversations.get(receipt.sender);
      const message = conversation?.messages.find((m) => m.direction === 'in' && m.messageId === receipt.messageId);
      if (!conversation || !message || message.read || receipt.kind !== 'read') return;
      message.read = true;
      conversation.unread = Math.max(0, conversation.unread - 1);
      await this.saveAndShow(conversation);
      return;
    }
    const conversation = this.history.conversations.get(receipt.from);
    const message = conversation?.messages.find((m) => m.direction === 'out' && m.messageId === receipt.messageId);
    if (!conversation || !message) {
      // Its send may not have resolved yet: the id is known once it does.
      const key = `${receipt.from}/${receipt.messageId}`;
      if (this.earlyReceipts.size < MAX_EARLY_RECEIPTS || this.earlyReceipts.has(key)) {
        this.earlyReceipts.set(key, furthest(this.earlyReceipts.get(key), receipt.kind));
      }
      return;
    }
    if (message.receipt === furthest(message.receipt, receipt.kind)) return;
    message.receipt = furthest(message.receipt, receipt.kind);
    await this.saveAndShow(conversation);
  }

  private applyEarlyReceipt(peerId: string, message: ChatMessage): void {
    const key = `${peerId}/${message.messageId}`;
    const early = this.earlyReceipts.get(key);
    if (early === undefined) return;
    this.earlyReceipts.delete(key);
    message.receipt = furthest(message.receipt, early);
  }

  private async flagIdentityChange(userId: string): Promise<void> {
    const conversation = this.history.open(userId);
    conversation.identityChanged = true;
    await this.saveAndShow(conversation);
  }

  private showSunset(phase: Phase, schedule: SunsetSchedule): void {
    this.phase = phase;
    this.options.view.sunset(phase, schedule);
  }

  private async saveAndShow(conversation: Conversation): Promise<void> {
    this.options.view.conversations();
    if (conversation === this.currentConversation) this.options.view.chat();
    await this.history.save(conversation);
  }
}

/** Read implies delivered: a message never goes back from ✓✓ to ✓. */
function furthest(current: ReceiptKind | undefined, next: ReceiptKind): ReceiptKind {
  return current === 'read' || next === 'read' ? 'read' : 'delivered';
}

/** A file to send as the chat shows it: a browser gives no name or type for some (a pasted image). */
function fileAttachment(file: File): { name: string; type: string; size: number } {
  return {
    name: file.name || 'file',
    type: /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+$/.test(file.type) ? file.type : 'application/octet-stream',
    size: file.size,
  };
}

/** A received file as the chat keeps it: its JSON holds what downloads it again (EbbClient.attachment). */
function savedAttachment(attachment: ReceivedAttachment): ChatAttachment {
  return { name: attachment.name, type: attachment.type, size: attachment.size, saved: JSON.parse(JSON.stringify(attachment)) as unknown };
}
