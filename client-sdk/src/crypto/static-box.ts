import nacl from 'tweetnacl';
import { randomBytes } from './random';

/**
 * The interim message encryption: `nacl.box` between the sender's and the recipient's X25519
 * identity keys, with a fresh random nonce per message. The Double Ratchet replaces this module
 * behind the same calls. Wire layout:
 *
 *   version (1) ‖ sender signing key ‖ sender identity key ‖ identity signature ‖ nonce ‖ box
 *
 * The sender's keys travel with every message so that a recipient can authenticate a first
 * message without asking the server: the user id is the hash of the signing key, which signs the
 * identity key, whose secret half is needed to make a box that opens.
 */

const VERSION = 1;
const SIGNING_KEY_AT = 1;
const IDENTITY_KEY_AT = SIGNING_KEY_AT + nacl.sign.publicKeyLength;
const SIGNATURE_AT = IDENTITY_KEY_AT + nacl.box.publicKeyLength;
const NONCE_AT = SIGNATURE_AT + nacl.sign.signatureLength;
const BOX_AT = NONCE_AT + nacl.box.nonceLength;

export interface SenderKeys {
  readonly signingPublicKey: Uint8Array;
  readonly identityPublicKey: Uint8Array;
  /** Signature by the signing key over the identity key (IDENTITY_CONTEXT). */
  readonly identitySig: Uint8Array;
}

/** A parsed ciphertext whose box is still closed: nothing in it is authenticated yet. */
export interface Sealed extends SenderKeys {
  readonly nonce: Uint8Array;
  readonly box: Uint8Array;
}

/** Bytes of the ciphertext for a plaintext of `plaintextLength` bytes. */
export function sealedLength(plaintextLength: number): number {
  return BOX_AT + nacl.box.overheadLength + plaintextLength;
}

/**
 * The X25519 shared key between two identity keys, for `seal`: computing it once per recipient
 * lets a send to many devices pay for one scalar multiplication.
 */
export function sharedKey(theirIdentityKey: Uint8Array, myIdentitySecret: Uint8Array): Uint8Array {
  if (theirIdentityKey.length !== nacl.box.publicKeyLength) throw new TypeError(`theirIdentityKey: expected ${nacl.box.publicKeyLength} bytes`);
  if (myIdentitySecret.length !== nacl.box.secretKeyLength) throw new TypeError(`myIdentitySecret: expected ${nacl.box.secretKeyLength} bytes`);
  return nacl.box.before(theirIdentityKey, myIdentitySecret);
}

export function seal(plaintext: Uint8Array, sender: SenderKeys, shared: Uint8Array): Uint8Array {
  if (sender.signingPublicKey.length !== nacl.sign.publicKeyLength) throw new TypeError(`signingPublicKey: expected ${nacl.sign.publicKeyLength} bytes`);
  if (sender.identityPublicKey.length !== nacl.box.publicKeyLength) throw new TypeError(`identityPublicKey: expected ${nacl.box.publicKeyLength} bytes`);
  if (sender.identitySig.length !== nacl.sign.signatureLength) throw new TypeError(`identitySig: expected ${nacl.sign.signatureLength} bytes`);
  if (shared.length !== nacl.box.sharedKeyLength) throw new TypeError(`shared: expected ${nacl.box.sharedKeyLength} bytes`);
  const nonce = randomBytes(nacl.box.nonceLength);
  const box = nacl.box.after(plaintext, nonce, shared);
  const out = new Uint8Array(BOX_AT + box.length);
  out[0] = VERSION;
  out.set(sender.signingPublicKey, SIGNING_KEY_AT);
  out.set(sender.identityPublicKey, IDENTITY_KEY_AT);
  out.set(sender.identitySig, SIGNATURE_AT);
  out.set(nonce, NONCE_AT);
  out.set(box, BOX_AT);
  return out;
}

/** Splits a ciphertext into its parts, or null when it cannot be one of ours. */
export function readSealed(ciphertext: Uint8Array): Sealed | null {
  if (ciphertext.length < BOX_AT + nacl.box.overheadLength || ciphertext[0] !== VERSION) return null;
  return {
    signingPublicKey: ciphertext.slice(SIGNING_KEY_AT, IDENTITY_KEY_AT),
    identityPublicKey: ciphertext.slice(IDENTITY_KEY_AT, SIGNATURE_AT),
    identitySig: ciphertext.slice(SIGNATURE_AT, NONCE_AT),
    nonce: ciphertext.slice(NONCE_AT, BOX_AT),
    box: ciphertext.slice(BOX_AT),
  };
}

/** The plaintext, or null when the box does not open with our identity key. */
export function openSealed(sealed: Sealed, myIdentitySecret: Uint8Array): Uint8Array | null {
  if (myIdentitySecret.length !== nacl.box.secretKeyLength) throw new TypeError(`myIdentitySecret: expected ${nacl.box.secretKeyLength} bytes`);
  return nacl.box.open(sealed.box, sealed.nonce, sealed.identityPublicKey, myIdentitySecret);
}
