import nacl from 'tweetnacl';
import { AEAD_OVERHEAD } from './aead';
import { concatBytes, readU32be, u32be, U32_LENGTH } from './bytes';
import { HEADER_LENGTH } from './ratchet';

/**
 * The binary layout of an ebb ciphertext, version 2 (version 1 was a static `nacl.box`):
 *
 *   normal:  version (1) ‖ kind = 0 (1) ‖ ratchet header ‖ AEAD ciphertext
 *   prekey:  version (1) ‖ kind = 1 (1) ‖ sender signing key (32) ‖ sender identity key (32) ‖
 *            identity signature (64) ‖ X3DH ephemeral key (32) ‖ signed prekey id (u32 BE) ‖
 *            one-time prekey id (u32 BE, 0xFFFFFFFF when none) ‖ ratchet header ‖ AEAD ciphertext
 *
 * An initiator sends prekey messages until the responder's first reply (Signal's
 * PreKeySignalMessage): any one of them lets the responder build the session. Everything before
 * the ratchet header (the "prefix") is bound into the AEAD's associated data by the session layer.
 */

export const WIRE_VERSION = 2;
export const MessageKind = { normal: 0, prekey: 1 } as const;

/** Key ids are below 2^31 (protocol KeyId), so this value can never name a real key. */
const NO_ONE_TIME_PREKEY = 0xffffffff;
const KEY_LENGTH = nacl.box.publicKeyLength;
const NORMAL_PREFIX_LENGTH = 2;
const PREKEY_PREFIX_LENGTH = 2 + nacl.sign.publicKeyLength + KEY_LENGTH + nacl.sign.signatureLength + KEY_LENGTH + U32_LENGTH + U32_LENGTH;

/** What a prekey message carries so the responder can run X3DH without asking the server. */
export interface PrekeyFields {
  readonly signingKey: Uint8Array;
  readonly identityKey: Uint8Array;
  readonly identitySig: Uint8Array;
  readonly ephemeralKey: Uint8Array;
  readonly signedPrekeyId: number;
  readonly oneTimePrekeyId: number | null;
}

/** A parsed ciphertext: nothing in it is authenticated yet. */
export interface WireMessage {
  /** Bytes before the ratchet header, for the associated data. */
  readonly prefix: Uint8Array;
  readonly prekey: PrekeyFields | null;
  readonly header: Uint8Array;
  readonly body: Uint8Array;
}

/** The prefix of a message: kind, plus the X3DH fields for a prekey message. */
export function encodePrefix(prekey: PrekeyFields | null): Uint8Array {
  if (!prekey) return new Uint8Array([WIRE_VERSION, MessageKind.normal]);
  checkLength('signingKey', prekey.signingKey, nacl.sign.publicKeyLength);
  checkLength('identityKey', prekey.identityKey, KEY_LENGTH);
  checkLength('identitySig', prekey.identitySig, nacl.sign.signatureLength);
  checkLength('ephemeralKey', prekey.ephemeralKey, KEY_LENGTH);
  return concatBytes(
    new Uint8Array([WIRE_VERSION, MessageKind.prekey]),
    prekey.signingKey,
    prekey.identityKey,
    prekey.identitySig,
    prekey.ephemeralKey,
    u32be(prekey.signedPrekeyId),
    u32be(prekey.oneTimePrekeyId ?? NO_ONE_TIME_PREKEY),
  );
}

export function encodeWireMessage(prefix: Uint8Array, header: Uint8Array, body: Uint8Array): Uint8Array {
  checkLength('header', header, HEADER_LENGTH);
  return concatBytes(prefix, header, body);
}

/** Splits a ciphertext into its parts, or null when it cannot be a version-2 message. */
export function decodeWireMessage(bytes: Uint8Array): WireMessage | null {
  if (bytes.length < 2 || bytes[0] !== WIRE_VERSION) return null;
  const kind = bytes[1];
  if (kind !== MessageKind.normal && kind !== MessageKind.prekey) return null;
  const prefixLength = kind === MessageKind.prekey ? PREKEY_PREFIX_LENGTH : NORMAL_PREFIX_LENGTH;
  if (bytes.length < prefixLength + HEADER_LENGTH + AEAD_OVERHEAD) return null;
  let prekey: PrekeyFields | null = null;
  if (kind === MessageKind.prekey) {
    let at = 2;
    const take = (n: number): Uint8Array => bytes.slice(at, (at += n));
    const signingKey = take(nacl.sign.publicKeyLength);
    const identityKey = take(KEY_LENGTH);
    const identitySig = take(nacl.sign.signatureLength);
    const ephemeralKey = take(KEY_LENGTH);
    const signedPrekeyId = readU32be(bytes, at);
    const oneTimePrekeyId = readU32be(bytes, at + U32_LENGTH);
    prekey = {
      signingKey,
      identityKey,
      identitySig,
      ephemeralKey,
      signedPrekeyId,
      oneTimePrekeyId: oneTimePrekeyId === NO_ONE_TIME_PREKEY ? null : oneTimePrekeyId,
    };
  }
  return {
    prefix: bytes.slice(0, prefixLength),
    prekey,
    header: bytes.slice(prefixLength, prefixLength + HEADER_LENGTH),
    body: bytes.slice(prefixLength + HEADER_LENGTH),
  };
}

/** Bytes of the largest ciphertext (a prekey message) for a plaintext of `plaintextLength` bytes. */
export function maxWireLength(plaintextLength: number): number {
  return PREKEY_PREFIX_LENGTH + HEADER_LENGTH + AEAD_OVERHEAD + plaintextLength;
}

function checkLength(name: string, bytes: Uint8Array, expected: number): void {
  if (bytes.length !== expected) throw new TypeError(`${name}: expected ${expected} bytes`);
}
