import fc from 'fast-check';
import nacl from 'tweetnacl';
import { decodePlaintext, encodePlaintext, type Plaintext } from '../../client-sdk/src/crypto/plaintext';
import { openSealed, readSealed, seal, sealedLength, sharedKey } from '../../client-sdk/src/crypto/static-box';
import { signIdentityKey, userIdFromSigningKey, verifyPeerIdentity } from '../../client-sdk/src/identity/keys';
import { toBase64Url } from '../../protocol/base64url';
import { userIdOf } from './fake-server';


function party() {
  const signing = nacl.sign.keyPair();
  const box = nacl.box.keyPair();
  return {
    userId: userIdFromSigningKey(signing.publicKey),
    signingPublicKey: signing.publicKey,
    identityPublicKey: box.publicKey,
    identitySecretKey: box.secretKey,
    identitySig: signIdentityKey(box.publicKey, signing.secretKey),
  };
}

const alice = party();
const bob = party();

describe('static box', () => {
  it('derives user ids as DESIGN §4 pins them', () => {
    expect(alice.userId).toHaveLength(32);
    expect(alice.userId).toBe(userIdOf(toBase64Url(alice.signingPublicKey)));
    expect(verifyPeerIdentity(alice.userId, alice.signingPublicKey, alice.identityPublicKey, alice.identitySig)).toBe(true);
    expect(verifyPeerIdentity(bob.userId, alice.signingPublicKey, alice.identityPublicKey, alice.identitySig)).toBe(false);
    expect(verifyPeerIdentity(alice.userId, alice.signingPublicKey, bob.identityPublicKey, alice.identitySig)).toBe(false);
  });

  it('round-trips and carries the sender keys', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (plaintext) => {
        const sealed = seal(plaintext, alice, sharedKey(bob.identityPublicKey, alice.identitySecretKey));
        expect(sealed.length).toBe(sealedLength(plaintext.length));
        const parts = readSealed(sealed)!;
        expect(parts.signingPublicKey).toEqual(alice.signingPublicKey);
        expect(parts.identitySig).toEqual(alice.identitySig);
        expect(openSealed(parts, bob.identitySecretKey)).toEqual(plaintext);
        expect(openSealed(parts, alice.identitySecretKey)).toBeNull();
      }),
      { numRuns: 50 },
    );
  });

  it('uses a fresh nonce for every message', () => {
    const shared = sharedKey(bob.identityPublicKey, alice.identitySecretKey);
    const a = readSealed(seal(new Uint8Array(8), alice, shared))!;
    const b = readSealed(seal(new Uint8Array(8), alice, shared))!;
    expect(a.nonce).not.toEqual(b.nonce);
    expect(a.nonce).toHaveLength(nacl.box.nonceLength);
  });

  it('rejects any flipped bit in the nonce or box', () => {
    const plaintext = new TextEncoder().encode('attack at dawn');
    const sealed = seal(plaintext, alice, sharedKey(bob.identityPublicKey, alice.identitySecretKey));
    const boxStart = sealed.length - plaintext.length - nacl.box.overheadLength - nacl.box.nonceLength;
    fc.assert(
      fc.property(fc.integer({ min: boxStart, max: sealed.length - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const copy = sealed.slice();
        copy[at]! ^= 1 << bit;
        expect(openSealed(readSealed(copy)!, bob.identitySecretKey)).toBeNull();
      }),
      { numRuns: 60 },
    );
  });

  it('reads nothing from bytes that cannot be a ciphertext, and throws on wrong key sizes', () => {
    expect(readSealed(new Uint8Array(0))).toBeNull();
    expect(readSealed(new Uint8Array(sealedLength(0) - 1).fill(1))).toBeNull();
    const wrongVersion = seal(new Uint8Array(1), alice, sharedKey(bob.identityPublicKey, alice.identitySecretKey));
    wrongVersion[0] = 2;
    expect(readSealed(wrongVersion)).toBeNull();
    expect(() => sharedKey(new Uint8Array(31), alice.identitySecretKey)).toThrow(/theirIdentityKey: expected 32 bytes/);
  });
});

describe('plaintext', () => {
  const base = { from: alice.userId, fromDevice: 1, to: bob.userId, toDevice: 3, id: 'MNQJq9QB7trF-5jiYnMUZg' } as const;

  it('round-trips text, bytes and options', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ unit: 'grapheme' }), fc.uint8Array()),
        fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 86400 }), { nil: undefined }),
        (content, ttl, burn) => {
          const text = typeof content === 'string' ? content : undefined;
          const body = typeof content === 'string' ? new TextEncoder().encode(content) : content;
          const p: Plaintext = {
            ...base,
            body,
            ...(text !== undefined && { text }),
            ...(ttl !== undefined && { expiresInSeconds: ttl }),
            ...(burn !== undefined && { burnAfterReadingSeconds: burn }),
          };
          expect(decodePlaintext(encodePlaintext(p))).toEqual(p);
        },
      ),
    );
  });

  it('returns null for malformed input', () => {
    const good = encodePlaintext({ ...base, body: new Uint8Array(2) });
    expect(decodePlaintext(new Uint8Array(0))).toBeNull();
    expect(decodePlaintext(good.subarray(0, 10))).toBeNull();
    const header = (h: object): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      return new Uint8Array([json.length >> 8, json.length & 255, ...json]);
    };
    const valid = { v: 1, ...base, kind: 'bytes' };
    expect(decodePlaintext(header(valid))).not.toBeNull();
    expect(decodePlaintext(header({ ...valid, v: 2 }))).toBeNull();
    expect(decodePlaintext(header({ ...valid, extra: 1 }))).toBeNull();
    expect(decodePlaintext(header({ ...valid, toDevice: 0 }))).toBeNull();
    expect(decodePlaintext(new Uint8Array([...header({ ...valid, kind: 'text' }), 0xff]))).toBeNull();
  });
});
