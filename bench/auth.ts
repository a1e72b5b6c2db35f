import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import nacl from 'tweetnacl';
import { silentLogger } from '../lambdas/adapters/logger';
import { MemoryAccounts, MemoryNonces, MemoryRateLimiter } from '../lambdas/adapters/memory';
import { authorizeConnect } from '../lambdas/core/connect';
import { verifyEd25519 } from '../lambdas/core/signatures';
import { DEFAULT_CONFIG } from '../protocol/config-defaults';
import { connectMessage, connectQuery, USER_ID_HASH_BYTES } from '../protocol/connect';
import { interleavedRates } from './measure';

export interface AuthResult {
  /** lambdas/core/signatures.ts verifyEd25519 (node:crypto, key object cached) per second. */
  readonly nodeVerifyPerSecond: number;
  /** tweetnacl's nacl.sign.detached.verify on the same inputs. */
  readonly naclVerifyPerSecond: number;
  readonly nodeVsNacl: number;
  /**
   * The whole authorizeConnect (schema parse, skew check, account read, signature, nonce claim) over
   * in-memory ports — everything but DynamoDB — per second, cycling through more users than the key cache holds.
   */
  readonly authorizeConnectPerSecond: number;
  readonly authorizeVsNaclVerify: number;
}

const USERS = 2048;

/** The host the benchmark's connects are signed for and arrive at. */
const BENCH_HOST = 'bench.ebb.test';

/** Connect authentication as the `$connect` authorizer performs it. */
export async function measureAuth(options: { seconds: number }): Promise<AuthResult> {
  const now = Date.now();
  const accounts = new MemoryAccounts();
  const users = Array.from({ length: USERS }, () => {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const raw = new Uint8Array(Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url'));
    const uid = createHash('sha512').update(raw).digest().subarray(0, USER_ID_HASH_BYTES).toString('base64url');
    return { uid, raw, privateKey };
  });
  for (const u of users) {
    await accounts.create({
      userId: u.uid,
      signingKey: Buffer.from(u.raw).toString('base64url'),
      identityKey: '',
      identitySig: '',
      devices: [1],
      createdAt: now,
    });
  }

  // One user's signature, verified by both libraries.
  const message = new TextEncoder().encode(connectMessage({ host: BENCH_HOST, uid: users[0]!.uid, dev: 1, ts: now, nonce: 'n' }));
  const signature = new Uint8Array(sign(null, message, users[0]!.privateKey));
  const key = users[0]!.raw;
  if (!verifyEd25519(key, message, signature) || !nacl.sign.detached.verify(message, signature, key))
    throw new Error('bench: signature does not verify');
  const verify = interleavedRates(
    options.seconds / 2,
    () => verifyEd25519(key, message, signature),
    () => nacl.sign.detached.verify(message, signature, key),
    100,
  );

  // Signed connect queries, each with a fresh nonce, for authorizeConnect.
  const queries = Array.from({ length: USERS }, (_, i) => {
    const u = users[i % USERS]!;
    const fields = { uid: u.uid, dev: 1, ts: now, nonce: randomBytes(16).toString('base64url') };
    const sig = sign(null, Buffer.from(connectMessage({ ...fields, host: BENCH_HOST }), 'utf8'), u.privateKey).toString('base64url');
    return Object.fromEntries(new URLSearchParams(connectQuery({ ...fields, sig })));
  });
  // No source address: the per-address buckets are DynamoDB round trips, measured elsewhere.
  const ports = {
    accounts,
    nonces: new MemoryNonces(),
    rateLimiter: new MemoryRateLimiter(),
    clock: { now: () => now },
    config: DEFAULT_CONFIG,
    logger: silentLogger,
  };
  // authorizeConnect is async (its ports are); in-memory ports resolve at once, so time it in batches.
  const started = performance.now();
  let calls = 0;
  while (performance.now() - started < (options.seconds / 2) * 1000) {
    ports.nonces = new MemoryNonces(); // every pass over the queries is a fresh nonce space
    for (const q of queries) {
      const decision = await authorizeConnect(ports, { query: q, host: BENCH_HOST });
      if (!decision.allow) throw new Error(`bench: authorizeConnect refused (${decision.reason})`);
      calls++;
    }
  }
  const authorizeConnectPerSecond = (calls * 1000) / (performance.now() - started);
  return {
    nodeVerifyPerSecond: verify.a,
    naclVerifyPerSecond: verify.b,
    nodeVsNacl: verify.a / verify.b,
    authorizeConnectPerSecond,
    authorizeVsNaclVerify: authorizeConnectPerSecond / verify.b,
  };
}
