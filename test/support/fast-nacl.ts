import { createHash, createPrivateKey, createPublicKey, diffieHellman, type KeyObject, sign as nodeSign, verify as nodeVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';

/**
 * tweetnacl, unchanged, but evaluated with the globals it uses in hot loops bound as parameters.
 * Jest runs tests in a vm context where every global lookup is slow, and tweetnacl looks up
 * `Float64Array` on each field element it allocates: without this, key generation and signing
 * run ~15x slower under jest than in Node or a browser. Use from a test file with
 * `jest.mock('tweetnacl', …)` in test/setup-nacl.ts, for every suite.
 */
export function loadFastNacl(): unknown {
  const source = readFileSync(require.resolve('tweetnacl/nacl-fast.js'), 'utf8');
  const factory = new Function('module', 'exports', 'require', 'Float64Array', 'Uint8Array', 'Int32Array', 'Uint32Array', 'Math', source);
  const module = { exports: {} };
  factory(module, module.exports, require, Float64Array, Uint8Array, Int32Array, Uint32Array, Math);
  return module.exports;
}

type Bytes = Uint8Array;
interface Nacl {
  sign: { detached: ((m: Bytes, sk: Bytes) => Bytes) & { verify: (m: Bytes, s: Bytes, pk: Bytes) => boolean } } & {
    keyPair: (() => { publicKey: Bytes; secretKey: Bytes }) & { fromSeed: (seed: Bytes) => { publicKey: Bytes; secretKey: Bytes } };
  };
  scalarMult: ((n: Bytes, p: Bytes) => Bytes) & { base: (n: Bytes) => Bytes };
  box: { keyPair: (() => { publicKey: Bytes; secretKey: Bytes }) & { fromSecretKey: (sk: Bytes) => { publicKey: Bytes; secretKey: Bytes } } };
  hash: (m: Bytes) => Bytes;
  randomBytes: (n: number) => Bytes;
}

const ED25519_PKCS8 = Buffer.from('302e020100300506032b657004220420', 'hex');
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');
const X25519_PKCS8 = Buffer.from('302e020100300506032b656e04220420', 'hex');
const X25519_SPKI = Buffer.from('302a300506032b656e032100', 'hex');
type Curve = 'Ed25519' | 'X25519';
const PKCS8: Record<Curve, Buffer> = { Ed25519: ED25519_PKCS8, X25519: X25519_PKCS8 };
const SPKI: Record<Curve, Buffer> = { Ed25519: ED25519_SPKI, X25519: X25519_SPKI };

/**
 * Raw keys in and out as JWK rather than DER: OpenSSL 3 decodes a DER key ~10× slower than Node.js builds one
 * from a JWK's bytes (~1 ms against ~0.1 ms a private key, on a loaded CI machine), and the suites create
 * thousands. A private JWK needs its public `x`, which is what is being computed: Node.js builds the key from
 * `d` alone and only checks that `x` is a string, so a placeholder serves. `JWK_IMPORT` checks that once, on
 * both curves, against the DER path; where it does not hold (another Node.js), every key goes through DER.
 */
const PLACEHOLDER_X = 'A'.repeat(43);
const jwkPrivate = (crv: Curve, seed: Uint8Array): KeyObject =>
  createPrivateKey({ key: { kty: 'OKP', crv, d: Buffer.from(seed).toString('base64url'), x: PLACEHOLDER_X }, format: 'jwk' });
const derPrivate = (crv: Curve, seed: Uint8Array): KeyObject =>
  createPrivateKey({ key: Buffer.concat([PKCS8[crv], seed]), format: 'der', type: 'pkcs8' });
const jwkPublicBytes = (key: KeyObject): Buffer => Buffer.from(createPublicKey(key).export({ format: 'jwk' }).x!, 'base64url');
const JWK_IMPORT = (['Ed25519', 'X25519'] as const).every((crv) => {
  const seed = Buffer.alloc(32, 7);
  try {
    const spki = createPublicKey(derPrivate(crv, seed)).export({ format: 'der', type: 'spki' }).subarray(-32);
    return jwkPublicBytes(jwkPrivate(crv, seed)).equals(spki);
  } catch {
    return false;
  }
});
const importPrivate = JWK_IMPORT ? jwkPrivate : derPrivate;
const importPublic = (crv: Curve, raw: Uint8Array): KeyObject =>
  JWK_IMPORT
    ? createPublicKey({ key: { kty: 'OKP', crv, x: Buffer.from(raw).toString('base64url') }, format: 'jwk' })
    : createPublicKey({ key: Buffer.concat([SPKI[crv], raw]), format: 'der', type: 'spki' });
/** The raw public half of a private key. */
const publicBytes = (key: KeyObject): Buffer =>
  JWK_IMPORT ? jwkPublicBytes(key) : createPublicKey(key).export({ format: 'der', type: 'spki' }).subarray(-32);

/**
 * The same tweetnacl with its Ed25519, X25519 and SHA-512 entry points answered by node:crypto (OpenSSL), which
 * computes the same bytes ~50× faster: Ed25519 signatures are deterministic (RFC 8032), X25519 clamps and masks as
 * tweetnacl does (RFC 7748). Where the two could differ, tweetnacl answers: wrong sizes (its own errors), a
 * signature OpenSSL refuses (tweetnacl accepts some OpenSSL refuses, e.g. S ≥ L), a secret key whose public half
 * is not its seed's, and an X25519 result OpenSSL refuses (all zeros, from a low-order point). The SDK ships
 * tweetnacl; the crypto tests of the SDK's own constructions pass with either, and `bench/` always runs tweetnacl.
 */
export function withNodeCrypto<T>(loaded: T): T {
  const nacl = loaded as unknown as Nacl;
  const original = {
    boxFromSecretKey: nacl.box.keyPair.fromSecretKey,
    sign: nacl.sign.detached,
    verify: nacl.sign.detached.verify,
    fromSeed: nacl.sign.keyPair.fromSeed,
    scalarMult: nacl.scalarMult,
    base: nacl.scalarMult.base,
    hash: nacl.hash,
  };
  // tweetnacl's own type check (`instanceof` this realm's Uint8Array): anything else gets tweetnacl's TypeError.
  const isBytes = (value: unknown): value is Bytes => value instanceof Uint8Array;
  const bytes = (b: Buffer) => new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  const edPrivate = new Map<string, KeyObject>();
  const edPublic = new Map<string, KeyObject>();
  const edPublicOf = (seed: Bytes): Bytes => bytes(publicBytes(importPrivate('Ed25519', seed)));
  const sign = (message: Bytes, secretKey: Bytes): Bytes => {
    if (!isBytes(message) || !isBytes(secretKey) || secretKey.length !== 64) return original.sign(message, secretKey);
    const id = Buffer.from(secretKey).toString('base64');
    let key = edPrivate.get(id);
    if (!key) {
      key = importPrivate('Ed25519', secretKey.subarray(0, 32));
      // tweetnacl hashes the stored public half, not the seed's: a mismatched key signs as tweetnacl does.
      if (!publicBytes(key).equals(secretKey.subarray(32))) return original.sign(message, secretKey);
      if (edPrivate.size > 10_000) edPrivate.clear();
      edPrivate.set(id, key);
    }
    return bytes(nodeSign(null, message, key));
  };
  const verify = (message: Bytes, signature: Bytes, publicKey: Bytes): boolean => {
    if (!isBytes(message) || !isBytes(signature) || !isBytes(publicKey) || signature.length !== 64 || publicKey.length !== 32) {
      return original.verify(message, signature, publicKey);
    }
    const id = Buffer.from(publicKey).toString('base64');
    let key = edPublic.get(id);
    if (!key) {
      try {
        key = importPublic('Ed25519', publicKey);
      } catch {
        return original.verify(message, signature, publicKey);
      }
      if (edPublic.size > 10_000) edPublic.clear();
      edPublic.set(id, key);
    }
    return nodeVerify(null, message, key, signature) || original.verify(message, signature, publicKey);
  };
  const scalarMult = (n: Bytes, p: Bytes): Bytes => {
    if (!isBytes(n) || !isBytes(p) || n.length !== 32 || p.length !== 32) return original.scalarMult(n, p);
    try {
      return bytes(
        diffieHellman({
          privateKey: importPrivate('X25519', n),
          publicKey: importPublic('X25519', p),
        }),
      );
    } catch {
      return original.scalarMult(n, p);
    }
  };
  const base = (n: Bytes): Bytes => {
    if (!isBytes(n) || n.length !== 32) return original.base(n);
    return bytes(publicBytes(importPrivate('X25519', n)));
  };
  const fromSeed = (seed: Bytes) => {
    if (!isBytes(seed) || seed.length !== 32) return original.fromSeed(seed);
    const publicKey = edPublicOf(seed);
    const secretKey = new Uint8Array(64);
    secretKey.set(seed);
    secretKey.set(publicKey, 32);
    return { publicKey, secretKey };
  };
  const boxFromSecretKey = (secretKey: Bytes) => {
    if (!isBytes(secretKey) || secretKey.length !== 32) return original.boxFromSecretKey(secretKey);
    return { publicKey: base(secretKey), secretKey: new Uint8Array(secretKey) };
  };

  const hash = (message: Bytes): Bytes => (isBytes(message) ? bytes(createHash('sha512').update(message).digest()) : original.hash(message));

  // Each replacement keeps the properties of the function it replaces (lengths, `fromSecretKey`, …).
  nacl.sign.detached = Object.assign(sign, nacl.sign.detached, { verify });
  // tweetnacl's own randomness (its PRNG, as `setPRNG` left it), not the property a caller may wrap to count calls.
  const random = nacl.randomBytes;
  nacl.sign.keyPair = Object.assign(() => fromSeed(random(32)), nacl.sign.keyPair, { fromSeed });
  nacl.scalarMult = Object.assign(scalarMult, nacl.scalarMult, { base });
  nacl.box.keyPair = Object.assign(() => boxFromSecretKey(random(32)), nacl.box.keyPair, { fromSecretKey: boxFromSecretKey });
  nacl.hash = Object.assign(hash, nacl.hash);
  return loaded;
}
