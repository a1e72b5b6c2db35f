import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import type naclType from 'tweetnacl';
import { loadFastNacl, withNodeCrypto } from '../support/fast-nacl';

/**
 * The suites' tweetnacl answers Ed25519, X25519 and SHA-512 through node:crypto (test/setup-nacl.ts): it must give
 * exactly tweetnacl's bytes and verdicts, or a test could pass here and fail with the tweetnacl the SDK ships.
 */
const plain = loadFastNacl() as typeof naclType;
const fast = withNodeCrypto(loadFastNacl() as typeof naclType);
const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n });
/** The order of the Ed25519 group, little-endian: S + L is a second encoding of S that tweetnacl accepts. */
const L = Buffer.from('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010', 'hex');

function addL(signature: Uint8Array): Uint8Array {
  const out = new Uint8Array(signature);
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = out[32 + i]! + L[i]! + carry;
    out[32 + i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
}

describe('the test suites’ tweetnacl, accelerated by node:crypto', () => {
  it('derives, signs and verifies as tweetnacl does, tampered and non-canonical signatures included', () => {
    fc.assert(
      fc.property(bytes(32), fc.uint8Array({ maxLength: 300 }), fc.nat(511), (seed, message, flip) => {
        const a = plain.sign.keyPair.fromSeed(seed);
        const b = fast.sign.keyPair.fromSeed(seed);
        expect(b).toEqual(a);
        const signature = fast.sign.detached(message, b.secretKey);
        expect(signature).toEqual(plain.sign.detached(message, a.secretKey));
        expect(fast.sign.detached.verify(message, signature, b.publicKey)).toBe(true);
        const tampered = new Uint8Array(signature);
        tampered[flip % 64]! ^= 1 << (flip % 8);
        expect(fast.sign.detached.verify(message, tampered, b.publicKey)).toBe(plain.sign.detached.verify(message, tampered, a.publicKey));
        const malleated = addL(signature);
        expect(fast.sign.detached.verify(message, malleated, b.publicKey)).toBe(plain.sign.detached.verify(message, malleated, a.publicKey));
      }),
      { numRuns: 20 },
    );
  });

  it('agrees on X25519, its base point and box key pairs, low-order points included', () => {
    const lowOrder = [new Uint8Array(32), Uint8Array.from([1, ...new Array(31).fill(0)])];
    fc.assert(
      fc.property(bytes(32), bytes(32), (n, p) => {
        expect(fast.scalarMult(n, p)).toEqual(plain.scalarMult(n, p));
        expect(fast.scalarMult.base(n)).toEqual(plain.scalarMult.base(n));
        expect(fast.box.keyPair.fromSecretKey(n)).toEqual(plain.box.keyPair.fromSecretKey(n));
        for (const point of lowOrder) expect(fast.scalarMult(n, point)).toEqual(plain.scalarMult(n, point));
      }),
      { numRuns: 20 },
    );
  });

  it('hashes as tweetnacl does, and refuses what tweetnacl refuses with its errors', () => {
    const message = new Uint8Array(randomBytes(1000));
    expect(fast.hash(message)).toEqual(plain.hash(message));
    expect(fast.hash.hashLength).toBe(64);
    expect(fast.scalarMult.scalarLength).toBe(32);
    expect(typeof fast.sign.keyPair.fromSecretKey).toBe('function');
    const keys = fast.sign.keyPair();
    const wrongSize = new Uint8Array(31);
    expect(() => fast.sign.detached(message, wrongSize)).toThrow(/bad secret key size/);
    expect(() => fast.sign.detached.verify(message, new Uint8Array(63), keys.publicKey)).toThrow(/bad signature size/);
    expect(() => fast.scalarMult(wrongSize, wrongSize)).toThrow();
    expect(() => fast.hash('text' as unknown as Uint8Array)).toThrow(TypeError);
    expect(() => fast.box.keyPair.fromSecretKey(wrongSize)).toThrow(/bad secret key size/);
  });
});
