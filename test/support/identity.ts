import nacl from 'tweetnacl';
import {
  IDENTITY_CONTEXT,
  SIGNED_PREKEY_CONTEXT,
  connectHost,
  connectMessage,
  connectQuery,
  signedKeyMessage,
  toBase64Url,
  USER_ID_HASH_BYTES,
} from '../../protocol';

/** A device identity built directly from the protocol, independent of the SDK. */
export interface TestIdentity {
  readonly uid: string;
  readonly signing: nacl.SignKeyPair;
  readonly identity: nacl.BoxKeyPair;
  readonly pk: string;
}

export function makeIdentity(): TestIdentity {
  const signing = nacl.sign.keyPair();
  const identity = nacl.box.keyPair();
  return { uid: toBase64Url(nacl.hash(signing.publicKey).subarray(0, USER_ID_HASH_BYTES)), signing, identity, pk: toBase64Url(signing.publicKey) };
}

/** The host `connectParams` signs for when no URL or host is given (core tests pass it as the `Host` header). */
export const TEST_HOST = 'ebb.test';

export interface ConnectOptions {
  /** The host the signature covers. @default TEST_HOST, or the host of the URL for `connectUrl` */
  readonly host?: string;
  readonly dev?: number;
  readonly ts?: number;
  readonly nonce?: string;
  readonly withPk?: boolean;
  /** Sign with another key (forgery). */
  readonly signWith?: Uint8Array;
}

export function connectParams(id: TestIdentity, options: ConnectOptions = {}) {
  const dev = options.dev ?? 1;
  const ts = options.ts ?? Date.now();
  const nonce = options.nonce ?? toBase64Url(nacl.randomBytes(16));
  const message = new TextEncoder().encode(connectMessage({ host: options.host ?? TEST_HOST, uid: id.uid, dev, ts, nonce }));
  const sig = toBase64Url(nacl.sign.detached(message, options.signWith ?? id.signing.secretKey));
  return { uid: id.uid, dev, ts, nonce, sig, pk: options.withPk === false ? undefined : id.pk };
}

/** A connect URL signed for the host of `base` (or `options.host`, to sign for another deployment). */
export function connectUrl(base: string, id: TestIdentity, options: ConnectOptions = {}): string {
  return `${base}/?${connectQuery(connectParams(id, { host: connectHost(base), ...options }))}`;
}

export function registerFrame(id: TestIdentity, rid = 'reg') {
  return {
    action: 'register',
    rid,
    identityKey: toBase64Url(id.identity.publicKey),
    identitySig: toBase64Url(nacl.sign.detached(signedKeyMessage(IDENTITY_CONTEXT, id.identity.publicKey), id.signing.secretKey)),
  };
}

export function signedPrekey(id: TestIdentity, keyId = 1) {
  const pair = nacl.box.keyPair();
  return {
    keyId,
    publicKey: toBase64Url(pair.publicKey),
    signature: toBase64Url(nacl.sign.detached(signedKeyMessage(SIGNED_PREKEY_CONTEXT, pair.publicKey), id.signing.secretKey)),
  };
}

export function oneTimePrekeys(count: number, firstId = 1) {
  return Array.from({ length: count }, (_, i) => ({ keyId: firstId + i, publicKey: toBase64Url(nacl.box.keyPair().publicKey) }));
}

export function messageId(): string {
  return toBase64Url(nacl.randomBytes(16));
}
