import * as v from 'valibot';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { DeliveryToken, Timestamp } from '../../../protocol/frames';
import { Limits } from '../../../protocol/limits';
import { randomBytes } from '../crypto/random';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';

/**
 * This account's token and the deployment that holds its hash, null until one confirmed it; `since`, when it
 * was rotated (here, or on another device of the account), so an older rotation never replaces a newer one.
 */
const OwnToken = v.object({ token: DeliveryToken, publishedTo: v.nullable(v.string()), since: v.optional(Timestamp) });
type OwnToken = v.InferOutput<typeof OwnToken>;

/** A peer's token, with the server time of the message that carried it: an older message never overwrites a newer token. */
const PeerToken = v.object({ token: DeliveryToken, sentAt: Timestamp });

export interface DeliveryTokensOptions {
  readonly store: KeyStore;
  /** The deployment's URL: a token published to another one (an imported archive) is published again. */
  readonly url: string;
  /** Sends `deliveryToken.set`; resolves once the server holds the token's hash. */
  readonly publish: (token: string) => Promise<unknown>;
}

/**
 * Delivery tokens (ARCH §6.6). This account's token goes inside every message it sends, so everyone it writes
 * to learns it and, presenting it in their sends, counts as a contact whom a flood of strangers cannot crowd
 * out of this account's queue. Peers' tokens are kept as their messages bring them. The server holds only a
 * hash of this account's token and no list of contacts.
 */
export class DeliveryTokens {
  private lock: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: DeliveryTokensOptions) {}

  /**
   * This account's token, made on first use; published to the deployment before it is returned, so no message
   * carries a token the server would not recognise.
   * @throws EbbError from `deliveryToken.set` when it must be published and cannot be.
   */
  own(): Promise<Uint8Array> {
    return this.locked(async () => {
      const saved = await this.readOwn();
      const current = saved ?? (await this.saveOwn({ token: toBase64Url(randomBytes(Limits.deliveryTokenBytes)), publishedTo: null }));
      return this.published(current);
    });
  }

  /**
   * Replaces this account's token and publishes the new one: contacts holding only the old one count as
   * strangers until a message from this account brings them the new one. Resolves with the new token
   * (base64url), for the account's other devices (`adopt`).
   * @throws EbbError from `deliveryToken.set`; the new token is published on the next send then.
   */
  rotate(now: number): Promise<string> {
    return this.locked(async () => {
      const own = await this.saveOwn({ token: toBase64Url(randomBytes(Limits.deliveryTokenBytes)), publishedTo: null, since: now });
      await this.published(own);
      return own.token;
    });
  }

  /**
   * Takes the token another device of this account rotated to and published (the service holds one token
   * per account), unless this device rotated later than `sentAt` itself.
   */
  adopt(token: string, sentAt: number): Promise<void> {
    return this.locked(async () => {
      const saved = await this.readOwn();
      if (saved?.token === token || (saved?.since !== undefined && saved.since > sentAt)) return;
      await this.saveOwn({ token, publishedTo: this.options.url, since: sentAt });
    });
  }

  /** Forgets that the deployment holds the token (the account was deleted there): the next send publishes it again. */
  unpublished(): Promise<void> {
    return this.locked(async () => {
      const saved = await this.readOwn();
      if (saved) await this.saveOwn({ ...saved, publishedTo: null });
    });
  }

  /** The token `userId` last sent, base64url as `send` carries it, if any message brought one. */
  async ofPeer(userId: string): Promise<string | undefined> {
    return (await this.readPeer(userId))?.token;
  }

  /** Keeps the token a message from `userId` carried, unless a later message brought another. */
  async learn(userId: string, token: Uint8Array, sentAt: number): Promise<void> {
    const known = await this.readPeer(userId);
    const encoded = toBase64Url(token);
    if (known && (known.sentAt > sentAt || known.token === encoded)) return;
    await this.options.store.set(StoreKeys.peerDeliveryToken(userId), JSON.stringify({ token: encoded, sentAt }));
  }

  private async published(own: OwnToken): Promise<Uint8Array> {
    if (own.publishedTo !== this.options.url) {
      await this.options.publish(own.token);
      await this.saveOwn({ ...own, publishedTo: this.options.url });
    }
    return fromBase64Url(own.token);
  }

  private async readOwn(): Promise<OwnToken | undefined> {
    return parsed(OwnToken, await this.options.store.get(StoreKeys.deliveryToken));
  }

  private async saveOwn(own: OwnToken): Promise<OwnToken> {
    await this.options.store.set(StoreKeys.deliveryToken, JSON.stringify(own));
    return own;
  }

  private async readPeer(userId: string) {
    return parsed(PeerToken, await this.options.store.get(StoreKeys.peerDeliveryToken(userId)));
  }

  /** Own-token operations one at a time, so concurrent sends publish once and a rotation is never undone. */
  private locked<T>(task: () => Promise<T>): Promise<T> {
    const next = this.lock.then(task, task);
    this.lock = next.catch(() => undefined);
    return next;
  }
}

/** A stored entry that does not parse counts as absent: a new own token is made, a peer's is learnt again. */
function parsed<T>(schema: v.GenericSchema<unknown, T>, saved: string | undefined): T | undefined {
  if (saved === undefined) return undefined;
  try {
    const result = v.safeParse(schema, JSON.parse(saved));
    return result.success ? result.output : undefined;
  } catch {
    return undefined;
  }
}
