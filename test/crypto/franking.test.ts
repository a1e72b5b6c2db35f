import fc from 'fast-check';
import { frankCommitment, newFrankKey, verifyCommitment } from '../../client-sdk/src/crypto/franking';
import { frankCommitment as serverCommitment, verifyCommitment as serverVerify } from '../../lambdas/core/franking';
import { toBase64Url } from '../../protocol/base64url';
import { type CommittedContent, commitmentInput } from '../../protocol/franking';

/** Arbitrary committed content: any strings (not only valid ids) and bodies, both kinds. */
const content: fc.Arbitrary<CommittedContent> = fc.record({
  from: fc.string({ unit: 'grapheme', maxLength: 40 }),
  to: fc.string({ unit: 'grapheme', maxLength: 40 }),
  id: fc.string({ maxLength: 64 }),
  kind: fc.constantFrom('text' as const, 'bytes' as const),
  body: fc.uint8Array({ maxLength: 2000 }),
});
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('franking commitment (SDK on tweetnacl vs server on node:crypto)', () => {
  it('is the same 32 bytes as the server computes', () => {
    fc.assert(
      fc.property(key, content, (frankKey, c) => {
        const sdk = frankCommitment(frankKey, c);
        expect(sdk).toHaveLength(32);
        expect(Buffer.from(sdk).equals(Buffer.from(serverCommitment(frankKey, c)))).toBe(true);
        expect(serverVerify(frankKey, c, toBase64Url(sdk))).toBe(true);
        expect(verifyCommitment(frankKey, c, toBase64Url(serverCommitment(frankKey, c)))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('rejects any flipped bit of the commitment, and another key or content', () => {
    fc.assert(
      fc.property(key, content, fc.nat(255), (frankKey, c, bit) => {
        const commitment = frankCommitment(frankKey, c);
        const flipped = commitment.slice();
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        expect(verifyCommitment(frankKey, c, toBase64Url(flipped))).toBe(false);
        expect(verifyCommitment(newFrankKey(), c, toBase64Url(commitment))).toBe(false);
        const otherKind = c.kind === 'text' ? 'bytes' : 'text';
        expect(verifyCommitment(frankKey, { ...c, kind: otherKind }, toBase64Url(commitment))).toBe(false);
        expect(verifyCommitment(frankKey, { ...c, to: `${c.to}x` }, toBase64Url(commitment))).toBe(false);
      }),
      { numRuns: 100 },
    );
  });

  it('binds the fields apart: moving bytes between adjacent fields changes the input', () => {
    const a = commitmentInput({ from: 'ab', to: 'c', id: 'i', kind: 'text', body: new Uint8Array() });
    const b = commitmentInput({ from: 'a', to: 'bc', id: 'i', kind: 'text', body: new Uint8Array() });
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('refuses a franking key of the wrong length, and malformed commitments', () => {
    const c: CommittedContent = { from: 'a', to: 'b', id: 'i', kind: 'bytes', body: new Uint8Array([1]) };
    expect(() => frankCommitment(new Uint8Array(31), c)).toThrow(TypeError);
    expect(verifyCommitment(newFrankKey(), c, 'not base64url!')).toBe(false);
    expect(verifyCommitment(newFrankKey(), c, '')).toBe(false);
    expect(newFrankKey()).toHaveLength(32);
  });
});
