/**
 * What the web chat does, apart from how it looks: it drives the SDK and the chat's history and tells a
 * `ChatView` what changed. It touches no DOM, so tests run it in Node against the local stack.
 */
import { EbbClient, EbbError, type KeyStore, type Phase, type ReceivedMessage, type SunsetSchedule } from '../client-sdk/src';
import { ExportWording, PlainError, UsernameWording, explain } from './errors';
import { ChatHistory, type ChatMessage, type Conversation } from './history';

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

export class ChatController {
  private currentConversation: Conversation | undefined;
  private phase: Phase = 'open';
  private hasAccount = true;
  private readonly now: () => number;
  private readonly isVisible: () => boolean;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private retries = 0;
  private closed = false;

  private constructor(
    private readonly client: EbbClient,
    private readonly history: ChatHistory,
    private readonly options: ChatControllerOptions,
    /** The username this browser last set, as remembered in the history store. */
    readonly savedUsername: string | undefined,
    /** The identity was made by open(): this is a first visit. */
    private readonly fresh: boolean,
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
    const client = await EbbClient.create({ url: options.url, store: options.store, now });
    const history = new ChatHistory(options.historyStore);
    await history.load(now());
    return new ChatController(client, history, options, await history.username(), fresh);
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
    this.client.on('notice', (notice) => this.showSunset(notice.phase, notice.schedule));
    this.client.on('identityChanged', ({ userId }) => void this.flagIdentityChange(userId).catch(() => undefined));
    // The client reconnects by itself after a drop and stops on a refusal: the page then tries again later.
    this.client.on('error', (error) => this.offline('Disconnected.', error));
    if (!fresh) view.account(this.client.userId);
    try {
      await this.client.connect();
      view.connection({ online: true, text: 'Connected' });
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

  /** Makes `conversation` the open one; its burn-after-reading timers start if the page can be seen. */
  select(conversation: Conversation): void {
    this.currentConversation = conversation;
    this.markShown(conversation);
    this.options.view.conversations();
    this.options.view.chat();
  }

  /** Sends `text` to the open conversation; the message shows as sending, then sent or failed (with Retry). */
  send(text: string, settings: SendSettings = {}): ChatMessage | undefined {
    const conversation = this.currentConversation;
    if (!conversation || text.trim() === '') return undefined;
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
    };
    conversation.messages.push(message);
    void this.deliver(conversation, message);
    return message;
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

  /** Starts the burn timer of every received burn-after-reading message of `conversation` now on screen. */
  markShown(conversation: Conversation): void {
    if (!this.isVisible()) return;
    const now = this.now();
    let started = false;
    for (const message of conversation.messages) {
      if (message.direction === 'in' && message.burnAfterReadingSeconds !== undefined && message.burnAt === undefined) {
        message.burnAt = now + message.burnAfterReadingSeconds * 1000;
        started = true;
      }
    }
    conversation.unread = 0;
    if (started) void this.saveAndShow(conversation);
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
    const final = FINAL.has(code) || this.closed;
    this.options.view.connection({ online: false, text: `${what} ${explain(error)}${final ? '' : ' Trying again shortly.'}` });
    if (final) return;
    const { baseDelayMs, maxDelayMs } = this.options.retry ?? DEFAULT_RETRY;
    // Only an operator lifts a suspension: no point asking often.
    const delay = code === 'ACCOUNT_SUSPENDED' ? maxDelayMs : Math.min(maxDelayMs, baseDelayMs * 2 ** Math.min(this.retries++, 30));
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => void this.reconnect(), delay);
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

  /** Sends (or retries) `message`, moving it through sending → sent, or → failed with the error's code. */
  private async deliver(conversation: Conversation, message: ChatMessage): Promise<void> {
    message.delivery = 'sending';
    delete message.failure;
    await this.saveAndShow(conversation);
    try {
      const result = await this.client.send(conversation.peerId, message.text, {
        ...(message.expiresInSeconds !== undefined && { expiresInSeconds: message.expiresInSeconds }),
        ...(message.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: message.burnAfterReadingSeconds }),
        // Same id on a retry: the server queues it once and the recipient shows it once.
        ...(message.messageId !== undefined && { id: message.messageId }),
      });
      message.messageId = result.id;
      message.at = result.sentAt.getTime();
      if (message.expiresInSeconds !== undefined) message.expiresAt = message.at + message.expiresInSeconds * 1000;
      message.delivery = 'sent';
    } catch (error) {
      message.delivery = 'failed';
      message.failure = EbbError.is(error) ? error.code : 'INTERNAL';
      if (EbbError.is(error) && error.messageId !== undefined) message.messageId = error.messageId;
      // send() refuses with FORBIDDEN while a changed identity is not accepted.
      if (message.failure === 'FORBIDDEN') conversation.identityChanged = true;
    }
    await this.saveAndShow(conversation);
  }

  private async receive(received: ReceivedMessage): Promise<void> {
    const conversation = this.history.open(received.from);
    const id = `in/${received.from}/${received.id}`;
    if (conversation.messages.some((message) => message.id === id)) return;
    const expiresAt = received.expiresAt?.getTime();
    if (expiresAt !== undefined && expiresAt <= this.now()) return;
    conversation.messages.push({
      id,
      direction: 'in',
      text: received.text ?? `[${received.body.length} bytes of binary content]`,
      at: received.sentAt.getTime(),
      ...(expiresAt !== undefined && { expiresAt }),
      ...(received.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: received.burnAfterReadingSeconds }),
    });
    conversation.messages.sort((a, b) => a.at - b.at);
    if (received.identityChanged) conversation.identityChanged = true;
    if (conversation !== this.currentConversation || !this.isVisible()) conversation.unread++;
    if (conversation === this.currentConversation) this.markShown(conversation);
    await this.saveAndShow(conversation);
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
