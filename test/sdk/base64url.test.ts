import fc from 'fast-check';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';

describe('base64url', () => {
  it('round-trips any bytes and matches Node', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const text = toBase64Url(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64url'));
        expect(fromBase64Url(text)).toEqual(bytes);
      }),
    );
  });

  it('decodes what Node encodes and rejects impossible input', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        expect(fromBase64Url(Buffer.from(bytes).toString('base64url'))).toEqual(new Uint8Array(bytes));
      }),
    );
    for (const bad of ['A', 'AAAAA', 'AA=', 'A+B/', 'é']) expect(() => fromBase64Url(bad)).toThrow(TypeError);
  });

  it('accepts only the canonical spelling: bits past the last byte must be zero', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 200 }).filter((b) => b.length % 3 !== 0),
        fc.integer({ min: 1, max: 15 }),
        (bytes, spare) => {
          const text = toBase64Url(bytes);
          // One byte left over puts 4 spare bits in the last character, two bytes 2.
          const mask = bytes.length % 3 === 1 ? 15 : 3;
          if ((spare & mask) === 0) return;
          const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
          const last = ALPHABET.indexOf(text.at(-1)!);
          const respelled = text.slice(0, -1) + ALPHABET[last | (spare & mask)];
          expect(Buffer.from(respelled, 'base64url')).toEqual(Buffer.from(bytes));
          expect(() => fromBase64Url(respelled)).toThrow('base64url: not the canonical encoding');
        },
      ),
    );
    // A 64-byte signature re-spelled in its last character: the same bytes to a lenient decoder.
    expect(() => fromBase64Url(`${'A'.repeat(85)}B`)).toThrow(TypeError);
    expect(fromBase64Url(`${'A'.repeat(85)}A`)).toEqual(new Uint8Array(64));
  });
});
