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
});
