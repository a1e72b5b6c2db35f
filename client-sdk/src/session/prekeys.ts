import nacl from 'tweetnacl';
import { toBase64Url } from '../../../protocol/base64url';
import { SIGNED_PREKEY_CONTEXT, signedKeyMessage } from '../../../protocol/connect';
import type { OneTimePrekey, SignedPrekey } from '../../../protocol/frames';
import { Limits } from '../../../protocol/limits';
import type { Identity } from '../identity/identity';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { Request } from '../transport/connection';

/** Below this many one-time prekeys on the server, the client tops them up. */
export const PREKEY_LOW_WATER = 25;
/** Topped up to this many: one full `keys.publish`. */
export const PREKEY_TARGET = Limits.maxPrekeysPerPublish;

const KEY_ID_SPACE = 2 ** 31;

/**
 * Publishes a signed prekey if the server has none and one-time prekeys if it is running low.
 * Private halves are stored before the public halves are published: a key the server hands out
 * must always be one we can use.
 */
export async function replenishPrekeys(request: Request, store: KeyStore, identity: Identity): Promise<void> {
  const count = await request('keys.count', {});
  const needSigned = count.signedPrekeyId === null;
  const oneTimeCount = count.oneTimePrekeys < PREKEY_LOW_WATER ? PREKEY_TARGET - count.oneTimePrekeys : 0;
  if (!needSigned && oneTimeCount === 0) return;

  let keyId = await allocateKeyIds(store, (needSigned ? 1 : 0) + oneTimeCount);
  const writes: Promise<void>[] = [];
  let signedPrekey: SignedPrekey | undefined;
  if (needSigned) {
    const pair = nacl.box.keyPair();
    const signature = nacl.sign.detached(signedKeyMessage(SIGNED_PREKEY_CONTEXT, pair.publicKey), identity.signingSecretKey);
    writes.push(store.set(StoreKeys.signedPrekey(keyId), toBase64Url(pair.secretKey)));
    signedPrekey = { keyId, publicKey: toBase64Url(pair.publicKey), signature: toBase64Url(signature) };
    keyId = (keyId + 1) % KEY_ID_SPACE;
  }
  const oneTimePrekeys: OneTimePrekey[] = [];
  for (let i = 0; i < oneTimeCount; i++) {
    const pair = nacl.box.keyPair();
    writes.push(store.set(StoreKeys.oneTimePrekey(keyId), toBase64Url(pair.secretKey)));
    oneTimePrekeys.push({ keyId, publicKey: toBase64Url(pair.publicKey) });
    keyId = (keyId + 1) % KEY_ID_SPACE;
  }
  await Promise.all(writes);
  await request('keys.publish', {
    ...(signedPrekey && { signedPrekey }),
    ...(oneTimePrekeys.length > 0 && { oneTimePrekeys }),
  });
}

/** Reserves `n` consecutive key ids; the counter is saved first so ids are never reused. */
async function allocateKeyIds(store: KeyStore, n: number): Promise<number> {
  const saved = Number(await store.get(StoreKeys.nextPrekeyId));
  const first = Number.isInteger(saved) && saved >= 0 && saved < KEY_ID_SPACE ? saved : 0;
  await store.set(StoreKeys.nextPrekeyId, String((first + n) % KEY_ID_SPACE));
  return first;
}
