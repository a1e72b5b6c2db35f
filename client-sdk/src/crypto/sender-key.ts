import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { Limits } from '../../../protocol/limits';
import { concatBytes, equalBytes, readU32be, u32be, U32_LENGTH } from './bytes';
import { checkLength, isKey, isRecord, isU32, U32_MAX, wipe } from './state-checks';
import { hmacSha512 } from './hmac';
import { randomBytes } from './random';

/**
 * Sender keys for group messages: Signal's sender-key construction (libsignal's group cipher) on
 * tweetnacl, with SHA-512 as in ratchet.ts.
 *
 *   chain:     mk_i = HMAC-SHA-512(ck_i, 0x01)[0..32],  ck_i+1 = HMAC-SHA-512(ck_i, 0x02)[0..32]
 *   message:   version (1) ‖ key id (u32) ‖ iteration (u32) ‖ nonce (24) ‖ secretbox(pt, nonce, mk_i) ‖ sig (64)
 *   sig      = Ed25519(signing key, "ebb-sender-key-v1" ‖ u32be(|ad|) ‖ ad ‖ message before sig)
 *
 * A member device owns one sender key per group and gives its distribution (key id, iteration,
 * chain key, signing public key) to every member over the pairwise sessions. Every member holds the
 * chain key, so a symmetric MAC alone would let any member forge messages in the owner's name; the
 * signature, which only the owner can make, is checked before anything else is looked at.
 *
 * The nonce is random rather than derived from mk_i: a sender that loses its latest state (a crash
 * between encrypt and store, a restored backup) encrypts again at an iteration it has used, and a
 * derived nonce would then repeat the XSalsa20 keystream and show every member the XOR of two
 * plaintexts. A random 192-bit nonce makes a repeated key harmless; it costs 24 bytes per message,
 * uploaded once however many devices the message reaches.
 *
 * Rotation is a new sender key with a new key id (`createSenderKey`): it shares nothing with the old
 * one, so a member removed before it cannot read what it encrypts, and a member given only the new
 * distribution cannot read what the old one encrypted. The caller binds the group and the sender
 * device into `associatedData`. States are immutable JSON values, handled as ratchet.ts's are (ARCH §8.7).
 */

export const SENDER_KEY_VERSION = 1;
/** Most message keys one message may make a receiver derive and keep (Signal's MAX_FORWARD_JUMPS; ratchet MAX_SKIP). */
export const MAX_FORWARD_JUMP = 1000;
/** Most skipped message keys a receiver holds per sender key; the oldest are evicted first. */
export const MAX_MESSAGE_KEYS = 2 * MAX_FORWARD_JUMP;
/** Skipped message keys older than this are dropped: a message that late is lost. */
export const MAX_MESSAGE_KEY_AGE_MS = 30 * 24 * 60 * 60 * 1000;
/** A sender-key message is carried as one ciphertext, so it is no longer than the server accepts. */
export const MAX_SENDER_KEY_MESSAGE_BYTES = Limits.ciphertextBytesCeiling;

const CHAIN_KEY_LENGTH = nacl.hash.hashLength / 2;
const MESSAGE_KEY_LENGTH = nacl.secretbox.keyLength;
const NONCE_LENGTH = nacl.secretbox.nonceLength;
const SIGNATURE_LENGTH = nacl.sign.signatureLength;
const PUBLIC_KEY_LENGTH = nacl.sign.publicKeyLength;
const SECRET_KEY_LENGTH = nacl.sign.secretKeyLength;
/** version ‖ key id ‖ iteration ‖ nonce. */
const HEADER_LENGTH = 1 + U32_LENGTH + U32_LENGTH + NONCE_LENGTH;
/** Bytes a message adds to its plaintext. */
export const SENDER_KEY_OVERHEAD: number = HEADER_LENGTH + nacl.secretbox.overheadLength + SIGNATURE_LENGTH;
/** version ‖ key id ‖ iteration ‖ chain key ‖ signing public key. */
export const DISTRIBUTION_LENGTH: number = 1 + U32_LENGTH + U32_LENGTH + CHAIN_KEY_LENGTH + PUBLIC_KEY_LENGTH;

const SIGNATURE_CONTEXT = new TextEncoder().encode('ebb-sender-key-v1');
/** Signal's chain-key seeds: distinct single-byte HMAC inputs for the message and next chain keys. */
const MESSAGE_KEY_INPUT = new Uint8Array([0x01]);
const CHAIN_KEY_INPUT = new Uint8Array([0x02]);

/** What the owner sends each member over a pairwise session so it can read the owner's group messages. */
export interface SenderKeyDistribution {
  readonly keyId: number;
  /** The iteration `chainKey` belongs to: the member can read messages from this one on. */
  readonly iteration: number;
  readonly chainKey: Uint8Array;
  readonly signingPublicKey: Uint8Array;
}

/** A message key kept for a message that has not arrived yet. */
export interface SkippedMessageKey {
  readonly iteration: number;
  /** The message key (base64url). */
  readonly mk: string;
  /** When it was skipped, in ms since the epoch. */
  readonly storedAt: number;
}

/** One sender key, as its owner or a member holds it; bytes as base64url so that it is plain JSON. */
export interface SenderKeyState {
  readonly version: 1;
  readonly keyId: number;
  /** The owner's next iteration to send; a member's next iteration to read. */
  readonly iteration: number;
  /** The chain key of `iteration`. */
  readonly chainKey: string;
  readonly signingPublicKey: string;
  /** The owner's Ed25519 secret key; null in a member's state. */
  readonly signingSecretKey: string | null;
  /** Keys a member skipped over, by iteration, oldest first. Always empty for the owner. */
  readonly skipped: readonly SkippedMessageKey[];
}

/** Why `senderKeyDecrypt` refused a message. None of them depends on a secret. */
export const SenderKeyRefusal = {
  /** Not a version-1 sender-key message. */
  malformed: 'malformed',
  /** Another key id: a rotated key, or one never distributed to this member. */
  unknownKey: 'unknown-key',
  /** The signature, or then the ciphertext, does not verify under this state and associated data. */
  invalid: 'invalid',
  /** The iteration was read already, or its key is gone (evicted, expired, or before the distribution). */
  stale: 'stale',
  /** More than MAX_FORWARD_JUMP iterations past the state. */
  tooFarAhead: 'too-far-ahead',
} as const;
export type SenderKeyRefusal = (typeof SenderKeyRefusal)[keyof typeof SenderKeyRefusal];

export type SenderKeyDecryptResult =
  { readonly ok: true; readonly state: SenderKeyState; readonly plaintext: Uint8Array } | { readonly ok: false; readonly refusal: SenderKeyRefusal };

/** A parsed message: views into the bytes given, nothing authenticated yet. */
export interface SenderKeyMessage {
  readonly keyId: number;
  readonly iteration: number;
  readonly nonce: Uint8Array;
  readonly box: Uint8Array;
  /** Everything before the signature. */
  readonly signed: Uint8Array;
  readonly signature: Uint8Array;
}

/** A new sender key for the owner: random key id (other than `previousKeyId`), chain key and signing key pair. */
export function createSenderKey(previousKeyId?: number): SenderKeyState {
  let keyId: number;
  do keyId = readU32be(randomBytes(U32_LENGTH), 0);
  while (keyId === previousKeyId);
  const chainKey = randomBytes(CHAIN_KEY_LENGTH);
  const signing = nacl.sign.keyPair();
  const state: SenderKeyState = {
    version: 1,
    keyId,
    iteration: 0,
    chainKey: toBase64Url(chainKey),
    signingPublicKey: toBase64Url(signing.publicKey),
    signingSecretKey: toBase64Url(signing.secretKey),
    skipped: [],
  };
  wipe(chainKey, signing.secretKey);
  return state;
}

/**
 * What the owner hands to members now: they can read its messages from `state.iteration` on. The
 * chain key is a fresh copy; wipe it once encoded.
 */
export function senderKeyDistribution(state: SenderKeyState): SenderKeyDistribution {
  return {
    keyId: state.keyId,
    iteration: state.iteration,
    chainKey: fromBase64Url(state.chainKey),
    signingPublicKey: fromBase64Url(state.signingPublicKey),
  };
}

/** Throws TypeError on a field of the wrong size. */
export function encodeDistribution(d: SenderKeyDistribution): Uint8Array {
  checkU32('keyId', d.keyId);
  checkU32('iteration', d.iteration);
  checkLength('chainKey', d.chainKey, CHAIN_KEY_LENGTH);
  checkLength('signingPublicKey', d.signingPublicKey, PUBLIC_KEY_LENGTH);
  return concatBytes(new Uint8Array([SENDER_KEY_VERSION]), u32be(d.keyId), u32be(d.iteration), d.chainKey, d.signingPublicKey);
}

/** The distribution in `bytes`, or null unless they are exactly a version-1 distribution. */
export function decodeDistribution(bytes: Uint8Array): SenderKeyDistribution | null {
  if (bytes.length !== DISTRIBUTION_LENGTH || bytes[0] !== SENDER_KEY_VERSION) return null;
  const keys = 1 + 2 * U32_LENGTH;
  return {
    keyId: readU32be(bytes, 1),
    iteration: readU32be(bytes, 1 + U32_LENGTH),
    chainKey: bytes.slice(keys, keys + CHAIN_KEY_LENGTH),
    signingPublicKey: bytes.slice(keys + CHAIN_KEY_LENGTH),
  };
}

/** A member's state for the owner's sender key. Throws TypeError on a field of the wrong size. */
export function stateFromDistribution(d: SenderKeyDistribution): SenderKeyState {
  encodeDistribution(d); // the same checks
  return {
    version: 1,
    keyId: d.keyId,
    iteration: d.iteration,
    chainKey: toBase64Url(d.chainKey),
    signingPublicKey: toBase64Url(d.signingPublicKey),
    signingSecretKey: null,
    skipped: [],
  };
}

/**
 * Encrypts and signs one message, returning it with the owner's next state (persist it before
 * sending). Throws TypeError for a member's state or a plaintext too long for one message, and
 * Error when the chain is exhausted (2^32 − 1 messages: rotate).
 */
export function senderKeyEncrypt(
  state: SenderKeyState,
  plaintext: Uint8Array,
  associatedData: Uint8Array,
): { state: SenderKeyState; message: Uint8Array } {
  if (state.signingSecretKey === null) throw new TypeError("state: a member's state cannot encrypt");
  if (plaintext.length > MAX_SENDER_KEY_MESSAGE_BYTES - SENDER_KEY_OVERHEAD) {
    throw new TypeError(`plaintext: expected at most ${MAX_SENDER_KEY_MESSAGE_BYTES - SENDER_KEY_OVERHEAD} bytes`);
  }
  if (state.iteration >= U32_MAX) throw new Error('sender key: chain exhausted');
  const ck = fromBase64Url(state.chainKey);
  const { chainKey, messageKey } = chainStep(ck);
  const nonce = randomBytes(NONCE_LENGTH);
  const box = nacl.secretbox(plaintext, nonce, messageKey);
  const unsigned = concatBytes(new Uint8Array([SENDER_KEY_VERSION]), u32be(state.keyId), u32be(state.iteration), nonce, box);
  const signingKey = fromBase64Url(state.signingSecretKey);
  const signature = nacl.sign.detached(signedBytes(associatedData, unsigned), signingKey);
  const next: SenderKeyState = { ...state, iteration: state.iteration + 1, chainKey: toBase64Url(chainKey) };
  wipe(ck, chainKey, messageKey, signingKey);
  return { state: next, message: concatBytes(unsigned, signature) };
}

/** Splits a message into its parts, or null when it cannot be a version-1 sender-key message. */
export function decodeSenderKeyMessage(bytes: Uint8Array): SenderKeyMessage | null {
  if (bytes.length < SENDER_KEY_OVERHEAD || bytes.length > MAX_SENDER_KEY_MESSAGE_BYTES) return null;
  if (bytes[0] !== SENDER_KEY_VERSION) return null;
  const iteration = readU32be(bytes, 1 + U32_LENGTH);
  // encrypt never uses the last iteration: the state after it could not count past it.
  if (iteration === U32_MAX) return null;
  const signedEnd = bytes.length - SIGNATURE_LENGTH;
  return {
    keyId: readU32be(bytes, 1),
    iteration,
    nonce: bytes.subarray(HEADER_LENGTH - NONCE_LENGTH, HEADER_LENGTH),
    box: bytes.subarray(HEADER_LENGTH, signedEnd),
    signed: bytes.subarray(0, signedEnd),
    signature: bytes.subarray(signedEnd),
  };
}

/**
 * Verifies the owner's signature, then opens the message. Never mutates `state`: a success returns
 * the next one, and a refusal leaves the caller with the state it had, losing nothing. `nowMs`
 * dates newly skipped keys and expires old ones (default `Date.now()`).
 */
export function senderKeyDecrypt(
  state: SenderKeyState,
  message: Uint8Array,
  associatedData: Uint8Array,
  nowMs: number = Date.now(),
): SenderKeyDecryptResult {
  const m = decodeSenderKeyMessage(message);
  if (m === null) return refuse(SenderKeyRefusal.malformed);
  if (m.keyId !== state.keyId) return refuse(SenderKeyRefusal.unknownKey);
  const publicKey = fromBase64Url(state.signingPublicKey);
  if (!nacl.sign.detached.verify(signedBytes(associatedData, m.signed), m.signature, publicKey)) return refuse(SenderKeyRefusal.invalid);

  // Expired keys go first, so they neither count towards the cap nor open anything.
  const skipped = state.skipped.filter((k) => nowMs - k.storedAt <= MAX_MESSAGE_KEY_AGE_MS);
  if (m.iteration < state.iteration) {
    // A late message whose key was kept; without one it is a replay or its key is gone.
    const index = skipped.findIndex((k) => k.iteration === m.iteration);
    if (index < 0) return refuse(SenderKeyRefusal.stale);
    const mk = fromBase64Url(skipped[index]!.mk);
    const plaintext = nacl.secretbox.open(m.box, m.nonce, mk);
    mk.fill(0);
    if (plaintext === null) return refuse(SenderKeyRefusal.invalid);
    skipped.splice(index, 1);
    return { ok: true, state: { ...state, skipped }, plaintext };
  }
  if (m.iteration - state.iteration > MAX_FORWARD_JUMP) return refuse(SenderKeyRefusal.tooFarAhead);

  let ck = fromBase64Url(state.chainKey);
  for (let i = state.iteration; i < m.iteration; i++) {
    const step = chainStep(ck);
    ck.fill(0);
    ck = step.chainKey;
    skipped.push({ iteration: i, mk: toBase64Url(step.messageKey), storedAt: nowMs });
    step.messageKey.fill(0);
  }
  const { chainKey, messageKey } = chainStep(ck);
  const plaintext = nacl.secretbox.open(m.box, m.nonce, messageKey);
  // The skipped keys above are dropped with this call on a refusal: the state the caller keeps derives them again.
  wipe(ck, messageKey);
  if (plaintext === null) {
    chainKey.fill(0);
    return refuse(SenderKeyRefusal.invalid);
  }
  if (skipped.length > MAX_MESSAGE_KEYS) skipped.splice(0, skipped.length - MAX_MESSAGE_KEYS);
  const next: SenderKeyState = { ...state, iteration: m.iteration + 1, chainKey: toBase64Url(chainKey), skipped };
  chainKey.fill(0);
  return { ok: true, state: next, plaintext };
}

export function serializeState(s: SenderKeyState): string {
  return JSON.stringify(s);
}

/** Throws TypeError on anything that is not a state `serializeState` could have written. */
export function deserializeState(text: string): SenderKeyState {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new TypeError('sender key state: not JSON');
  }
  if (!isState(value)) throw new TypeError('sender key state: malformed');
  return {
    version: 1,
    keyId: value.keyId,
    iteration: value.iteration,
    chainKey: value.chainKey,
    signingPublicKey: value.signingPublicKey,
    signingSecretKey: value.signingSecretKey,
    skipped: value.skipped.map((k) => ({ iteration: k.iteration, mk: k.mk, storedAt: k.storedAt })),
  };
}

/** Signal's chain step: the message key of this iteration and the chain key of the next. */
function chainStep(ck: Uint8Array): { chainKey: Uint8Array; messageKey: Uint8Array } {
  const mkFull = hmacSha512(ck, MESSAGE_KEY_INPUT);
  const ckFull = hmacSha512(ck, CHAIN_KEY_INPUT);
  const keys = { chainKey: ckFull.slice(0, CHAIN_KEY_LENGTH), messageKey: mkFull.slice(0, MESSAGE_KEY_LENGTH) };
  wipe(mkFull, ckFull);
  return keys;
}

/** The AD's length is framed first so that no (ad, message) split can be read as another. */
function signedBytes(associatedData: Uint8Array, unsigned: Uint8Array): Uint8Array {
  return concatBytes(SIGNATURE_CONTEXT, u32be(associatedData.length), associatedData, unsigned);
}

function refuse(refusal: SenderKeyRefusal): SenderKeyDecryptResult {
  return { ok: false, refusal };
}

function checkU32(name: string, n: number): void {
  if (!isU32(n)) throw new TypeError(`${name}: expected an integer in [0, 2^32)`);
}

// --- deserializeState's checks: plain predicates (state-checks.ts has the shared ones).

function isSkipped(value: unknown): value is SkippedMessageKey {
  return (
    isRecord(value) &&
    isU32(value.iteration) &&
    isKey(value.mk, MESSAGE_KEY_LENGTH) &&
    typeof value.storedAt === 'number' &&
    Number.isFinite(value.storedAt)
  );
}

/** The owner's secret key must be the one whose public half the state names (tweetnacl keeps it in the last 32 bytes). */
function ownsPublicKey(secretKey: string, publicKey: string): boolean {
  const secret = fromBase64Url(secretKey);
  const matches = equalBytes(secret.subarray(SECRET_KEY_LENGTH - PUBLIC_KEY_LENGTH), fromBase64Url(publicKey));
  secret.fill(0);
  return matches;
}

function isState(value: unknown): value is SenderKeyState {
  if (!isRecord(value) || value.version !== 1) return false;
  if (!isU32(value.keyId) || !isU32(value.iteration)) return false;
  if (!isKey(value.chainKey, CHAIN_KEY_LENGTH) || !isKey(value.signingPublicKey, PUBLIC_KEY_LENGTH)) return false;
  const owner = value.signingSecretKey !== null;
  if (owner && !(isKey(value.signingSecretKey, SECRET_KEY_LENGTH) && ownsPublicKey(value.signingSecretKey, value.signingPublicKey))) return false;
  const skipped = value.skipped;
  if (!Array.isArray(skipped) || skipped.length > MAX_MESSAGE_KEYS || (owner && skipped.length > 0)) return false;
  // Ascending, distinct and behind the chain: the order decrypt keeps them in.
  let below = -1;
  for (const k of skipped) {
    if (!isSkipped(k) || k.iteration <= below || k.iteration >= value.iteration) return false;
    below = k.iteration;
  }
  return true;
}
