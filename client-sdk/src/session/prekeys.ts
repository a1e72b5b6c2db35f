import nacl from 'tweetnacl';
import * as v from 'valibot';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { SIGNED_PREKEY_CONTEXT, signedKeyMessage } from '../../../protocol/connect';
import { KeyId, PublicKey as Secret32, type OneTimePrekey, type SignedPrekey } from '../../../protocol/frames';
import { Limits } from '../../../protocol/limits';
import { generateKeyPair } from '../crypto/x25519';
import type { KeyPair } from '../crypto/x3dh';
import type { Identity } from '../identity/identity';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { Request } from '../transport/connection';
import type { Answer } from '../transport/server-frames';
import { KeyedQueue } from '../keyed-queue';

/** Below this many one-time prekeys on the server, the client tops them up. */
export const PREKEY_LOW_WATER = 25;
/** Topped up to this many: one full `keys.publish`. */
export const PREKEY_TARGET = Limits.maxPrekeysPerPublish;

const KEY_ID_SPACE = 2 ** 31;
const DAY_MS = 86_400_000;

/** When the signed prekey is replaced, and how long a replaced one still opens first messages. */
export interface PrekeyPolicy {
  readonly rotationMs: number;
  readonly graceMs: number;
}

/** Weekly rotation, as Signal does; the grace covers the default 30-day retention of queued messages. */
export const DEFAULT_PREKEY_POLICY: PrekeyPolicy = { rotationMs: 7 * DAY_MS, graceMs: 30 * DAY_MS };

/** A time in epoch ms; `finite()` refuses the Infinity JSON's `1e400` parses to. */
const Time = v.pipe(v.number(), v.finite());
const Current = v.object({ keyId: KeyId, createdAt: Time });
const SignedRecord = v.object({ secretKey: Secret32, createdAt: Time, retiredAt: v.nullable(Time) });
type SignedRecord = v.InferOutput<typeof SignedRecord>;

/**
 * Publishes a signed prekey if the server has none, ours is older than `policy.rotationMs`, or the
 * server holds another one; tops one-time prekeys up to PREKEY_TARGET when the server holds fewer than
 * `lowWater` (on connect PREKEY_LOW_WATER; on a `keys.low` push any shortfall); forgets signed
 * prekeys retired longer than `policy.graceMs` ago. Private halves are stored before the public
 * halves are published: a key the server hands out must always be one we can use.
 */
export function replenishPrekeys(
  request: Request,
  store: KeyStore,
  identity: Identity,
  now: number,
  policy: PrekeyPolicy,
  /** `counted`: the server's `keys.count` answer when the caller already has it; `lowWater`: see above. */
  options: { readonly counted?: Answer<'keys.count'>; readonly lowWater?: number } = {},
): Promise<void> {
  return running.run(store, () => replenish(request, store, identity, now, policy, options.lowWater ?? PREKEY_LOW_WATER, options.counted));
}

/** One run at a time per store: two runs at once could allocate the same key ids. */
const running = new KeyedQueue<KeyStore>();

async function replenish(
  request: Request,
  store: KeyStore,
  identity: Identity,
  now: number,
  policy: PrekeyPolicy,
  lowWater: number,
  counted: Answer<'keys.count'> | undefined,
): Promise<void> {
  const count = counted ?? (await request('keys.count', {}));
  const current = parseJson(Current, await store.get(StoreKeys.currentSignedPrekey));
  const needSigned =
    count.signedPrekeyId === null || !current || current.keyId !== count.signedPrekeyId || now - current.createdAt >= policy.rotationMs;
  const oneTimeCount = count.oneTimePrekeys < lowWater ? PREKEY_TARGET - count.oneTimePrekeys : 0;
  if (needSigned || oneTimeCount > 0) {
    let keyId = await allocateKeyIds(store, (needSigned ? 1 : 0) + oneTimeCount);
    const writes: Promise<void>[] = [];
    let signedPrekey: SignedPrekey | undefined;
    if (needSigned) {
      const pair = generateKeyPair();
      const signature = nacl.sign.detached(signedKeyMessage(SIGNED_PREKEY_CONTEXT, pair.publicKey), identity.deviceSigningSecretKey);
      const record: SignedRecord = { secretKey: toBase64Url(pair.secretKey), createdAt: now, retiredAt: null };
      writes.push(store.set(StoreKeys.signedPrekey(keyId), JSON.stringify(record)));
      signedPrekey = { keyId, publicKey: toBase64Url(pair.publicKey), signature: toBase64Url(signature) };
      keyId = (keyId + 1) % KEY_ID_SPACE;
    }
    const oneTimePrekeys: OneTimePrekey[] = [];
    for (let i = 0; i < oneTimeCount; i++) {
      const pair = generateKeyPair();
      writes.push(store.set(StoreKeys.oneTimePrekey(keyId), toBase64Url(pair.secretKey)));
      oneTimePrekeys.push({ keyId, publicKey: toBase64Url(pair.publicKey) });
      keyId = (keyId + 1) % KEY_ID_SPACE;
    }
    await Promise.all(writes);
    await request('keys.publish', {
      ...(signedPrekey && { signedPrekey }),
      ...(oneTimePrekeys.length > 0 && { oneTimePrekeys }),
    });
    if (signedPrekey) {
      await retireSignedPrekeys(store, signedPrekey.keyId, now);
      await store.set(StoreKeys.currentSignedPrekey, JSON.stringify({ keyId: signedPrekey.keyId, createdAt: now }));
    }
  }
  await forgetExpiredSignedPrekeys(store, now, policy);
}

/**
 * The signed prekey pair `keyId`, or null when it is unknown or was retired more than
 * `policy.graceMs` ago (a first message that old is refused).
 */
export async function loadSignedPrekey(store: KeyStore, keyId: number, now: number, policy: PrekeyPolicy): Promise<KeyPair | null> {
  const record = parseJson(SignedRecord, await store.get(StoreKeys.signedPrekey(keyId)));
  if (!record || (record.retiredAt !== null && now - record.retiredAt > policy.graceMs)) return null;
  return keyPairFromSecret(record.secretKey);
}

export async function loadOneTimePrekey(store: KeyStore, keyId: number): Promise<KeyPair | null> {
  const saved = await store.get(StoreKeys.oneTimePrekey(keyId));
  if (saved === undefined || !v.safeParse(Secret32, saved).success) return null;
  return keyPairFromSecret(saved);
}

/** Marks every signed prekey but `keep` as retired now: each still opens first messages for the grace period. */
async function retireSignedPrekeys(store: KeyStore, keep: number, now: number): Promise<void> {
  for (const key of await store.list(StoreKeys.signedPrekeyPrefix)) {
    if (key === StoreKeys.signedPrekey(keep)) continue;
    const record = parseJson(SignedRecord, await store.get(key));
    if (record && record.retiredAt === null) await store.set(key, JSON.stringify({ ...record, retiredAt: now }));
  }
}

async function forgetExpiredSignedPrekeys(store: KeyStore, now: number, policy: PrekeyPolicy): Promise<void> {
  for (const key of await store.list(StoreKeys.signedPrekeyPrefix)) {
    const record = parseJson(SignedRecord, await store.get(key));
    // Wiping the secret is what makes first messages under it undecryptable: forward secrecy.
    if (!record || (record.retiredAt !== null && now - record.retiredAt > policy.graceMs)) {
      await store.delete(key);
      // Headers answered under it can no longer open a session: no need to remember them.
      const keyId = Number(key.slice(StoreKeys.signedPrekeyPrefix.length));
      for (const used of await store.list(StoreKeys.usedBaseKeyPrefix(keyId))) await store.delete(used);
    }
  }
}

function keyPairFromSecret(secret: string): KeyPair {
  const pair = nacl.box.keyPair.fromSecretKey(fromBase64Url(secret));
  return { publicKey: pair.publicKey, secretKey: pair.secretKey };
}

function parseJson<T>(schema: v.GenericSchema<unknown, T>, saved: string | undefined): T | undefined {
  if (saved === undefined) return undefined;
  try {
    const parsed = v.safeParse(schema, JSON.parse(saved));
    return parsed.success ? parsed.output : undefined;
  } catch {
    return undefined;
  }
}

/** Reserves `n` consecutive key ids; the counter is saved first so ids are never reused. */
async function allocateKeyIds(store: KeyStore, n: number): Promise<number> {
  const saved = Number(await store.get(StoreKeys.nextPrekeyId));
  const first = Number.isInteger(saved) && saved >= 0 && saved < KEY_ID_SPACE ? saved : 0;
  await store.set(StoreKeys.nextPrekeyId, String((first + n) % KEY_ID_SPACE));
  return first;
}
