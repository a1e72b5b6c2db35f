import { sha512 } from '@noble/hashes/sha2';
import nacl from 'tweetnacl';
import { initInitiator, initResponder, ratchetDecrypt, ratchetEncrypt, type RatchetState } from '../client-sdk/src/crypto/ratchet';
import {
  createSenderKey,
  senderKeyDecrypt,
  senderKeyDistribution,
  senderKeyEncrypt,
  stateFromDistribution,
} from '../client-sdk/src/crypto/sender-key';
import { generateKeyPair } from '../client-sdk/src/crypto/x25519';
import { x3dhInitiate, x3dhRespond, type KeyPair, type RemoteBundle } from '../client-sdk/src/crypto/x3dh';
import { interleavedRates } from './measure';

/**
 * The SDK's session crypto beside the raw primitives it is built from (tweetnacl: its HMAC-SHA-512 is two
 * `nacl.hash` calls, client-sdk/src/crypto/hmac.ts), in one process. For each protocol operation the exact primitive calls it makes
 * (kind and input length) are recorded
 * in a dry run, and a "replay" calls the same primitives on ready-made inputs of the same lengths.
 * Protocol and replay run in alternating slices; ratio = protocol ops/s ÷ replay ops/s (≤ 1), so
 * 1 − ratio is what the protocol code adds over the primitives it must call.
 */
export interface CryptoFigure {
  readonly perSecond: number;
  /** The same primitive calls, replayed raw. */
  readonly primitivesPerSecond: number;
  readonly ratio: number;
  readonly calls: PrimitiveCounts;
}

export interface PrimitiveCounts {
  /** HMAC-SHA-512 computations and the bytes they authenticated. */
  readonly hmac: number;
  readonly hmacBytes: number;
  readonly scalarMult: number;
  readonly keyPair: number;
  readonly secretbox: number;
  readonly secretboxOpen: number;
  /** Ed25519 signatures made and checked (nacl.sign.detached and its verify). */
  readonly sign: number;
  readonly verify: number;
  /** Draws from tweetnacl's CSPRNG (nacl.randomBytes). */
  readonly random: number;
}

export interface CryptoResult {
  /** X3DH on both sides plus both ratchet inits (with a one-time prekey). */
  readonly sessionSetup: CryptoFigure;
  /** One 1 KiB message encrypted by Alice and decrypted by Bob on a steady chain. */
  readonly steadyChain: CryptoFigure;
  /** One 1 KiB message whose decryption takes a DH-ratchet step (the direction changed). */
  readonly ratchetStepMessage: CryptoFigure;
  /** One 1 KiB group message encrypted and signed with a sender key, and verified and decrypted by one member. */
  readonly senderKeyMessage: CryptoFigure;
  /** What a DH-ratchet step adds to a message: 1/ratchetStepMessage − 1/steadyChain, in µs. */
  readonly dhRatchetStepMicros: number;
  /** The same for the replayed primitives: the floor the step could reach. */
  readonly dhRatchetStepPrimitivesMicros: number;
  readonly raw: {
    readonly scalarMultPerSecond: number;
    readonly secretbox1kPerSecond: number;
    readonly hash1kPerSecond: number;
    readonly naclHash1kPerSecond: number;
  };
}

const MESSAGE_BYTES = 1024;

/** `seconds` is the whole budget, shared by the measurements. */
export function measureCrypto(options: { seconds: number }): CryptoResult {
  const slice = options.seconds / 5;
  const message = nacl.randomBytes(MESSAGE_BYTES);

  const bob = { identity: generateKeyPair(), signedPrekey: generateKeyPair(), oneTimePrekey: generateKeyPair() };
  const alice = generateKeyPair();
  const setupOp = () => setUpSession(alice, bob);

  // Steady chain: Alice keeps sending, Bob keeps receiving.
  let steady = started(alice, bob, message);
  const steadyOp = () => {
    const sent = ratchetEncrypt(steady.sender, message, steady.ad);
    const got = ratchetDecrypt(steady.receiver, sent.header, sent.ciphertext, steady.ad);
    if (got === null) throw new Error('bench: steady chain failed to decrypt');
    steady = { ...steady, sender: sent.state, receiver: got.state };
  };

  // Ping-pong: every message answers the last, so every decryption takes a DH-ratchet step.
  let pingPong = started(alice, bob, message);
  const stepOp = () => {
    const sent = ratchetEncrypt(pingPong.sender, message, pingPong.ad);
    const got = ratchetDecrypt(pingPong.receiver, sent.header, sent.ciphertext, pingPong.ad);
    if (got === null) throw new Error('bench: ratchet step failed to decrypt');
    pingPong = { ad: pingPong.ad, sender: got.state, receiver: sent.state };
  };

  // Sender key: the owner keeps sending to the group, one member keeps reading.
  const groupOwner = createSenderKey();
  let group = { owner: groupOwner, member: stateFromDistribution(senderKeyDistribution(groupOwner)), ad: nacl.randomBytes(64) };
  const senderKeyOp = () => {
    const sent = senderKeyEncrypt(group.owner, message, group.ad);
    const got = senderKeyDecrypt(group.member, sent.message, group.ad);
    if (!got.ok) throw new Error('bench: sender-key message failed to decrypt');
    group = { ...group, owner: sent.state, member: got.state };
  };

  const sessionSetup = compareWithPrimitives(slice, setupOp);
  const steadyChain = compareWithPrimitives(slice, steadyOp);
  const ratchetStepMessage = compareWithPrimitives(slice, stepOp);
  const senderKeyMessage = compareWithPrimitives(slice, senderKeyOp);
  const raw = rawRates(slice);
  return {
    sessionSetup,
    steadyChain,
    ratchetStepMessage,
    senderKeyMessage,
    dhRatchetStepMicros: 1e6 / ratchetStepMessage.perSecond - 1e6 / steadyChain.perSecond,
    dhRatchetStepPrimitivesMicros: 1e6 / ratchetStepMessage.primitivesPerSecond - 1e6 / steadyChain.primitivesPerSecond,
    raw,
  };
}

type Session = { sender: RatchetState; receiver: RatchetState; ad: Uint8Array };

/** A session in which Bob has received once and answered once, so both chains exist. */
function started(alice: KeyPair, bob: Parameters<typeof setUpSession>[1], message: Uint8Array): Session {
  const s = setUpSession(alice, bob);
  const first = ratchetEncrypt(s.alice, message, s.ad);
  const bobGot = ratchetDecrypt(s.bob, first.header, first.ciphertext, s.ad)!;
  const reply = ratchetEncrypt(bobGot.state, message, s.ad);
  const aliceGot = ratchetDecrypt(first.state, reply.header, reply.ciphertext, s.ad)!;
  return { sender: aliceGot.state, receiver: reply.state, ad: s.ad };
}

/** The primitive calls one run of `op` makes, as a function that replays them raw (runs `op` twice to find them). */
export function primitivesReplay(op: () => unknown): () => void {
  op();
  return replayOf(record(op));
}

/** `op` beside the primitive calls it makes, replayed raw, in alternating slices over `seconds`. */
export function compareWithPrimitives(seconds: number, op: () => unknown): CryptoFigure {
  op(); // a first call outside the recording: lazy state settles
  const trace = record(op);
  const replay = replayOf(trace);
  const rates = interleavedRates(seconds, op, replay);
  return { perSecond: rates.a, primitivesPerSecond: rates.b, ratio: rates.a / rates.b, calls: countsOf(trace) };
}

export function setUpSession(alice: KeyPair, bob: { identity: KeyPair; signedPrekey: KeyPair; oneTimePrekey: KeyPair }) {
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

type Call =
  { kind: 'hmac' | 'hash' | 'secretbox' | 'secretboxOpen' | 'sign' | 'verify' | 'random'; bytes: number } | { kind: 'scalarMult' | 'keyPair' };

/** SHA-512's block: an HMAC's padded key is one, its outer hash one block and a digest. */
const HASH_BLOCK = 128;

/**
 * The primitive calls `op` makes, in order, found by wrapping the libraries' functions for one call.
 * An HMAC is a `nacl.hash` of (K ⊕ ipad) ‖ data followed by one of (K ⊕ opad) ‖ inner digest: it is counted
 * at that outer hash, with the bytes of its data; any other `nacl.hash` counts as a hash.
 */
function record(op: () => unknown): Call[] {
  const lib = nacl as unknown as {
    scalarMult: typeof nacl.scalarMult;
    secretbox: typeof nacl.secretbox;
    box: typeof nacl.box;
    sign: { detached: typeof nacl.sign.detached };
    randomBytes: typeof nacl.randomBytes;
    hash: typeof nacl.hash;
  };
  const original = {
    hash: lib.hash,
    scalarMult: lib.scalarMult,
    secretbox: lib.secretbox,
    keyPair: lib.box.keyPair,
    detached: lib.sign.detached,
    randomBytes: lib.randomBytes,
  };
  const calls: Call[] = [];
  let previous: Uint8Array | null = null;
  lib.hash = Object.assign((m: Uint8Array) => {
    const inner = previous;
    previous = m.slice();
    const outerOf = (pad: Uint8Array) => pad.every((b, i) => (b ^ 0x5c) === (inner![i]! ^ 0x36));
    if (inner !== null && inner.length >= HASH_BLOCK && m.length === HASH_BLOCK + nacl.hash.hashLength && outerOf(m.subarray(0, HASH_BLOCK))) {
      calls.pop();
      calls.push({ kind: 'hmac', bytes: inner.length - HASH_BLOCK });
      previous = null;
    } else calls.push({ kind: 'hash', bytes: m.length });
    return original.hash(m);
  }, original.hash);
  lib.scalarMult = Object.assign(
    (n: Uint8Array, p: Uint8Array) => (calls.push({ kind: 'scalarMult' }), original.scalarMult(n, p)),
    original.scalarMult,
  );
  lib.secretbox = Object.assign(
    (m: Uint8Array, n: Uint8Array, k: Uint8Array) => (calls.push({ kind: 'secretbox', bytes: m.length }), original.secretbox(m, n, k)),
    original.secretbox,
    {
      open: (c: Uint8Array, n: Uint8Array, k: Uint8Array) => (
        calls.push({ kind: 'secretboxOpen', bytes: c.length }),
        original.secretbox.open(c, n, k)
      ),
    },
  );
  lib.box.keyPair = Object.assign(() => (calls.push({ kind: 'keyPair' }), original.keyPair()), original.keyPair);
  // Only the detached forms: nacl.sign.detached calls nacl.sign itself, which would count twice.
  lib.sign.detached = Object.assign((m: Uint8Array, sk: Uint8Array) => (calls.push({ kind: 'sign', bytes: m.length }), original.detached(m, sk)), {
    verify: (m: Uint8Array, sig: Uint8Array, pk: Uint8Array) => (
      calls.push({ kind: 'verify', bytes: m.length }),
      original.detached.verify(m, sig, pk)
    ),
  });
  lib.randomBytes = (n: number) => (calls.push({ kind: 'random', bytes: n }), original.randomBytes(n));
  try {
    op();
  } finally {
    lib.hash = original.hash;
    lib.scalarMult = original.scalarMult;
    lib.secretbox = original.secretbox;
    lib.box.keyPair = original.keyPair;
    lib.sign.detached = original.detached;
    lib.randomBytes = original.randomBytes;
  }
  return calls;
}

/** The same primitive calls on prepared inputs: no protocol logic, no encoding, no allocation beyond tweetnacl's own. */
function replayOf(calls: readonly Call[]): () => void {
  const key = nacl.randomBytes(nacl.secretbox.keyLength);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const a = nacl.box.keyPair();
  const b = nacl.box.keyPair();
  const signer = nacl.sign.keyPair();
  const steps = calls.map((call): (() => unknown) => {
    switch (call.kind) {
      case 'hmac': {
        // Its two hashes: (K ⊕ ipad) ‖ data, then (K ⊕ opad) ‖ the inner digest.
        const inner = nacl.randomBytes(HASH_BLOCK + call.bytes);
        const outer = nacl.randomBytes(HASH_BLOCK + nacl.hash.hashLength);
        return () => (nacl.hash(inner), nacl.hash(outer));
      }
      case 'hash': {
        const input = nacl.randomBytes(call.bytes);
        return () => nacl.hash(input);
      }
      case 'secretbox': {
        const input = nacl.randomBytes(call.bytes);
        return () => nacl.secretbox(input, nonce, key);
      }
      case 'secretboxOpen': {
        // A genuine box, so open does the whole work (MAC check and decryption).
        const box = nacl.secretbox(nacl.randomBytes(call.bytes - nacl.secretbox.overheadLength), nonce, key);
        return () => nacl.secretbox.open(box, nonce, key);
      }
      case 'sign': {
        const input = nacl.randomBytes(call.bytes);
        return () => nacl.sign.detached(input, signer.secretKey);
      }
      case 'verify': {
        // A genuine signature, as the SDK checks one on every message it reads.
        const input = nacl.randomBytes(call.bytes);
        const signature = nacl.sign.detached(input, signer.secretKey);
        return () => nacl.sign.detached.verify(input, signature, signer.publicKey);
      }
      case 'random':
        return () => nacl.randomBytes(call.bytes);
      case 'scalarMult':
        return () => nacl.scalarMult(a.secretKey, b.publicKey);
      case 'keyPair':
        return () => nacl.box.keyPair();
    }
  });
  return () => {
    for (const step of steps) step();
  };
}

function countsOf(calls: readonly Call[]): PrimitiveCounts {
  const count = (kind: Call['kind']) => calls.filter((c) => c.kind === kind).length;
  return {
    hmac: count('hmac'),
    hmacBytes: calls.reduce((sum, c) => sum + (c.kind === 'hmac' ? c.bytes : 0), 0),
    scalarMult: count('scalarMult'),
    keyPair: count('keyPair'),
    secretbox: count('secretbox'),
    secretboxOpen: count('secretboxOpen'),
    sign: count('sign'),
    verify: count('verify'),
    random: count('random'),
  };
}

function rawRates(seconds: number): CryptoResult['raw'] {
  const a = nacl.box.keyPair();
  const b = nacl.box.keyPair();
  const m = nacl.randomBytes(MESSAGE_BYTES);
  const key = nacl.randomBytes(nacl.secretbox.keyLength);
  const nonce = nacl.randomBytes(nacl.secretbox.nonceLength);
  const first = interleavedRates(
    seconds / 2,
    () => nacl.scalarMult(a.secretKey, b.publicKey),
    () => nacl.secretbox(m, nonce, key),
  );
  // noble's SHA-512 (the SDK's HMAC used it until it moved to nacl.hash for the browser bundle) beside tweetnacl's.
  const hash = interleavedRates(
    seconds / 2,
    () => sha512(m),
    () => nacl.hash(m),
  );
  return { scalarMultPerSecond: first.a, secretbox1kPerSecond: first.b, hash1kPerSecond: hash.a, naclHash1kPerSecond: hash.b };
}
