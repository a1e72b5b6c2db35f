import nacl from 'tweetnacl';
import { initInitiator, initResponder, ratchetDecrypt, ratchetEncrypt, type RatchetState } from '../client-sdk/src/crypto/ratchet';
import { generateKeyPair } from '../client-sdk/src/crypto/x25519';
import { x3dhInitiate, x3dhRespond, type KeyPair, type RemoteBundle } from '../client-sdk/src/crypto/x3dh';

/**
 * The SDK's session crypto beside the raw tweetnacl primitives it is built from, in one process:
 * a ratio near 1 means the protocol code adds little over the primitives it must call.
 */
export interface CryptoResult {
  /** X3DH on both sides plus both ratchet inits, per second (with a one-time prekey). */
  readonly sessionSetupPerSecond: number;
  /** One 1 KiB message encrypted by Alice and decrypted by Bob on a steady chain, per second. */
  readonly steadyChainPerSecond: number;
  readonly primitives: {
    readonly scalarMultPerSecond: number;
    /** nacl.secretbox of 1 KiB. */
    readonly secretboxPerSecond1k: number;
    /** The two nacl.hash calls of an HMAC-SHA-512 over 32 bytes. */
    readonly hmacPerSecond: number;
    /** The two nacl.hash calls of an HMAC-SHA-512 over a sealed 1 KiB message and its AD. */
    readonly hmacPerSecond1k: number;
  };
  /** Measured ops/s ÷ ops/s predicted from the primitives each op performs (≤ 1). */
  readonly ratios: { readonly setupVsPrimitives: number; readonly steadyVsPrimitives: number };
  /** What one op performs, as counted by wrapping tweetnacl during a dry run. */
  readonly perOp: {
    readonly setup: { scalarMults: number; hmacs: number };
    readonly steady: { shortHmacs: number; longHmacs: number; secretboxes: number };
  };
}

const MESSAGE_BYTES = 1024;
/** The ratchet's AD: both identity keys. */
const AD_BYTES = 2 * nacl.box.publicKeyLength;
/** SHA-512's block size: an HMAC hashes key-block ‖ data, then key-block ‖ inner hash. */
const HMAC_BLOCK = 128;
/** 32 + 32 + 24 bytes of AEAD keys from HKDF-SHA-512 need two expand blocks. */
const AEAD_HKDF_HMACS = 1 + 2;

/**
 * `seconds` is the whole budget, shared evenly by the six measurements. Call as
 * `await measureCrypto({ seconds: 6 })` (e.g. from bench/run.ts, or `npx tsx -e` on this module).
 */
export async function measureCrypto(options: { seconds: number }): Promise<CryptoResult> {
  const slice = options.seconds / 6;
  const perOp = countPrimitives();

  // --- the primitives, raw tweetnacl
  const a = nacl.box.keyPair();
  const b = nacl.box.keyPair();
  const scalarMultPerSecond = await rate(slice, () => nacl.scalarMult(a.secretKey, b.publicKey));
  const message = nacl.randomBytes(MESSAGE_BYTES);
  const key = nacl.randomBytes(nacl.secretbox.keyLength);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const secretboxPerSecond1k = await rate(slice, () => nacl.secretbox(message, nonce, key));
  const hmacPerSecond = await rate(slice, hashPair(32));
  // The tag covers u32 ‖ AD ‖ header ‖ box: about 1 KiB plus the fixed parts.
  const tagInput = 4 + AD_BYTES + 40 + MESSAGE_BYTES + nacl.secretbox.overheadLength;
  const hmacPerSecond1k = await rate(slice, hashPair(tagInput));

  // --- the protocol
  const bob = { identity: generateKeyPair(), signedPrekey: generateKeyPair(), oneTimePrekey: generateKeyPair() };
  const alice = generateKeyPair();
  const sessionSetupPerSecond = await rate(slice, () => setUpSession(alice, bob));

  const session = setUpSession(alice, bob);
  const ad = session.ad;
  let sender = session.alice;
  let receiver = session.bob;
  const steadyChainPerSecond = await rate(slice, () => {
    const sent = ratchetEncrypt(sender, message, ad);
    const got = ratchetDecrypt(receiver, sent.header, sent.ciphertext, ad);
    if (got === null) throw new Error('bench: steady chain failed to decrypt');
    sender = sent.state;
    receiver = got.state;
  });

  const predictedSetup = 1 / (perOp.setup.scalarMults / scalarMultPerSecond + perOp.setup.hmacs / hmacPerSecond);
  const predictedSteady =
    1 /
    (perOp.steady.shortHmacs / hmacPerSecond + perOp.steady.longHmacs / hmacPerSecond1k + perOp.steady.secretboxes / secretboxPerSecond1k);
  return {
    sessionSetupPerSecond,
    steadyChainPerSecond,
    primitives: { scalarMultPerSecond, secretboxPerSecond1k, hmacPerSecond, hmacPerSecond1k },
    ratios: { setupVsPrimitives: sessionSetupPerSecond / predictedSetup, steadyVsPrimitives: steadyChainPerSecond / predictedSteady },
    perOp,
  };
}

function setUpSession(alice: KeyPair, bob: { identity: KeyPair; signedPrekey: KeyPair; oneTimePrekey: KeyPair }) {
  const bundle: RemoteBundle = {
    identityKey: bob.identity.publicKey,
    signedPrekey: { keyId: 1, publicKey: bob.signedPrekey.publicKey },
    oneTimePrekey: { keyId: 2, publicKey: bob.oneTimePrekey.publicKey },
  };
  const init = x3dhInitiate(alice, bundle);
  const resp = x3dhRespond(bob.identity, bob.signedPrekey, bob.oneTimePrekey, {
    identityKey: alice.publicKey,
    ephemeralKey: init.ephemeralKey,
    signedPrekeyId: init.signedPrekeyId,
    oneTimePrekeyId: init.oneTimePrekeyId,
  });
  return {
    alice: initInitiator(init.sharedSecret, bob.signedPrekey.publicKey),
    bob: initResponder(resp.sharedSecret, bob.signedPrekey),
    ad: init.associatedData,
  };
}

/** The raw cost of HMAC-SHA-512 over `dataLength` bytes: its inner and outer nacl.hash calls. */
function hashPair(dataLength: number): () => void {
  const inner = nacl.randomBytes(HMAC_BLOCK + dataLength);
  const outer = nacl.randomBytes(HMAC_BLOCK + nacl.hash.hashLength);
  return () => {
    nacl.hash(inner);
    nacl.hash(outer);
  };
}

/**
 * Counts the tweetnacl calls one session setup and one steady-chain message make, by wrapping
 * the library's functions for a dry run. Each HMAC is two nacl.hash calls; a hash over more than
 * 1 KiB is one of the tag's.
 */
function countPrimitives(): CryptoResult['perOp'] {
  const lib = nacl as unknown as { hash: typeof nacl.hash; scalarMult: typeof nacl.scalarMult; secretbox: typeof nacl.secretbox; box: typeof nacl.box };
  const original = { hash: lib.hash, scalarMult: lib.scalarMult, secretbox: lib.secretbox, open: lib.secretbox.open, keyPair: lib.box.keyPair };
  let shortHashes = 0;
  let longHashes = 0;
  let scalarMults = 0;
  let secretboxes = 0;
  const hash = Object.assign((m: Uint8Array) => {
    if (m.length > MESSAGE_BYTES) longHashes++;
    else shortHashes++;
    return original.hash(m);
  }, original.hash);
  const scalarMult = Object.assign((n: Uint8Array, p: Uint8Array) => {
    scalarMults++;
    return original.scalarMult(n, p);
  }, original.scalarMult);
  const secretbox = Object.assign(
    (m: Uint8Array, n: Uint8Array, k: Uint8Array) => {
      secretboxes++;
      return original.secretbox(m, n, k);
    },
    original.secretbox,
    {
      open: (c: Uint8Array, n: Uint8Array, k: Uint8Array) => {
        secretboxes++;
        return original.open(c, n, k);
      },
    },
  );
  const keyPair = Object.assign(() => {
    scalarMults++; // scalarMult.base inside box.keyPair
    return original.keyPair();
  }, original.keyPair);
  lib.hash = hash;
  lib.scalarMult = scalarMult;
  lib.secretbox = secretbox;
  lib.box.keyPair = keyPair;
  try {
    const bob = { identity: original.keyPair(), signedPrekey: original.keyPair(), oneTimePrekey: original.keyPair() };
    const alice = original.keyPair();
    const session = setUpSession(alice, bob);
    const setup = { scalarMults, hmacs: (shortHashes + longHashes) / 2 };
    // Warm the chain first so the counted message is a steady one.
    const first = ratchetEncrypt(session.alice, new Uint8Array(MESSAGE_BYTES), session.ad);
    const bobState: RatchetState = ratchetDecrypt(session.bob, first.header, first.ciphertext, session.ad)!.state;
    shortHashes = longHashes = secretboxes = 0;
    const sent = ratchetEncrypt(first.state, new Uint8Array(MESSAGE_BYTES), session.ad);
    ratchetDecrypt(bobState, sent.header, sent.ciphertext, session.ad);
    // The long hash is the tag's inner one; its outer hash is short, so it counts as a long HMAC.
    const steady = { shortHmacs: (shortHashes - longHashes) / 2, longHmacs: longHashes, secretboxes };
    if (steady.shortHmacs !== 2 * (2 + AEAD_HKDF_HMACS)) throw new Error('bench: unexpected HMAC count per message');
    return { setup, steady };
  } finally {
    lib.hash = original.hash;
    lib.scalarMult = original.scalarMult;
    lib.secretbox = original.secretbox;
    lib.box.keyPair = original.keyPair;
  }
}

/** Calls per second of `op`, run for `seconds` after a short warm-up, yielding to the event loop between batches. */
async function rate(seconds: number, op: () => unknown): Promise<number> {
  const warmUntil = performance.now() + Math.min(200, seconds * 100);
  while (performance.now() < warmUntil) op();
  let calls = 0;
  let batch = 1;
  const started = performance.now();
  const deadline = started + seconds * 1000;
  for (;;) {
    for (let i = 0; i < batch; i++) op();
    calls += batch;
    const now = performance.now();
    if (now >= deadline) return (calls * 1000) / (now - started);
    if (now - started < 50) batch *= 2;
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
