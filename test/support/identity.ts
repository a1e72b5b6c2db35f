import nacl from 'tweetnacl';
import {
  DEVICE_CONTEXT,
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

/** A device to link to `account`: its own signing key, certified by the account's (ARCH §4.6). */
export interface TestLinkedDevice {
  readonly signing: nacl.SignKeyPair;
  readonly signingKey: string;
  readonly cert: string;
  /** The identity it connects as before it is linked: `userIdOf(its signing key)`. */
  readonly tmp: TestIdentity;
}

export function makeLinkedDevice(account: TestIdentity, certifyWith: Uint8Array = account.signing.secretKey): TestLinkedDevice {
  const signing = nacl.sign.keyPair();
  const cert = toBase64Url(nacl.sign.detached(signedKeyMessage(DEVICE_CONTEXT, signing.publicKey), certifyWith));
  const tmp: TestIdentity = {
    uid: toBase64Url(nacl.hash(signing.publicKey).subarray(0, USER_ID_HASH_BYTES)),
    signing,
    identity: account.identity,
    pk: toBase64Url(signing.publicKey),
  };
  return { signing, signingKey: tmp.pk, cert, tmp };
}

/** The `device.add` frame device 1 of `account` sends to link `device`. */
export function deviceAddFrame(device: TestLinkedDevice, rid = 'add', name?: string) {
  return {
    action: 'device.add',
    rid,
    signingKey: device.signingKey,
    cert: device.cert,
    ...(name === undefined ? {} : { name }),
    provision: toBase64Url(nacl.randomBytes(200)),
  };
}

/** `account` as its linked device `device` connects: same user id, that device's number and signing key. */
export function asLinkedDevice(account: TestIdentity, device: TestLinkedDevice): TestIdentity {
  return { uid: account.uid, signing: device.signing, identity: account.identity, pk: device.signingKey };
}
