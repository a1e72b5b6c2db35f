import nacl from 'tweetnacl';
import { toBase64Url } from '../../../protocol/base64url';
import { NONCE_BYTES, connectHost, connectMessage, connectQuery } from '../../../protocol/connect';
import { randomId } from '../crypto/random';
import type { Identity } from '../identity/identity';

/**
 * The signed connect URL of ARCH §4.2, fresh for every attempt (new `ts` and nonce: the server
 * rejects a reused nonce). The signature covers the host of `base`, so it is good at that deployment
 * only. `pk` goes along only until the account is registered.
 */
export function signedConnectUrl(base: string, identity: Identity, device: number, ts: number, includePk: boolean): string {
  const fields = { uid: identity.userId, dev: device, ts, nonce: randomId(NONCE_BYTES) };
  const message = connectMessage({ ...fields, host: connectHost(base) });
  const sig = toBase64Url(nacl.sign.detached(new TextEncoder().encode(message), identity.deviceSigningSecretKey));
  const query = connectQuery({ ...fields, sig, ...(includePk && { pk: toBase64Url(identity.deviceSigningPublicKey) }) });
  return `${base}${base.includes('?') ? '&' : '?'}${query}`;
}
