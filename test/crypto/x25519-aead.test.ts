import fc from 'fast-check';
import nacl from 'tweetnacl';
import { AEAD_OVERHEAD, aeadOpen, aeadSeal } from '../../client-sdk/src/crypto/aead';
import { concatBytes, equalBytes, readU32be, u32be } from '../../client-sdk/src/crypto/bytes';
import { generateKeyPair, x25519 } from '../../client-sdk/src/crypto/x25519';

const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('bytes', () => {
  it('round-trips u32 big-endian at the edges', () => {
    for (const n of [0, 1, 0x12345678, 0xffffffff]) expect(readU32be(concatBytes(new Uint8Array([9]), u32be(n)), 1)).toBe(n);
    expect(u32be(0x01020304)).toEqual(new Uint8Array([1, 2, 3, 4]));
    expect(() => u32be(-1)).toThrow(TypeError);
    expect(() => u32be(2 ** 32)).toThrow(TypeError);
    expect(() => readU32be(new Uint8Array(5), 2)).toThrow(RangeError);
  });

  it('compares bytes', () => {
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(equalBytes(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
  });
});

describe('x25519', () => {
  it('agrees with nacl.box.before for random key pairs', () => {
    fc.assert(
      fc.property(bytes32, bytes32, (seedA, seedB) => {
        const a = nacl.box.keyPair.fromSecretKey(seedA);
        const b = nacl.box.keyPair.fromSecretKey(seedB);
        const ab = x25519(a.secretKey, b.publicKey);
        expect(ab).toEqual(x25519(b.secretKey, a.publicKey));
        expect(ab).toEqual(nacl.scalarMult(a.secretKey, b.publicKey));
        // box.before is HSalsa20 over the same scalar multiplication.
        expect(nacl.box.before(b.publicKey, a.secretKey)).toEqual(hsalsa20(ab));
      }),
      { numRuns: 30 },
    );
  });

  it('rejects low-order public keys', () => {
    const { secretKey } = generateKeyPair();
    const zero = new Uint8Array(32);
    const one = new Uint8Array(32);
    one[0] = 1;
    // Order-8 point of Curve25519 (RFC 7748 §6.1 / cr.yp.to/ecdh.html#validate).
    const order8 = Uint8Array.from(Buffer.from('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', 'hex'));
    for (const point of [zero, one, order8]) expect(() => x25519(secretKey, point)).toThrow(new Error('x25519: low-order public key'));
  });

  it('throws TypeError naming the argument on a wrong length', () => {
    const { secretKey, publicKey } = generateKeyPair();
    expect(() => x25519(secretKey.subarray(1), publicKey)).toThrow(new TypeError('secretKey: expected 32 bytes'));
    expect(() => x25519(secretKey, new Uint8Array(33))).toThrow(new TypeError('publicKey: expected 32 bytes'));
  });
});

/** nacl.box.before(pk, sk) = HSalsa20(key = scalarMult(sk, pk), input = 16 zero bytes). */
function hsalsa20(shared: Uint8Array): Uint8Array {
  const out = new Uint8Array(32);
  const sigma = new TextEncoder().encode('expand 32-byte k');
  const lowlevel = (nacl as unknown as { lowlevel: { crypto_core_hsalsa20(o: Uint8Array, i: Uint8Array, k: Uint8Array, c: Uint8Array): void } })
    .lowlevel;
  lowlevel.crypto_core_hsalsa20(out, new Uint8Array(16), shared, sigma);
  return out;
}

describe('aead', () => {
  const key = nacl.randomBytes(32);

  it('round-trips and adds AEAD_OVERHEAD bytes', () => {
    fc.assert(
      fc.property(bytes32, fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 100 }), (k, pt, ad) => {
        const sealed = aeadSeal(k, pt, ad);
        expect(sealed).toHaveLength(pt.length + AEAD_OVERHEAD);
        expect(aeadOpen(k, sealed, ad)).toEqual(pt);
      }),
      { numRuns: 100 },
    );
  });

  it('returns null for any flipped bit in the sealed bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ maxLength: 50 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (pt, ad, at, bit) => {
          const sealed = aeadSeal(key, pt, ad);
          sealed[at % sealed.length]! ^= 1 << bit;
          expect(aeadOpen(key, sealed, ad)).toBeNull();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('returns null for any flipped bit in the associated data, or AD moved into the box', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.uint8Array({ minLength: 1, maxLength: 50 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (pt, ad, at, bit) => {
          const sealed = aeadSeal(key, pt, ad);
          const forged = ad.slice();
          forged[at % forged.length]! ^= 1 << bit;
          expect(aeadOpen(key, sealed, forged)).toBeNull();
          expect(aeadOpen(key, sealed, ad.subarray(1))).toBeNull();
        },
      ),
      { numRuns: 100 },
    );
  });

  it('returns null for a wrong key, a truncated or empty input', () => {
    const sealed = aeadSeal(key, new Uint8Array([1, 2, 3]), new Uint8Array(0));
    expect(aeadOpen(nacl.randomBytes(32), sealed, new Uint8Array(0))).toBeNull();
    expect(aeadOpen(key, sealed.subarray(0, sealed.length - 1), new Uint8Array(0))).toBeNull();
    expect(aeadOpen(key, new Uint8Array(0), new Uint8Array(0))).toBeNull();
  });

  it('is deterministic per key (one message per key) and throws on a wrong key length', () => {
    const pt = new Uint8Array([5]);
    expect(aeadSeal(key, pt, pt)).toEqual(aeadSeal(key, pt, pt));
    expect(() => aeadSeal(key.subarray(1), pt, pt)).toThrow(new TypeError('key: expected 32 bytes'));
    expect(() => aeadOpen(new Uint8Array(64), pt, pt)).toThrow(new TypeError('key: expected 32 bytes'));
  });
});
