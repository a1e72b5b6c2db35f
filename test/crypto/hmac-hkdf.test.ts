import fc from 'fast-check';
import { createHmac, hkdfSync } from 'node:crypto';
import { hkdfSha512 } from '../../client-sdk/src/crypto/hkdf';
import * as hmacModule from '../../client-sdk/src/crypto/hmac';
import { hmacSha512 } from '../../client-sdk/src/crypto/hmac';
import { hex, loadVectors, toHex } from './vectors';

interface HmacVector {
  testCase: number;
  key: string;
  data: string;
  hmacSha512: string;
}

interface HkdfVector {
  tcId: number;
  ikm: string;
  salt: string;
  info: string;
  size: number;
  okm: string;
  result?: 'valid' | 'invalid' | 'acceptable';
}

const hmacVectors = loadVectors<HmacVector>('hmac-sha512-rfc4231.json');
const hkdfVectors = loadVectors<HkdfVector>('hkdf-sha512.json');

describe('hmacSha512', () => {
  it('has the RFC 4231 vectors to check against', () => {
    expect(hmacVectors.tests.map((t) => t.testCase)).toEqual([1, 2, 3, 4, 6, 7]);
  });

  it.each(hmacVectors.tests.map((t) => [t.testCase, t] as const))('matches RFC 4231 test case %i', (_id, t) => {
    expect(toHex(hmacSha512(hex(t.key), hex(t.data)))).toBe(t.hmacSha512);
  });

  it('matches node:crypto for random keys (including longer than a block) and data', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.uint8Array({ maxLength: 300 }), (key, data) => {
        const expected = createHmac('sha512', key).update(data).digest('hex');
        expect(toHex(hmacSha512(key, data))).toBe(expected);
      }),
      { numRuns: 100 },
    );
  });

  it('MACs data given in parts as their concatenation, at and around the block-sized key', () => {
    for (const keyLength of [0, 127, 128, 129]) {
      const key = Uint8Array.from({ length: keyLength }, (_, i) => i);
      const parts = [new Uint8Array([1, 2]), new Uint8Array(0), new Uint8Array(200).fill(5)];
      const expected = createHmac('sha512', key).update(Buffer.concat(parts)).digest('hex');
      expect(toHex(hmacSha512(key, ...parts))).toBe(expected);
    }
  });

  it('leaves its inputs unchanged', () => {
    const key = new Uint8Array(200).fill(7);
    const data = new Uint8Array(10).fill(9);
    hmacSha512(key, data);
    expect(key.every((b) => b === 7) && data.every((b) => b === 9)).toBe(true);
  });
});

describe('hkdfSha512', () => {
  it('has the Wycheproof vectors to check against', () => {
    expect(hkdfVectors.tests).toHaveLength(20);
  });

  it.each(hkdfVectors.tests.map((t) => [t.tcId, t] as const))('matches Wycheproof tcId %i', (_id, t) => {
    const run = () => hkdfSha512(hex(t.ikm), hex(t.salt), hex(t.info), t.size);
    if (t.result === 'invalid') {
      expect(run).toThrow(TypeError);
    } else {
      expect(toHex(run())).toBe(t.okm);
    }
  });

  it('matches node:crypto hkdfSync for random inputs and lengths', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 100 }),
        fc.uint8Array({ maxLength: 150 }),
        fc.uint8Array({ maxLength: 100 }),
        fc.integer({ min: 1, max: 400 }),
        (ikm, salt, info, length) => {
          const expected = Buffer.from(hkdfSync('sha512', ikm, salt, info, length)).toString('hex');
          expect(toHex(hkdfSha512(ikm, salt, info, length))).toBe(expected);
        },
      ),
      { numRuns: 60 },
    );
  });

  it('reaches the RFC 5869 maximum length and refuses more', () => {
    const max = 255 * 64;
    const ikm = new Uint8Array(16).fill(1);
    const expected = Buffer.from(hkdfSync('sha512', ikm, new Uint8Array(0), new Uint8Array(0), max)).toString('hex');
    expect(toHex(hkdfSha512(ikm, new Uint8Array(0), new Uint8Array(0), max))).toBe(expected);
    expect(() => hkdfSha512(ikm, new Uint8Array(0), new Uint8Array(0), max + 1)).toThrow(new TypeError('length: expected an integer in [0, 16320]'));
    expect(() => hkdfSha512(ikm, new Uint8Array(0), new Uint8Array(0), -1)).toThrow(TypeError);
    expect(() => hkdfSha512(ikm, new Uint8Array(0), new Uint8Array(0), 1.5)).toThrow(TypeError);
  });

  it('treats an empty salt as 64 zero bytes', () => {
    const ikm = new Uint8Array([1, 2, 3]);
    const info = new Uint8Array([4]);
    expect(hkdfSha512(ikm, new Uint8Array(0), info, 42)).toEqual(hkdfSha512(ikm, new Uint8Array(64), info, 42));
  });

  it('wipes PRK and every T(i) block it computed, not only the last', () => {
    // Every HMAC output made while deriving: PRK, then T(1) … T(4).
    const outputs: Uint8Array[] = [];
    const sdkHmac = hmacModule.hmacSha512;
    const viaSdk = jest.spyOn(hmacModule, 'hmacSha512').mockImplementation((key, ...data) => {
      const out = sdkHmac(key, ...data);
      outputs.push(out);
      return out;
    });
    try {
      const ikm = new Uint8Array(32).fill(3);
      const okm = hkdfSha512(ikm, new Uint8Array(0), new Uint8Array([1]), 3 * 64 + 5);
      const expected = Buffer.from(hkdfSync('sha512', ikm, new Uint8Array(0), new Uint8Array([1]), 3 * 64 + 5)).toString('hex');
      expect(toHex(okm)).toBe(expected);
      expect(new Set(outputs).size).toBe(5);
      expect(outputs.filter((out) => out.some((b) => b !== 0))).toEqual([]);
    } finally {
      viaSdk.mockRestore();
    }
  });
});
