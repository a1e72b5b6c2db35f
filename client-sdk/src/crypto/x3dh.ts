import nacl from 'tweetnacl';
import { concatBytes } from './bytes';
import { hkdfSha512 } from './hkdf';
import { generateKeyPair, x25519 } from './x25519';

/**
 * X3DH key agreement (Signal's X3DH specification, revision 1), with X25519 identity keys and
 * HKDF-SHA-512. ebb's identity key is an X25519 key signed by the user's Ed25519 key: the caller
 * verifies that signature, and the signed prekey's, before calling in here.
 */

export interface KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

export interface RemoteBundle {
  readonly identityKey: Uint8Array;
  readonly signedPrekey: { keyId: number; publicKey: Uint8Array };
  readonly oneTimePrekey?: { keyId: number; publicKey: Uint8Array };
}

export interface X3dhInitiation {
  /** SK, 32 bytes: the Double Ratchet's first root key. */
  readonly sharedSecret: Uint8Array;
  /** EK_A's public half, sent in the initial message. */
  readonly ephemeralKey: Uint8Array;
  /** AD = IK_A ‖ IK_B (X3DH §3.3), bound into every ratchet message. */
  readonly associatedData: Uint8Array;
  readonly signedPrekeyId: number;
  readonly oneTimePrekeyId: number | null;
}

/** What the initiator sends so that the responder can repeat the agreement (X3DH §3.3). */
export interface X3dhHeader {
  /** The initiator's identity key IK_A. */
  readonly identityKey: Uint8Array;
  readonly ephemeralKey: Uint8Array;
  readonly signedPrekeyId: number;
  readonly oneTimePrekeyId: number | null;
}

const SHARED_SECRET_LENGTH = nacl.secretbox.keyLength;
const KEY_LENGTH = nacl.box.publicKeyLength;
/** X3DH §2.2: F is 32 0xFF bytes for X25519, so that SK's input never starts like a valid key. */
const F = new Uint8Array(KEY_LENGTH).fill(0xff);
/** X3DH §2.2: the HKDF salt is a zero-filled byte sequence the length of the hash output. */
const SALT = new Uint8Array(nacl.hash.hashLength);
const INFO = new TextEncoder().encode('ebb-x3dh-v1');

/**
 * Alice's side (X3DH §3.3): agrees on SK with the owner of `bundle`, using a fresh ephemeral key.
 * Throws TypeError on a key of the wrong length and Error on a low-order key in the bundle.
 */
export function x3dhInitiate(ownIdentity: KeyPair, bundle: RemoteBundle): X3dhInitiation {
  checkPair('ownIdentity', ownIdentity);
  checkPublic('bundle.identityKey', bundle.identityKey);
  checkPublic('bundle.signedPrekey.publicKey', bundle.signedPrekey.publicKey);
  if (bundle.oneTimePrekey !== undefined) checkPublic('bundle.oneTimePrekey.publicKey', bundle.oneTimePrekey.publicKey);

  const ephemeral = generateKeyPair();
  const dhs: Uint8Array[] = [];
  try {
    dhs.push(x25519(ownIdentity.secretKey, bundle.signedPrekey.publicKey)); // DH1 = DH(IK_A, SPK_B)
    dhs.push(x25519(ephemeral.secretKey, bundle.identityKey)); // DH2 = DH(EK_A, IK_B)
    dhs.push(x25519(ephemeral.secretKey, bundle.signedPrekey.publicKey)); // DH3 = DH(EK_A, SPK_B)
    if (bundle.oneTimePrekey !== undefined) dhs.push(x25519(ephemeral.secretKey, bundle.oneTimePrekey.publicKey)); // DH4 = DH(EK_A, OPK_B)
    return {
      sharedSecret: deriveSecret(dhs),
      ephemeralKey: ephemeral.publicKey,
      associatedData: concatBytes(ownIdentity.publicKey, bundle.identityKey),
      signedPrekeyId: bundle.signedPrekey.keyId,
      oneTimePrekeyId: bundle.oneTimePrekey?.keyId ?? null,
    };
  } finally {
    // X3DH §3.3: Alice deletes her ephemeral private key and the DH outputs once SK is calculated
    // (or the agreement failed). Anyone who later read them from memory (a heap dump, a swapped
    // page) could recompute SK and so every message of the session.
    ephemeral.secretKey.fill(0);
    wipe(dhs);
  }
}

/**
 * Bob's side (X3DH §3.4): repeats the agreement from the initiator's header with the prekeys it
 * names, which the caller has looked up by id. Throws TypeError when a key has the wrong length or
 * `oneTimePrekey` is given exactly when the header names none (or vice versa), and Error on a
 * low-order key in the header. The caller deletes the one-time prekey afterwards.
 */
export function x3dhRespond(
  ownIdentity: KeyPair,
  signedPrekey: KeyPair,
  oneTimePrekey: KeyPair | null,
  header: X3dhHeader,
): { sharedSecret: Uint8Array; associatedData: Uint8Array } {
  checkPair('ownIdentity', ownIdentity);
  checkPair('signedPrekey', signedPrekey);
  if (oneTimePrekey !== null) checkPair('oneTimePrekey', oneTimePrekey);
  checkPublic('header.identityKey', header.identityKey);
  checkPublic('header.ephemeralKey', header.ephemeralKey);
  if ((oneTimePrekey === null) !== (header.oneTimePrekeyId === null)) {
    throw new TypeError('oneTimePrekey: must be given exactly when header.oneTimePrekeyId is set');
  }

  const dhs: Uint8Array[] = [];
  try {
    dhs.push(x25519(signedPrekey.secretKey, header.identityKey)); // DH1 = DH(SPK_B, IK_A)
    dhs.push(x25519(ownIdentity.secretKey, header.ephemeralKey)); // DH2 = DH(IK_B, EK_A)
    dhs.push(x25519(signedPrekey.secretKey, header.ephemeralKey)); // DH3 = DH(SPK_B, EK_A)
    if (oneTimePrekey !== null) dhs.push(x25519(oneTimePrekey.secretKey, header.ephemeralKey)); // DH4 = DH(OPK_B, EK_A)
    return {
      sharedSecret: deriveSecret(dhs),
      associatedData: concatBytes(header.identityKey, ownIdentity.publicKey),
    };
  } finally {
    // As for the initiator: the DH outputs would recompute SK, so they do not outlive this call.
    wipe(dhs);
  }
}

/** X3DH §2.2: SK = KDF(F ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4]). */
function deriveSecret(dhs: Uint8Array[]): Uint8Array {
  const ikm = concatBytes(F, ...dhs);
  const sk = hkdfSha512(ikm, SALT, INFO, SHARED_SECRET_LENGTH);
  ikm.fill(0); // holds copies of the DH outputs
  return sk;
}

function wipe(buffers: readonly Uint8Array[]): void {
  for (const buffer of buffers) buffer.fill(0);
}

function checkPublic(name: string, key: Uint8Array): void {
  if (key.length !== KEY_LENGTH) throw new TypeError(`${name}: expected ${KEY_LENGTH} bytes`);
}

function checkPair(name: string, pair: KeyPair): void {
  checkPublic(`${name}.publicKey`, pair.publicKey);
  if (pair.secretKey.length !== nacl.box.secretKeyLength) throw new TypeError(`${name}.secretKey: expected ${nacl.box.secretKeyLength} bytes`);
}
