/** The signed connect request (ARCH §4.2), pinned so that any client can interoperate. */

/** v2 binds the host dialled, so a connect signed for one deployment is refused by every other. */
export const CONNECT_CONTEXT = 'ebb-connect-v2';
/** The signing key signs `IDENTITY_CONTEXT + "\n"` followed by the 32-byte X25519 identity key. */
export const IDENTITY_CONTEXT = 'ebb-identity-v1';
/** A signed prekey is signed as `SIGNED_PREKEY_CONTEXT + "\n"` followed by its 32-byte X25519 public key. */
export const SIGNED_PREKEY_CONTEXT = 'ebb-signed-prekey-v1';
/**
 * A linked device's certificate is the account signing key's signature over `DEVICE_CONTEXT + "\n"` followed by
 * the device's 32-byte Ed25519 signing key. It names no device number: the server assigns those.
 */
export const DEVICE_CONTEXT = 'ebb-device-v1';

/** Bytes of SHA-512(signing public key) that form the user id. */
export const USER_ID_HASH_BYTES = 24;
export const USER_ID_LENGTH = 32;
export const NONCE_BYTES = 16;

export interface ConnectParams {
  readonly uid: string;
  readonly dev: number;
  readonly ts: number;
  readonly nonce: string;
  readonly sig: string;
  /** Ed25519 signing public key; sent only before the account is registered. */
  readonly pk?: string;
}

/**
 * The connect query parameters every connect carries (`pk` is optional): API Gateway refuses a connect
 * missing any before the authorizer runs, on AWS and in the local emulator.
 */
export const SIGNED_QUERY_PARAMS = ['uid', 'dev', 'ts', 'nonce', 'sig'] as const satisfies readonly Exclude<keyof ConnectParams, 'pk'>[];

/** What the signature covers: the query's fields and the host the client dials. */
export interface SignedConnect extends Pick<ConnectParams, 'uid' | 'dev' | 'ts' | 'nonce'> {
  /** Lower-cased host of the URL dialled, with its port when the URL names one: the `Host` header sent. */
  readonly host: string;
}

/** The exact UTF-8 string whose Ed25519 signature is `sig` (ARCH §4.2). */
export function connectMessage(p: SignedConnect): string {
  return `${CONNECT_CONTEXT}\n${p.host}\n${p.uid}\n${p.dev}\n${p.ts}\n${p.nonce}`;
}

/**
 * The `host` a client signs for `url`: `new URL(url).host`, which lower-cases it and keeps a port only when
 * the URL names a non-default one, as the `Host` header does. A path or stage (`/prod`) is not part of it.
 * @throws TypeError when `url` is not a URL.
 */
export function connectHost(url: string): string {
  return new URL(url).host.toLowerCase();
}

export function connectQuery(p: ConnectParams): string {
  const query = new URLSearchParams({ uid: p.uid, dev: String(p.dev), ts: String(p.ts), nonce: p.nonce, sig: p.sig });
  if (p.pk !== undefined) query.set('pk', p.pk);
  return query.toString();
}

/** `prefix + "\n" + key`, the byte string signed for identity and signed prekeys. */
export function signedKeyMessage(context: string, key: Uint8Array): Uint8Array {
  const prefix = new TextEncoder().encode(`${context}\n`);
  const out = new Uint8Array(prefix.length + key.length);
  out.set(prefix, 0);
  out.set(key, prefix.length);
  return out;
}
