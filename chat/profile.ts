import type { KeyStore } from '../client-sdk/src';

/**
 * What the chat keeps next to the SDK's entries in the profile's store (so `/export` carries it too):
 * the username this account set, and the names the user looked peers up by.
 */
const Keys = {
  username: 'chat/username',
  contacts: 'chat/contacts',
} as const;

export class Profile {
  private constructor(
    private readonly store: KeyStore,
    private ownName: string | undefined,
    private readonly names: Map<string, string>,
  ) {}

  static async load(store: KeyStore): Promise<Profile> {
    return new Profile(store, await store.get(Keys.username), parseContacts(await store.get(Keys.contacts)));
  }

  get username(): string | undefined {
    return this.ownName;
  }

  async setUsername(name: string | undefined): Promise<void> {
    this.ownName = name;
    if (name === undefined) await this.store.delete(Keys.username);
    else await this.store.set(Keys.username, name);
  }

  /** The name `userId` was found by, if the user looked it up. */
  nameOf(userId: string): string | undefined {
    return this.names.get(userId);
  }

  /** The user id last found under `name` (case-insensitive, as usernames are), if any. */
  idOf(name: string): string | undefined {
    const wanted = name.toLowerCase();
    for (const [userId, known] of this.names) if (known.toLowerCase() === wanted) return userId;
    return undefined;
  }

  async remember(userId: string, name: string): Promise<void> {
    if (this.names.get(userId) === name) return;
    // A name belongs to one user at a time: whoever held it before no longer does.
    for (const [other, known] of this.names) if (known.toLowerCase() === name.toLowerCase()) this.names.delete(other);
    this.names.set(userId, name);
    await this.store.set(Keys.contacts, JSON.stringify(Object.fromEntries(this.names)));
  }
}

/** The stored map, or an empty one when it is missing or unreadable: losing names loses no messages. */
function parseContacts(json: string | undefined): Map<string, string> {
  if (json === undefined) return new Map();
  try {
    const value: unknown = JSON.parse(json);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return new Map();
    return new Map(Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string'));
  } catch {
    return new Map();
  }
}
