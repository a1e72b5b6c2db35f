import * as v from 'valibot';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { KeyId, PublicKey } from '../../../protocol/frames';
import { concatBytes, u32be } from '../crypto/bytes';
import { randomId } from '../crypto/random';
import { type PrekeyFields, decodeWireMessage, encodePrefix, encodeWireMessage } from '../crypto/envelope';
import {
  decodeHeader,
  deserializeState,
  encodeHeader,
  initInitiator,
  initResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  serializeState,
} from '../crypto/ratchet';
import { x3dhInitiate, x3dhRespond } from '../crypto/x3dh';
import { EbbError } from '../errors';
import type { Identity } from '../identity/identity';
import { userIdFromSigningKey } from '../identity/keys';
import type { DevicePrekeys, PeerDirectory, VerifiedBundle } from '../identity/peers';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import { type PrekeyPolicy, loadOneTimePrekey, loadSignedPrekey } from './prekeys';
import { KeyedQueue } from '../keyed-queue';

/**
 * Sessions kept per peer device after the current one: a reply can still arrive on a session the
 * other side has not yet replaced (both sides started one at once, or a peer reinstalled).
 */
const MAX_PREVIOUS_SESSIONS = 4;

const Base64 = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]*$/));

/** One Double Ratchet session, as stored. */
const SessionState = v.object({
  /** The peer identity key the session was agreed with. */
  remoteIdentityKey: PublicKey,
  /** X3DH AD = IK_initiator ‖ IK_responder. */
  associatedData: Base64,
  /** The initiator's X3DH ephemeral key: names the session, so repeated prekey messages find it. */
  baseKey: PublicKey,
  /** Set on the initiator's side until the first message arrives in this session: until then every message carries the X3DH header. */
  pendingPrekey: v.nullable(v.object({ signedPrekeyId: KeyId, oneTimePrekeyId: v.nullable(KeyId) })),
  /** The store's session epoch when the session was made (see `reset`); absent before epochs existed. */
  epoch: v.optional(v.string()),
  ratchet: v.string(),
});
type SessionState = v.InferOutput<typeof SessionState>;

const SessionRecord = v.object({ current: SessionState, previous: v.array(SessionState) });
type SessionRecord = v.InferOutput<typeof SessionRecord>;

export interface SessionsOptions {
  readonly identity: Identity;
  readonly device: number;
  readonly store: KeyStore;
  readonly peers: PeerDirectory;
  readonly now: () => number;
  readonly prekeyPolicy: PrekeyPolicy;
}

/** What `accept` made of a decrypted message, and whether it came from an identity key the app has not accepted yet. */
export interface Opened<T> {
  readonly content: T;
  readonly fromChangedIdentity: boolean;
}

/**
 * X3DH and the Double Ratchet per peer device (ARCH §8.1). Every operation on one peer device runs
 * after the previous one has stored its result, so interleaved sends and receipts never fork a
 * ratchet; each new state is stored before the ciphertext leaves or the plaintext is handed on.
 */
export class Sessions {
  private readonly locks = new KeyedQueue();

  constructor(private readonly options: SessionsOptions) {}

  /** Whether there is a session this device may send on to the peer device (see `reset`). */
  async has(userId: string, device: number): Promise<boolean> {
    const record = await this.read(userId, device);
    return record !== undefined && this.sendable(record.current, await this.epoch());
  }

  /**
   * Never sends on any session stored so far: the store may be a copy of an older state (an archive,
   * a backup), and a sending chain resumed from it would repeat ratchet headers and message keys the
   * device already used. The next send to each peer device starts a new session with X3DH; the old
   * ones still open what peers send on them until they switch. One write, so it holds all or nothing.
   */
  async reset(): Promise<void> {
    await this.options.store.set(StoreKeys.sessionEpoch, newSessionEpoch());
  }

  /**
   * Starts a session with a device from its verified bundle, unless one exists by now. Without a
   * one-time prekey X3DH runs without DH4: the first messages then lose their forward secrecy
   * against a later theft of the recipient's signed prekey, and can be replayed to the recipient
   * until that prekey is rotated out (the recipient's seen-id check still drops the repeats).
   */
  initiate(bundle: VerifiedBundle, prekeys: DevicePrekeys): Promise<void> {
    const { userId } = bundle;
    return this.locked(userId, prekeys.device, async () => {
      const existing = await this.read(userId, prekeys.device);
      const epoch = await this.epoch();
      if (existing && this.sendable(existing.current, epoch)) return;
      const { identity } = this.options;
      const x3dh = x3dhInitiate(
        { publicKey: identity.identityPublicKey, secretKey: identity.identitySecretKey },
        {
          identityKey: bundle.identityKey,
          signedPrekey: prekeys.signedPrekey,
          ...(prekeys.oneTimePrekey && { oneTimePrekey: prekeys.oneTimePrekey }),
        },
      );
      const state: SessionState = {
        remoteIdentityKey: toBase64Url(bundle.identityKey),
        associatedData: toBase64Url(x3dh.associatedData),
        baseKey: toBase64Url(x3dh.ephemeralKey),
        pendingPrekey: { signedPrekeyId: x3dh.signedPrekeyId, oneTimePrekeyId: x3dh.oneTimePrekeyId },
        epoch,
        ratchet: serializeState(initInitiator(x3dh.sharedSecret, prekeys.signedPrekey.publicKey)),
      };
      // Sessions from before a reset stay, to open what the peer still sends on them.
      const previous = existing ? [existing.current, ...existing.previous].slice(0, MAX_PREVIOUS_SESSIONS) : [];
      await this.write(userId, prekeys.device, { current: state, previous });
    });
  }

  /**
   * Encrypts for one peer device with its current session and stores the advanced state.
   * @throws EbbError INTERNAL (retryable) when there is no session: the caller initiates first.
   */
  encrypt(userId: string, device: number, plaintext: Uint8Array): Promise<Uint8Array> {
    return this.locked(userId, device, async () => {
      const record = await this.read(userId, device);
      if (!record || !this.sendable(record.current, await this.epoch())) {
        throw new EbbError('INTERNAL', 'no session with this device', { retryable: true });
      }
      const state = record.current;
      const { identity } = this.options;
      const prekey: PrekeyFields | null = state.pendingPrekey && {
        signingKey: identity.signingPublicKey,
        identityKey: identity.identityPublicKey,
        identitySig: identity.identitySig,
        ephemeralKey: fromBase64Url(state.baseKey),
        ...state.pendingPrekey,
      };
      const prefix = encodePrefix(prekey);
      const ad = this.messageAd(state, identity.userId, this.options.device, userId, device, prefix);
      const sealed = ratchetEncrypt(deserializeState(state.ratchet), plaintext, ad);
      await this.write(userId, device, { ...record, current: { ...state, ratchet: serializeState(sealed.state) } });
      return encodeWireMessage(prefix, encodeHeader(sealed.header), sealed.ciphertext);
    });
  }

  /**
   * Decrypts a ciphertext from a peer device: with the session its prekey header names, a new
   * session built from that header (replacing the current one, e.g. after the peer reinstalled), or
   * the current and previous sessions. The state is advanced on a copy and stored only when the
   * plaintext decrypts and `accept` returns non-null for it; a used one-time prekey is then deleted. Null for anything that does not decrypt, replays
   * included; which check failed is deliberately not said.
   */
  decrypt<T>(from: string, fromDevice: number, ciphertext: Uint8Array, accept: (plaintext: Uint8Array) => T | null): Promise<Opened<T> | null> {
    return this.locked(from, fromDevice, async () => {
      const message = decodeWireMessage(ciphertext);
      const header = message && decodeHeader(message.header);
      if (!message || !header) return null;
      const record = await this.read(from, fromDevice);
      const known = record ? [record.current, ...record.previous] : [];
      let candidates = known;
      let fresh: { state: SessionState; oneTimePrekeyId: number | null } | null = null;
      const prekey = message.prekey;
      if (prekey) {
        if (userIdFromSigningKey(prekey.signingKey) !== from) return null;
        const baseKey = toBase64Url(prekey.ephemeralKey);
        const identityKey = toBase64Url(prekey.identityKey);
        candidates = known.filter((s) => s.baseKey === baseKey && s.remoteIdentityKey === identityKey);
        if (candidates.length === 0) {
          fresh = await this.respond(prekey);
          if (!fresh) return null;
          candidates = [fresh.state];
        }
      }
      const { identity, device, now } = this.options;
      for (const state of candidates) {
        const ad = this.messageAd(state, from, fromDevice, identity.userId, device, message.prefix);
        let ratchet;
        try {
          ratchet = deserializeState(state.ratchet);
        } catch {
          continue; // a corrupt stored session cannot open anything; the others may
        }
        const opened = ratchetDecrypt(ratchet, header, message.body, ad, now());
        if (!opened) continue;
        // A ciphertext moved to another envelope decrypts but is refused, and must not use up its key.
        const content = accept(opened.plaintext);
        if (content === null) return null;
        // Last, because it may cost a slow signature check: only for a new session that decrypted.
        const verdict = fresh && prekey ? await this.options.peers.observe(from, prekey) : 'trusted';
        if (verdict === 'invalid') return null;
        const advanced: SessionState = { ...state, pendingPrekey: null, ratchet: serializeState(opened.state) };
        await this.write(from, fromDevice, await this.arrange(record, state, advanced, fresh !== null));
        if (fresh && fresh.oneTimePrekeyId !== null) await this.options.store.delete(StoreKeys.oneTimePrekey(fresh.oneTimePrekeyId));
        if (fresh && fresh.oneTimePrekeyId === null) await this.options.store.set(usedBaseKey(prekey!), '1');
        return { content, fromChangedIdentity: verdict === 'changed' };
      }
      return null;
    });
  }

  /** Forgets every session with `userId` not agreed with `identityKey` (after acceptIdentity). */
  async keepOnly(userId: string, identityKey: Uint8Array): Promise<void> {
    const accepted = toBase64Url(identityKey);
    for (const key of await this.options.store.list(StoreKeys.sessionPrefix(userId))) {
      const device = Number(key.slice(StoreKeys.sessionPrefix(userId).length));
      if (!Number.isInteger(device)) continue;
      await this.locked(userId, device, async () => {
        const record = await this.read(userId, device);
        const kept = record ? [record.current, ...record.previous].filter((s) => s.remoteIdentityKey === accepted) : [];
        const [current, ...previous] = kept;
        if (current) await this.write(userId, device, { current, previous });
        else await this.options.store.delete(key);
      });
    }
  }

  /**
   * The record after `state` opened a message as `advanced`. A session the peer just started (`fresh`)
   * becomes current: the peer reinstalled, restored or answered at once. An older one becomes current
   * again only in place of our own unanswered initiation (both sides started at once) or of a session from
   * before a reset: a late or replayed message on a superseded session cannot steer our replies back to it.
   */
  private async arrange(record: SessionRecord | undefined, state: SessionState, advanced: SessionState, fresh: boolean): Promise<SessionRecord> {
    const known = record ? [record.current, ...record.previous] : [];
    const others = known.filter((s) => s !== state);
    const epoch = await this.epoch();
    const current = record?.current;
    const promote =
      fresh ||
      !current ||
      state === current ||
      (this.sendable(advanced, epoch) && (current.pendingPrekey !== null || !this.sendable(current, epoch)));
    if (promote) return { current: advanced, previous: others.slice(0, MAX_PREVIOUS_SESSIONS) };
    return { current, previous: record!.previous.map((s) => (s === state ? advanced : s)) };
  }

  /** X3DH as the responder, from a prekey message's header: the new session, not yet stored. */
  private async respond(prekey: PrekeyFields): Promise<{ state: SessionState; oneTimePrekeyId: number | null } | null> {
    const { identity, store, now, prekeyPolicy } = this.options;
    // Without a one-time prekey nothing else makes X3DH single-use: refuse a header already answered.
    if (prekey.oneTimePrekeyId === null && (await store.get(usedBaseKey(prekey))) !== undefined) return null;
    const signedPrekey = await loadSignedPrekey(store, prekey.signedPrekeyId, now(), prekeyPolicy);
    const oneTimePrekey = prekey.oneTimePrekeyId === null ? null : await loadOneTimePrekey(store, prekey.oneTimePrekeyId);
    if (!signedPrekey || (prekey.oneTimePrekeyId !== null && !oneTimePrekey)) return null;
    let agreed;
    try {
      agreed = x3dhRespond({ publicKey: identity.identityPublicKey, secretKey: identity.identitySecretKey }, signedPrekey, oneTimePrekey, prekey);
    } catch {
      return null; // a low-order key from the wire
    }
    return {
      state: {
        remoteIdentityKey: toBase64Url(prekey.identityKey),
        associatedData: toBase64Url(agreed.associatedData),
        baseKey: toBase64Url(prekey.ephemeralKey),
        pendingPrekey: null,
        epoch: await this.epoch(),
        ratchet: serializeState(initResponder(agreed.sharedSecret, signedPrekey)),
      },
      oneTimePrekeyId: prekey.oneTimePrekeyId,
    };
  }

  /**
   * What each message's AEAD binds besides the ratchet header: the X3DH AD (both identity keys),
   * sender and recipient user ids and devices (ids are fixed-length), and the message prefix.
   */
  private messageAd(state: SessionState, fromUser: string, fromDevice: number, toUser: string, toDevice: number, prefix: Uint8Array): Uint8Array {
    const encoder = new TextEncoder();
    return concatBytes(
      fromBase64Url(state.associatedData),
      encoder.encode(fromUser),
      u32be(fromDevice),
      encoder.encode(toUser),
      u32be(toDevice),
      prefix,
    );
  }

  private async epoch(): Promise<string> {
    return (await this.options.store.get(StoreKeys.sessionEpoch)) ?? '';
  }

  private sendable(state: SessionState, epoch: string): boolean {
    return (state.epoch ?? '') === epoch;
  }

  private async read(userId: string, device: number): Promise<SessionRecord | undefined> {
    const saved = await this.options.store.get(StoreKeys.session(userId, device));
    if (saved === undefined) return undefined;
    try {
      const parsed = v.safeParse(SessionRecord, JSON.parse(saved));
      return parsed.success ? parsed.output : undefined;
    } catch {
      return undefined; // a corrupt session is replaced by a new one
    }
  }

  private write(userId: string, device: number, record: SessionRecord): Promise<void> {
    return this.options.store.set(StoreKeys.session(userId, device), JSON.stringify(record));
  }

  /** Runs `task` after every earlier task on the same peer device has settled. */
  private locked<T>(userId: string, device: number, task: () => Promise<T>): Promise<T> {
    return this.locks.run(`${userId}#${device}`, task);
  }
}

/** A fresh session epoch: random, so no earlier copy of the store can hold sessions made in it. */
export function newSessionEpoch(): string {
  return randomId(16);
}

/** Where the responder notes a one-time-prekey-less X3DH header it answered, until that signed prekey is forgotten. */
function usedBaseKey(prekey: PrekeyFields): string {
  return StoreKeys.usedBaseKey(prekey.signedPrekeyId, toBase64Url(prekey.ephemeralKey));
}
