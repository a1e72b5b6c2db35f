import nacl from 'tweetnacl';
import * as v from 'valibot';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { SIGNED_PREKEY_CONTEXT, signedKeyMessage } from '../../../protocol/connect';
import { Device, PublicKey, Signature } from '../../../protocol/frames';
import { equalBytes } from '../crypto/bytes';
import { EbbError } from '../errors';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { Answer } from '../transport/server-frames';
import { verifyDeviceCert, verifyPeerIdentity } from './keys';
import { KeyedQueue } from '../keyed-queue';

/** A peer's long-term public keys, as a prekey message or a bundle presents them. */
export interface PeerKeys {
  readonly signingKey: Uint8Array;
  readonly identityKey: Uint8Array;
  /** Signature by the signing key over the identity key (IDENTITY_CONTEXT). */
  readonly identitySig: Uint8Array;
}

/** One device's prekeys from a bundle whose signatures verified. */
export interface DevicePrekeys {
  readonly device: number;
  readonly signedPrekey: { readonly keyId: number; readonly publicKey: Uint8Array };
  /** Null when the device had none left: the session then lacks X3DH's DH4 (see Sessions.initiate). */
  readonly oneTimePrekey: { readonly keyId: number; readonly publicKey: Uint8Array } | null;
}

export interface VerifiedBundle {
  readonly userId: string;
  readonly identityKey: Uint8Array;
  /**
   * Devices the account certified whose signed prekey verified under their own key (ARCH §8.6): device 1
   * signs with the account key, a linked device with a key the account key certified. Any other device
   * the server lists (one it invented) is left out: nothing is ever encrypted to it.
   */
  readonly devices: readonly DevicePrekeys[];
  /** Devices listed with keys the account did not certify, or a signed prekey their key did not sign. */
  readonly refused: readonly number[];
}

/** Whether keys are the peer's accepted identity, a new one the app has not accepted, or forged. */
export type IdentityVerdict = 'trusted' | 'changed' | 'invalid';

/** What is cached per peer. Only keys whose signature verified are ever written. */
const PeerRecord = v.object({
  signingKey: PublicKey,
  identityKey: PublicKey,
  identitySig: Signature,
  /** Unknown until we first fetch the peer's bundle. */
  devices: v.nullable(v.array(Device)),
  /** A verified identity key that differs from `identityKey`, until the app accepts it. */
  changed: v.optional(v.nullable(v.object({ identityKey: PublicKey, identitySig: Signature }))),
});
type PeerRecord = v.InferOutput<typeof PeerRecord>;

export type FetchBundle = (userId: string, device?: number) => Promise<Answer<'keys.bundle'>>;

/**
 * The peer identity cache and its trust decisions. Verifying a signature with tweetnacl is slow
 * (~100/s), so each identity is verified once, then recognised by comparison. A peer whose identity
 * key changes is held as `changed` — sends to it are refused — until `accept`.
 */
export class PeerDirectory {
  private readonly locks = new KeyedQueue();

  constructor(
    private readonly store: KeyStore,
    private readonly fetchBundle: FetchBundle,
    private readonly onIdentityChanged: (userId: string) => void,
  ) {}

  /** The peer's known certified devices, or null when a full bundle has never been fetched. */
  async devices(userId: string): Promise<readonly number[] | null> {
    return (await this.read(userId))?.devices ?? null;
  }

  /** Forgets devices the service says the peer no longer has. */
  forgetDevices(userId: string, gone: readonly number[]): Promise<void> {
    return this.locked(userId, async () => {
      const record = await this.read(userId);
      if (!record?.devices) return;
      await this.write(userId, { ...record, devices: record.devices.filter((d) => !gone.includes(d)) });
    });
  }

  /**
   * The identity key sends must use.
   * @throws EbbError FORBIDDEN (not retryable) while a changed identity key awaits acceptIdentity().
   */
  async sendableIdentity(userId: string): Promise<Uint8Array | null> {
    const record = await this.read(userId);
    if (record?.changed) throw identityChangedError(userId);
    return record ? fromBase64Url(record.identityKey) : null;
  }

  /** The identity key to show in a safety number: the newest one seen, accepted or not. */
  async latestIdentity(userId: string): Promise<Uint8Array | null> {
    const record = await this.read(userId);
    if (!record) return null;
    return fromBase64Url(record.changed?.identityKey ?? record.identityKey);
  }

  /**
   * Fetches and verifies the bundle of all the peer's devices (updating the device list), or of
   * one device. Each one-time prekey in it is handed out only once by the server: use them.
   * @throws EbbError NOT_FOUND when the user or device does not exist; errors of `keys.bundle`.
   * @throws EbbError FORBIDDEN (not retryable) when the bundle shows a changed identity key;
   *   'identityChanged' is emitted the first time.
   * @throws EbbError INTERNAL (not retryable) when the keys do not belong to the user.
   */
  bundle(userId: string, device?: number): Promise<VerifiedBundle> {
    return this.locked(userId, async () => {
      const bundle = await this.fetchBundle(userId, device);
      const keys = {
        signingKey: fromBase64Url(bundle.signingKey),
        identityKey: fromBase64Url(bundle.identityKey),
        identitySig: fromBase64Url(bundle.identitySig),
      };
      const record = await this.read(userId);
      const verdict = bundle.user === userId ? await this.judge(userId, record, keys) : 'invalid';
      if (verdict === 'invalid') throw new EbbError('INTERNAL', 'the server returned keys that do not belong to this user', { retryable: false });
      const verified: DevicePrekeys[] = [];
      const refused: number[] = [];
      for (const d of bundle.devices) {
        if (device !== undefined && d.device !== device) continue;
        const prekeys = certifiedPrekeys(d, keys.signingKey);
        if (prekeys) verified.push(prekeys);
        else if (d.signedPrekey) refused.push(d.device);
      }
      const certified = [...new Set(verified.map((d) => d.device))].sort((a, b) => a - b);
      if (device === undefined) {
        if (certified.length === 0) throw verdict === 'changed' ? identityChangedError(userId) : new EbbError('NOT_FOUND', 'the user has no devices');
        const latest = (await this.read(userId))!;
        await this.write(userId, { ...latest, devices: certified });
      } else if (certified.length > 0) {
        const latest = (await this.read(userId))!;
        if (latest.devices && !latest.devices.includes(device)) {
          await this.write(userId, { ...latest, devices: [...latest.devices, device].sort((a, b) => a - b) });
        }
      }
      if (verdict === 'changed') throw identityChangedError(userId);
      return { userId, identityKey: keys.identityKey, devices: verified, refused };
    });
  }

  /**
   * Judges keys a peer presented in a prekey message: 'trusted' when they are the accepted ones
   * (or the first ever seen, verified and cached), 'changed' for a verified new identity key
   * (recorded, with 'identityChanged' emitted the first time), 'invalid' otherwise.
   */
  observe(userId: string, keys: PeerKeys): Promise<IdentityVerdict> {
    return this.locked(userId, async () => this.judge(userId, await this.read(userId), keys));
  }

  /** Makes a changed identity key the accepted one; returns it, or null when none was pending. */
  accept(userId: string): Promise<Uint8Array | null> {
    return this.locked(userId, async () => {
      const record = await this.read(userId);
      if (!record?.changed) return null;
      await this.write(userId, { ...record, identityKey: record.changed.identityKey, identitySig: record.changed.identitySig, changed: null });
      return fromBase64Url(record.changed.identityKey);
    });
  }

  private async judge(userId: string, record: PeerRecord | undefined, keys: PeerKeys): Promise<IdentityVerdict> {
    if (record && sameKeys(record, keys)) return 'trusted';
    if (
      record?.changed &&
      record.changed.identityKey === toBase64Url(keys.identityKey) &&
      record.changed.identitySig === toBase64Url(keys.identitySig)
    ) {
      return 'changed';
    }
    if (!verifyPeerIdentity(userId, keys.signingKey, keys.identityKey, keys.identitySig)) return 'invalid';
    if (!record || record.identityKey === toBase64Url(keys.identityKey)) {
      // First contact, or the same key with another (also valid) signature encoding.
      await this.write(userId, {
        signingKey: toBase64Url(keys.signingKey),
        identityKey: toBase64Url(keys.identityKey),
        identitySig: toBase64Url(keys.identitySig),
        devices: record?.devices ?? null,
        changed: record?.changed ?? null,
      });
      return 'trusted';
    }
    await this.write(userId, { ...record, changed: { identityKey: toBase64Url(keys.identityKey), identitySig: toBase64Url(keys.identitySig) } });
    this.onIdentityChanged(userId);
    return 'changed';
  }

  private async read(userId: string): Promise<PeerRecord | undefined> {
    const saved = await this.store.get(StoreKeys.peer(userId));
    if (saved === undefined) return undefined;
    try {
      const parsed = v.safeParse(PeerRecord, JSON.parse(saved));
      return parsed.success ? parsed.output : undefined;
    } catch {
      return undefined; // a corrupt entry is re-verified from scratch
    }
  }

  private write(userId: string, record: PeerRecord): Promise<void> {
    return this.store.set(StoreKeys.peer(userId), JSON.stringify(record));
  }

  /** Serialises read-modify-write of one peer's record (sends and receipts run concurrently). */
  private locked<T>(userId: string, task: () => Promise<T>): Promise<T> {
    return this.locks.run(userId, task);
  }
}

export function identityChangedError(userId: string): EbbError {
  return new EbbError(
    'FORBIDDEN',
    `the identity key of ${userId} changed: compare safety numbers, then call acceptIdentity() before sending to this user`,
    { retryable: false },
  );
}

/**
 * One device's prekeys, or null unless the device is the account's: device 1 signs with the account key
 * itself, a linked device with a key the account key certified; its signed prekey must verify under that key.
 * Two signature checks per linked device, once per bundle: the sessions built from it need no more.
 */
function certifiedPrekeys(d: Answer<'keys.bundle'>['devices'][number], accountKey: Uint8Array): DevicePrekeys | null {
  if (!d.signedPrekey) return null;
  const deviceKey = fromBase64Url(d.signingKey);
  if (d.device === 1 ? !equalBytes(deviceKey, accountKey) : d.cert === null || !verifyDeviceCert(accountKey, deviceKey, fromBase64Url(d.cert))) {
    return null;
  }
  const publicKey = fromBase64Url(d.signedPrekey.publicKey);
  if (!nacl.sign.detached.verify(signedKeyMessage(SIGNED_PREKEY_CONTEXT, publicKey), fromBase64Url(d.signedPrekey.signature), deviceKey)) return null;
  return {
    device: d.device,
    signedPrekey: { keyId: d.signedPrekey.keyId, publicKey },
    oneTimePrekey: d.oneTimePrekey ? { keyId: d.oneTimePrekey.keyId, publicKey: fromBase64Url(d.oneTimePrekey.publicKey) } : null,
  };
}

/** The signature is compared too, so that no altered byte of a message's prefix goes unnoticed. */
function sameKeys(record: PeerRecord, keys: PeerKeys): boolean {
  return (
    record.signingKey === toBase64Url(keys.signingKey) &&
    record.identityKey === toBase64Url(keys.identityKey) &&
    record.identitySig === toBase64Url(keys.identitySig)
  );
}
