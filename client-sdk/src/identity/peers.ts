import * as z from 'zod/mini';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { Device, PublicKey, Signature } from '../../../protocol/frames';
import type { SenderKeys } from '../crypto/static-box';
import { EbbError } from '../errors';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { Answer } from '../transport/server-frames';
import { verifyPeerIdentity } from './keys';

/** A peer as the sender needs it: where to encrypt to and which devices to address. */
export interface Peer {
  readonly userId: string;
  readonly identityKey: Uint8Array;
  readonly devices: readonly number[];
}

/** What is cached per peer. Only keys whose signature verified are ever written. */
const PeerRecord = z.object({
  signingKey: PublicKey,
  identityKey: PublicKey,
  identitySig: Signature,
  /** Unknown until we first send to the peer. */
  devices: z.nullable(z.array(Device)),
});
type PeerRecord = z.infer<typeof PeerRecord>;

export type FetchBundle = (userId: string) => Promise<Answer<'keys.bundle'>>;

/**
 * The peer identity cache. Verifying a signature with tweetnacl is slow (~100/s), so each peer's
 * keys are verified once, then recognised by comparison.
 */
export class PeerDirectory {
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    private readonly store: KeyStore,
    private readonly fetchBundle: FetchBundle,
  ) {}

  /**
   * The peer from the cache, or from the server when its devices are not yet known.
   * @throws EbbError NOT_FOUND when the user does not exist; errors of `keys.bundle`.
   */
  forSending(userId: string): Promise<Peer> {
    return this.locked(userId, async () => {
      const record = await this.read(userId);
      return record?.devices ? toPeer(userId, record, record.devices) : this.refreshUnlocked(userId, record);
    });
  }

  /** Re-reads the peer's devices from the server, e.g. after the server answered CONFLICT. */
  refresh(userId: string): Promise<Peer> {
    return this.locked(userId, async () => this.refreshUnlocked(userId, await this.read(userId)));
  }

  /**
   * Whether `keys` are this peer's verified keys: true straight from the cache, otherwise after
   * checking the user id binding and signature, which are then cached.
   */
  trust(userId: string, keys: SenderKeys): Promise<boolean> {
    return this.locked(userId, async () => {
      const record = await this.read(userId);
      if (record && sameKeys(record, keys.signingPublicKey, keys.identityPublicKey, keys.identitySig)) return true;
      if (!verifyPeerIdentity(userId, keys.signingPublicKey, keys.identityPublicKey, keys.identitySig)) return false;
      await this.write(userId, {
        signingKey: toBase64Url(keys.signingPublicKey),
        identityKey: toBase64Url(keys.identityPublicKey),
        identitySig: toBase64Url(keys.identitySig),
        devices: record?.devices ?? null,
      });
      return true;
    });
  }

  private async refreshUnlocked(userId: string, cached: PeerRecord | undefined): Promise<Peer> {
    const bundle = await this.fetchBundle(userId);
    const signingKey = fromBase64Url(bundle.signingKey);
    const identityKey = fromBase64Url(bundle.identityKey);
    const identitySig = fromBase64Url(bundle.identitySig);
    const known = cached !== undefined && sameKeys(cached, signingKey, identityKey, identitySig);
    if (bundle.user !== userId || (!known && !verifyPeerIdentity(userId, signingKey, identityKey, identitySig))) {
      throw new EbbError('INTERNAL', 'the server returned keys that do not belong to this user', { retryable: false });
    }
    const devices = [...new Set(bundle.devices.map((d) => d.device))].sort((a, b) => a - b);
    if (devices.length === 0) throw new EbbError('NOT_FOUND', 'the user has no devices');
    const record = { signingKey: bundle.signingKey, identityKey: bundle.identityKey, identitySig: bundle.identitySig, devices };
    await this.write(userId, record);
    return toPeer(userId, record, devices);
  }

  private async read(userId: string): Promise<PeerRecord | undefined> {
    const saved = await this.store.get(StoreKeys.peer(userId));
    if (saved === undefined) return undefined;
    try {
      const parsed = PeerRecord.safeParse(JSON.parse(saved));
      return parsed.success ? parsed.data : undefined;
    } catch {
      return undefined; // a corrupt entry is re-verified from scratch
    }
  }

  private write(userId: string, record: PeerRecord): Promise<void> {
    return this.store.set(StoreKeys.peer(userId), JSON.stringify(record));
  }

  /** Serialises read-modify-write of one peer's record (sends and receipts run concurrently). */
  private locked<T>(userId: string, task: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(userId) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.locks.set(userId, tail);
    void tail.then(() => {
      if (this.locks.get(userId) === tail) this.locks.delete(userId);
    });
    return next;
  }
}

/** The signature is compared too, so that no altered byte of a ciphertext's header goes unnoticed. */
function sameKeys(record: PeerRecord, signingKey: Uint8Array, identityKey: Uint8Array, identitySig: Uint8Array): boolean {
  return (
    record.signingKey === toBase64Url(signingKey) &&
    record.identityKey === toBase64Url(identityKey) &&
    record.identitySig === toBase64Url(identitySig)
  );
}

function toPeer(userId: string, record: PeerRecord, devices: readonly number[]): Peer {
  return { userId, identityKey: fromBase64Url(record.identityKey), devices };
}
