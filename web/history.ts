import type { KeyStore } from '../client-sdk/src';

export type Delivery = 'sending' | 'sent' | 'failed';
/** What the recipient's devices said about a sent message (ARCH §8.6): the furthest any of them got. */
export type ReceiptKind = 'delivered' | 'read';

/** One message as the chat shows it. Plaintext stays on this device, in this origin's IndexedDB. */
export interface ChatMessage {
  /**
   * This page's key for the message: `out/<uuid>`, `sent/<message id>` (sent from another device of this
   * account) or `in/<sender>/<message id>`.
   */
  readonly id: string;
  /**
   * The SDK's id of the message: receipts name it. A failed send keeps it, so a retry cannot deliver twice.
   */
  messageId?: string;
  readonly direction: 'in' | 'out';
  readonly text: string;
  /** Epoch ms: when it was sent (server time once known) or received. */
  at: number;
  delivery?: Delivery;
  /** On a sent message: delivered to, or read on, a device of the recipient. */
  receipt?: ReceiptKind;
  /** On a sent message: the other device of this account it was sent from. */
  readonly fromDevice?: number;
  /** On a received message: read here (a read receipt went out) or on another device of this account. */
  read?: boolean;
  /** Why the last attempt failed (an EbbError code), for failed sends. */
  failure?: string;
  readonly expiresInSeconds?: number;
  /** Epoch ms after which the message is deleted, on both sides. */
  expiresAt?: number;
  readonly burnAfterReadingSeconds?: number;
  /** Epoch ms after which a received burn-after-reading message is deleted: set when it is first shown. */
  burnAt?: number;
  /** The files the message carries (ARCH §8.8). */
  attachments?: ChatAttachment[];
  /** While a message with files uploads: the share uploaded, 0 to 1. */
  progress?: number;
}

/** A file of a message, as the chat keeps it. */
export interface ChatAttachment {
  readonly name: string;
  readonly type: string;
  readonly size: number;
  /**
   * On a received message (or one sent from another device): the attachment as it serializes (JSON), with
   * the key that opens it, kept in this origin's IndexedDB like the message text. `EbbClient.attachment`
   * binds it again to download the file.
   */
  readonly saved?: unknown;
}

export interface Conversation {
  readonly peerId: string;
  /** A username when the user started the chat with one. */
  label?: string;
  messages: ChatMessage[];
  unread: number;
  /** The peer's identity key changed and the user has not accepted it yet. */
  identityChanged?: boolean;
}

const CONVERSATION_PREFIX = 'conversations/';
const USERNAME_KEY = 'profile/username';
/** Present while a first visit has chosen neither a new account nor linking to an existing one. */
const UNCHOSEN_KEY = 'profile/unchosen';

/**
 * The chat's own records, beside (not inside) the SDK's store: one entry per conversation, so each
 * save replaces one conversation atomically.
 */
export class ChatHistory {
  readonly conversations = new Map<string, Conversation>();

  constructor(private readonly store: KeyStore) {}

  async load(now: number): Promise<void> {
    for (const key of await this.store.list(CONVERSATION_PREFIX)) {
      const json = await this.store.get(key);
      if (json === undefined) continue;
      const conversation = JSON.parse(json) as Conversation;
      // A send still pending when the page closed may or may not have reached the server.
      for (const message of conversation.messages) if (message.delivery === 'sending') message.delivery = 'failed';
      this.conversations.set(conversation.peerId, conversation);
      prune(conversation, now);
    }
  }

  open(peerId: string, label?: string): Conversation {
    let conversation = this.conversations.get(peerId);
    if (!conversation) this.conversations.set(peerId, (conversation = { peerId, messages: [], unread: 0 }));
    if (label !== undefined) conversation.label = label;
    return conversation;
  }

  save(conversation: Conversation): Promise<void> {
    return this.store.set(CONVERSATION_PREFIX + conversation.peerId, JSON.stringify(conversation));
  }

  /** Removes every message past its expiry or burn time; resolves with the conversations that changed. */
  async prune(now: number): Promise<Conversation[]> {
    const changed = [...this.conversations.values()].filter((conversation) => prune(conversation, now));
    await Promise.all(changed.map((conversation) => this.save(conversation)));
    return changed;
  }

  username(): Promise<string | undefined> {
    return this.store.get(USERNAME_KEY);
  }

  setUsername(username: string): Promise<void> {
    return this.store.set(USERNAME_KEY, username);
  }

  async unchosen(): Promise<boolean> {
    return (await this.store.get(UNCHOSEN_KEY)) !== undefined;
  }

  setUnchosen(unchosen: boolean): Promise<void> {
    return unchosen ? this.store.set(UNCHOSEN_KEY, '1') : this.store.delete(UNCHOSEN_KEY);
  }

  /** Forgets everything: this browser no longer holds the account. */
  async clear(): Promise<void> {
    for (const key of await this.store.list('')) await this.store.delete(key);
    this.conversations.clear();
  }
}

/** Whether `message` must be gone by `now`. */
export function isGone(message: ChatMessage, now: number): boolean {
  return (message.expiresAt !== undefined && message.expiresAt <= now) || (message.burnAt !== undefined && message.burnAt <= now);
}

function prune(conversation: Conversation, now: number): boolean {
  const before = conversation.messages.length;
  conversation.messages = conversation.messages.filter((message) => !isGone(message, now));
  return conversation.messages.length !== before;
}
