import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { AEAD_KEY_LENGTH, aeadOpen, aeadSeal } from './aead';
import { concatBytes, equalBytes, readU32be, u32be, U32_LENGTH } from './bytes';
import { checkLength, isKey, isRecord, isU32, U32_MAX, wipe } from './state-checks';
import { hkdfSha512 } from './hkdf';
import { hmacSha512 } from './hmac';
import type { KeyPair } from './x3dh';
import { generateKeyPair, x25519 } from './x25519';

/**
 * The Double Ratchet (Signal's Double Ratchet specification, revision 1, §3) with SHA-512:
 *
 *   KDF_RK(rk, dh_out) = HKDF-SHA-512(dh_out, salt = rk, info = "ebb-ratchet-v1", 64) → (rk, ck)
 *   KDF_CK(ck)         = HMAC-SHA-512(ck, 0x02)[0..32] as ck, HMAC-SHA-512(ck, 0x01)[0..32] as mk
 *   ENCRYPT(mk, pt, ad) = aeadSeal(mk, pt, ad ‖ header)
 *
 * State is an immutable, JSON-serializable value: every call returns a new one and leaves its
 * argument alone, so a caller persists the new state only once a message has been handled.
 * Forward secrecy holds for states the caller keeps: a later state holds only keys derived
 * one-way from earlier ones, and message keys are deleted once used. Old states the caller drops
 * are left to the garbage collector (JavaScript strings cannot be wiped).
 */

/** Most message keys one message may make the receiver skip over (§3.2 MAX_SKIP). */
export const MAX_SKIP = 1000;
/** Most skipped message keys held at once; the oldest are evicted first. */
export const MAX_SKIPPED_KEYS = 2 * MAX_SKIP;
/** Skipped message keys older than this are dropped: a message that late is lost. */
export const MAX_SKIPPED_AGE_MS = 30 * 24 * 60 * 60 * 1000;

export interface RatchetHeader {
  /** The sender's current ratchet public key. */
  readonly dh: Uint8Array;
  /** Messages in the sender's previous sending chain. */
  readonly pn: number;
  /** This message's number in the current sending chain. */
  readonly n: number;
}

const PUBLIC_KEY_LENGTH = nacl.box.publicKeyLength;
const SECRET_KEY_LENGTH = nacl.box.secretKeyLength;
/** Root and chain keys: half a SHA-512 output. */
const CHAIN_KEY_LENGTH = nacl.hash.hashLength / 2;
/** dh ‖ u32be(pn) ‖ u32be(n). */
export const HEADER_LENGTH: number = PUBLIC_KEY_LENGTH + U32_LENGTH + U32_LENGTH;

const RK_INFO = new TextEncoder().encode('ebb-ratchet-v1');
/** §5.2: distinct single-byte inputs to the chain-key HMAC for the message and next chain keys. */
const MESSAGE_KEY_INPUT = new Uint8Array([0x01]);
const CHAIN_KEY_INPUT = new Uint8Array([0x02]);

export function encodeHeader(h: RatchetHeader): Uint8Array {
  if (h.dh.length !== PUBLIC_KEY_LENGTH) throw new TypeError(`header.dh: expected ${PUBLIC_KEY_LENGTH} bytes`);
  if (!isU32(h.pn)) throw new TypeError('header.pn: expected an integer in [0, 2^32)');
  if (!isU32(h.n)) throw new TypeError('header.n: expected an integer in [0, 2^32)');
  return concatBytes(h.dh, u32be(h.pn), u32be(h.n));
}

/** The header in `bytes`, or null unless `bytes` is exactly HEADER_LENGTH long. */
export function decodeHeader(bytes: Uint8Array): RatchetHeader | null {
  if (bytes.length !== HEADER_LENGTH) return null;
  return {
    dh: bytes.slice(0, PUBLIC_KEY_LENGTH),
    pn: readU32be(bytes, PUBLIC_KEY_LENGTH),
    n: readU32be(bytes, PUBLIC_KEY_LENGTH + U32_LENGTH),
  };
}

/** A message key kept for a message that has not arrived yet (§3.2 MKSKIPPED). */
export interface SkippedKey {
  /** The ratchet public key of the chain it belongs to (base64url). */
  readonly dh: string;
  readonly n: number;
  /** The message key (base64url). */
  readonly mk: string;
  /** When it was skipped, in ms since the epoch. */
  readonly storedAt: number;
}

/** The session state of §3.2, bytes as base64url strings so that it is plain JSON. */
export interface RatchetState {
  readonly version: 1;
  /** DHs: our current ratchet key pair. */
  readonly dhs: { readonly publicKey: string; readonly secretKey: string };
  /** DHr: the peer's current ratchet public key; null until the first message arrives. */
  readonly dhr: string | null;
  /** RK: the root key. */
  readonly rk: string;
  /** CKs: the sending chain key; null for a responder until it has received. */
  readonly cks: string | null;
  /** CKr: the receiving chain key; null until the first message arrives. */
  readonly ckr: string | null;
  /** Ns, Nr: messages sent and received in the current chains. */
  readonly ns: number;
  readonly nr: number;
  /** PN: messages in our previous sending chain. */
  readonly pn: number;
  /** MKSKIPPED, oldest first. */
  readonly skipped: readonly SkippedKey[];
}

/** Alice (§3.3): she has SK from X3DH and Bob's signed prekey, used as his first ratchet key. */
export function initInitiator(sharedSecret: Uint8Array, remoteSignedPrekey: Uint8Array): RatchetState {
  checkLength('sharedSecret', sharedSecret, CHAIN_KEY_LENGTH);
  checkLength('remoteSignedPrekey', remoteSignedPrekey, PUBLIC_KEY_LENGTH);
  const dhs = generateKeyPair();
  const dhOut = x25519(dhs.secretKey, remoteSignedPrekey);
  const { rk, ck } = kdfRk(sharedSecret, dhOut);
  dhOut.fill(0);
  return {
    version: 1,
    dhs: { publicKey: toBase64Url(dhs.publicKey), secretKey: toBase64Url(dhs.secretKey) },
    dhr: toBase64Url(remoteSignedPrekey),
    rk: toBase64Url(rk),
    cks: toBase64Url(ck),
    ckr: null,
    ns: 0,
    nr: 0,
    pn: 0,
    skipped: [],
  };
}

/** Bob (§3.3): his signed prekey pair is his first ratchet key; he sends only after receiving. */
export function initResponder(sharedSecret: Uint8Array, ownSignedPrekey: KeyPair): RatchetState {
  checkLength('sharedSecret', sharedSecret, CHAIN_KEY_LENGTH);
  checkLength('ownSignedPrekey.publicKey', ownSignedPrekey.publicKey, PUBLIC_KEY_LENGTH);
  checkLength('ownSignedPrekey.secretKey', ownSignedPrekey.secretKey, SECRET_KEY_LENGTH);
  return {
    version: 1,
    dhs: { publicKey: toBase64Url(ownSignedPrekey.publicKey), secretKey: toBase64Url(ownSignedPrekey.secretKey) },
    dhr: null,
    rk: toBase64Url(sharedSecret),
    cks: null,
    ckr: null,
    ns: 0,
    nr: 0,
    pn: 0,
    skipped: [],
  };
}

/**
 * §3.4 RatchetEncrypt. Throws Error when there is no sending chain yet (a responder must receive
 * first) or the chain is exhausted (2^32 messages).
 */
export function ratchetEncrypt(
  state: RatchetState,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
): { state: RatchetState; header: RatchetHeader; ciphertext: Uint8Array } {
  if (state.cks === null) throw new Error('ratchet: no sending chain until the first message is received');
  if (state.ns >= U32_MAX) throw new Error('ratchet: sending chain exhausted');
  const cks = fromBase64Url(state.cks);
  const { ck, mk } = kdfCk(cks);
  const header: RatchetHeader = { dh: fromBase64Url(state.dhs.publicKey), pn: state.pn, n: state.ns };
  const ciphertext = aeadSeal(mk, plaintext, concatBytes(associatedData, encodeHeader(header)));
  const next: RatchetState = { ...state, cks: toBase64Url(ck), ns: state.ns + 1 };
  wipe(cks, ck, mk);
  return { state: next, header, ciphertext };
}

/**
 * §3.5 RatchetDecrypt. Never mutates `state`: decrypts into a copy and returns it only on success.
 * null on any failure (forged, replayed, too many skipped, malformed header), without saying which.
 * `nowMs` dates newly skipped keys and expires old ones (default `Date.now()`).
 */
export function ratchetDecrypt(
  state: RatchetState,
  header: RatchetHeader,
  ciphertext: Uint8Array,
  associatedData: Uint8Array,
  nowMs: number = Date.now(),
): { state: RatchetState; plaintext: Uint8Array } | null {
  if (header.dh.length !== PUBLIC_KEY_LENGTH || !isU32(header.pn) || !isU32(header.n)) return null;
  const ad = concatBytes(associatedData, encodeHeader(header));
  const s = toWorking(state, nowMs);
  const headerDh = toBase64Url(header.dh);

  // §3.5 TrySkippedMessageKeys: a late message whose key we kept. The key is deleted whether or
  // not it opens; a failure discards this working copy, so only a success really deletes it.
  const index = s.skipped.findIndex((k) => k.n === header.n && k.dh === headerDh);
  if (index >= 0) {
    const [entry] = s.skipped.splice(index, 1);
    const mk = fromBase64Url(entry!.mk);
    const plaintext = aeadOpen(mk, ciphertext, ad);
    const result = plaintext === null ? null : { state: fromWorking(s), plaintext };
    wipeWorking(s);
    mk.fill(0);
    return result;
  }

  const sameChain = s.dhr !== null && equalBytes(fromBase64Url(s.dhr), header.dh);
  try {
    // Already used or expired: its key is gone. Checked before any derivation so a replay costs nothing.
    if (sameChain && header.n < s.nr) return null;
    if (!sameChain) {
      if (!skipMessageKeys(s, header.pn, nowMs)) return null;
      dhRatchet(s, header);
    }
    // No receiving chain: Alice got a header naming Bob's signed prekey, which he never sends on.
    if (s.ckr === null || !skipMessageKeys(s, header.n, nowMs)) return null;
    const { ck, mk } = kdfCk(s.ckr);
    s.ckr.fill(0);
    s.ckr = ck;
    s.nr += 1;
    const plaintext = aeadOpen(mk, ciphertext, ad);
    mk.fill(0);
    if (plaintext === null) return null;
    return { state: fromWorking(s), plaintext };
  } catch {
    // x25519 throws on a low-order ratchet key in a forged header.
    return null;
  } finally {
    wipeWorking(s);
  }
}

export function serializeState(s: RatchetState): string {
  return JSON.stringify(s);
}

/** Throws TypeError on anything that is not a state `serializeState` could have written. */
export function deserializeState(text: string): RatchetState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TypeError('ratchet state: not JSON');
  }
  if (!isState(value)) throw new TypeError('ratchet state: malformed');
  return {
    version: 1,
    dhs: { publicKey: value.dhs.publicKey, secretKey: value.dhs.secretKey },
    dhr: value.dhr,
    rk: value.rk,
    cks: value.cks,
    ckr: value.ckr,
    ns: value.ns,
    nr: value.nr,
    pn: value.pn,
    skipped: value.skipped.map((k) => ({ dh: k.dh, n: k.n, mk: k.mk, storedAt: k.storedAt })),
  };
}

/** The chain keys of a decrypt in progress, as bytes; everything else as in RatchetState. */
interface Working {
  dhs: { publicKey: string; secretKey: string };
  dhr: string | null;
  rk: Uint8Array;
  cks: Uint8Array | null;
  ckr: Uint8Array | null;
  ns: number;
  nr: number;
  pn: number;
  skipped: SkippedKey[];
}

function toWorking(s: RatchetState, nowMs: number): Working {
  return {
    dhs: s.dhs,
    dhr: s.dhr,
    rk: fromBase64Url(s.rk),
    cks: s.cks === null ? null : fromBase64Url(s.cks),
    ckr: s.ckr === null ? null : fromBase64Url(s.ckr),
    ns: s.ns,
    nr: s.nr,
    pn: s.pn,
    // Expired keys go first, so they neither count towards the cap nor open anything.
    skipped: s.skipped.filter((k) => nowMs - k.storedAt <= MAX_SKIPPED_AGE_MS),
  };
}

function fromWorking(w: Working): RatchetState {
  return {
    version: 1,
    dhs: w.dhs,
    dhr: w.dhr,
    rk: toBase64Url(w.rk),
    cks: w.cks === null ? null : toBase64Url(w.cks),
    ckr: w.ckr === null ? null : toBase64Url(w.ckr),
    ns: w.ns,
    nr: w.nr,
    pn: w.pn,
    skipped: w.skipped,
  };
}

/** The working copy's keys have been encoded into the result (or are being dropped). */
function wipeWorking(w: Working): void {
  w.rk.fill(0);
  w.ckr?.fill(0);
  w.cks?.fill(0);
}

/** §3.5 SkipMessageKeys: false when `until` is more than MAX_SKIP ahead. */
function skipMessageKeys(s: Working, until: number, nowMs: number): boolean {
  if (s.nr + MAX_SKIP < until) return false;
  if (s.ckr === null) return true;
  while (s.nr < until) {
    const { ck, mk } = kdfCk(s.ckr);
    s.ckr.fill(0);
    s.ckr = ck;
    s.skipped.push({ dh: s.dhr!, n: s.nr, mk: toBase64Url(mk), storedAt: nowMs });
    mk.fill(0);
    s.nr += 1;
  }
  if (s.skipped.length > MAX_SKIPPED_KEYS) s.skipped.splice(0, s.skipped.length - MAX_SKIPPED_KEYS);
  return true;
}

/** §3.5 DHRatchet: a new receiving chain from the peer's new key, then a new sending chain. */
function dhRatchet(s: Working, header: RatchetHeader): void {
  s.pn = s.ns;
  s.ns = 0;
  s.nr = 0;
  s.dhr = toBase64Url(header.dh);
  const ownSecret = fromBase64Url(s.dhs.secretKey);
  let receiveOut: Uint8Array;
  try {
    receiveOut = x25519(ownSecret, header.dh);
  } finally {
    // Our old ratchet key is replaced below; this copy must not outlive the step, nor a low-order key's throw.
    ownSecret.fill(0);
  }
  const receiving = kdfRk(s.rk, receiveOut);
  receiveOut.fill(0);
  const dhs = generateKeyPair();
  const sendOut = x25519(dhs.secretKey, header.dh);
  const sending = kdfRk(receiving.rk, sendOut);
  sendOut.fill(0);
  // The old root and chain keys must not outlive the step: they would decrypt earlier messages.
  wipe(s.rk, receiving.rk, ...(s.ckr ? [s.ckr] : []), ...(s.cks ? [s.cks] : []));
  s.dhs = { publicKey: toBase64Url(dhs.publicKey), secretKey: toBase64Url(dhs.secretKey) };
  dhs.secretKey.fill(0);
  s.rk = sending.rk;
  s.ckr = receiving.ck;
  s.cks = sending.ck;
}

/** §5.2 KDF_RK. */
function kdfRk(rk: Uint8Array, dhOut: Uint8Array): { rk: Uint8Array; ck: Uint8Array } {
  const out = hkdfSha512(dhOut, rk, RK_INFO, 2 * CHAIN_KEY_LENGTH);
  const keys = { rk: out.slice(0, CHAIN_KEY_LENGTH), ck: out.slice(CHAIN_KEY_LENGTH) };
  out.fill(0);
  return keys;
}

/** §5.2 KDF_CK. */
function kdfCk(ck: Uint8Array): { ck: Uint8Array; mk: Uint8Array } {
  const mkFull = hmacSha512(ck, MESSAGE_KEY_INPUT);
  const ckFull = hmacSha512(ck, CHAIN_KEY_INPUT);
  const keys = { ck: ckFull.slice(0, CHAIN_KEY_LENGTH), mk: mkFull.slice(0, AEAD_KEY_LENGTH) };
  wipe(mkFull, ckFull);
  return keys;
}

// --- deserializeState's checks: plain predicates (state-checks.ts has the shared ones).

function isCount(value: unknown): value is number {
  return typeof value === 'number' && isU32(value);
}

function isSkipped(value: unknown): value is SkippedKey {
  return (
    isRecord(value) &&
    isKey(value.dh, PUBLIC_KEY_LENGTH) &&
    isCount(value.n) &&
    isKey(value.mk, AEAD_KEY_LENGTH) &&
    typeof value.storedAt === 'number' &&
    Number.isFinite(value.storedAt)
  );
}

function isState(value: unknown): value is RatchetState {
  if (!isRecord(value) || value.version !== 1 || !isRecord(value.dhs)) return false;
  const nullableKey = (v: unknown, length: number): boolean => v === null || isKey(v, length);
  return (
    isKey(value.dhs.publicKey, PUBLIC_KEY_LENGTH) &&
    isKey(value.dhs.secretKey, SECRET_KEY_LENGTH) &&
    nullableKey(value.dhr, PUBLIC_KEY_LENGTH) &&
    isKey(value.rk, CHAIN_KEY_LENGTH) &&
    nullableKey(value.cks, CHAIN_KEY_LENGTH) &&
    nullableKey(value.ckr, CHAIN_KEY_LENGTH) &&
    // A receiving chain needs the peer's key (Alice knows it before she has a receiving chain).
    (value.ckr === null || value.dhr !== null) &&
    isCount(value.ns) &&
    isCount(value.nr) &&
    isCount(value.pn) &&
    Array.isArray(value.skipped) &&
    value.skipped.length <= MAX_SKIPPED_KEYS &&
    value.skipped.every(isSkipped)
  );
}
