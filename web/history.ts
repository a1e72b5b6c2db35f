import type { KeyStore } from '../client-sdk/src';

export type Delivery = 'sending' | 'sent' | 'failed';
/** What the recipient's devices said about a sent message (ARCH §8.6): the furthest any of them got. */
export type ReceiptKind = 'delivered' | 'read';

/** One message as the chat shows it. Plaintext stays on this device, in this origin's IndexedDB. */
export interface ChatMessage {
  /**
   * This page's key for the message: `out/<uuid>`, `sent/<message id>` (sent from another device of this
   * account), `in/<sender>/<message id>`, or `event/<uuid>` for a line saying what changed in a group.
   */
  readonly id: string;
  /**
   * The SDK's id of the message: receipts name it. A failed send keeps it, so a retry cannot deliver twice.
   */
  messageId?: string;
  /** `event`: a line saying what changed in a group ("alice added bob"), not a message. */
  readonly direction: 'in' | 'out' | 'event';
  readonly text: string;
  /** On a received group message: the member who sent it. */
  readonly from?: string;
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
  /** The files the message carries (ARCH §8.10). */
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
  /** The peer's user id; for a group, the group's id. */
  readonly peerId: string;
  /** A username when the user started the chat with one; a group's name. */
  label?: string;
  /** Set on a group's conversation (ARCH §8.9). */
  group?: true;
  /** On a group's conversation: this account is no longer in the group (it left or was removed). */
  left?: boolean;
  messages: ChatMessage[];
  unread: number;
  /** The peer's identity key changed and the user has not accepted it yet. */
  identityChanged?: boolean;
}

const CONVERSATION_PREFIX = 'conversations/';
const USERNAME_KEY = 'profile/username';
/** The usernames the user found people by, by user id: how group members are named. */
const NAMES_KEY = 'profile/names';
/** Present while a first visit has chosen neither a new account nor linking to an existing one. */
const UNCHOSEN_KEY = 'profile/unchosen';

/**
 * The chat's own records, beside (not inside) the SDK's store: one entry per conversation, so each
 * save replaces one conversation atomically.
 */
export class ChatHistory {
  readonly conversations = new Map<string, Conversation>();
  /** Usernames by user id, as the user found people (a conversation's label is one too). */
  readonly names = new Map<string, string>();

  constructor(private readonly store: KeyStore) {}

  async load(now: number): Promise<void> {
    for (const [userId, name] of parseNames(await this.store.get(NAMES_KEY))) this.names.set(userId, name);
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

  /** The conversation of group `groupId`, named `name`. */
  openGroup(groupId: string, name: string): Conversation {
    const conversation = this.open(groupId, name);
    conversation.group = true;
    return conversation;
  }

  /** The username `userId` was found by, if the user looked it up. */
  nameOf(userId: string): string | undefined {
    return this.names.get(userId) ?? this.conversations.get(userId)?.label;
  }

  async rememberName(userId: string, name: string): Promise<void> {
    if (this.names.get(userId) === name) return;
    // A name belongs to one user at a time.
    for (const [other, known] of this.names) if (known.toLowerCase() === name.toLowerCase()) this.names.delete(other);
    this.names.set(userId, name);
    await this.store.set(NAMES_KEY, JSON.stringify(Object.fromEntries(this.names)));
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
    this.names.clear();
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

/** The stored names, or none when missing or unreadable: losing names loses no messages. */
function parseNames(json: string | undefined): [string, string][] {
  if (json === undefined) return [];
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return [];
    return Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
  } catch {
    return [];
  }
}
