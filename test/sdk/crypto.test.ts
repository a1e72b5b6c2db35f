import fc from 'fast-check';
import nacl from 'tweetnacl';
import { AEAD_OVERHEAD } from '../../client-sdk/src/crypto/aead';
import { type PrekeyFields, decodeWireMessage, encodePrefix, encodeWireMessage, maxWireLength } from '../../client-sdk/src/crypto/envelope';
import { decodePlaintext, encodePlaintext, type Plaintext } from '../../client-sdk/src/crypto/plaintext';
import { HEADER_LENGTH } from '../../client-sdk/src/crypto/ratchet';
import { signIdentityKey, userIdFromSigningKey, verifyPeerIdentity } from '../../client-sdk/src/identity/keys';
import { safetyNumber } from '../../client-sdk/src/identity/safety-number';
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

describe('identity keys', () => {
  it('derives user ids as ARCH §4.1 pins them and binds the identity key', () => {
    expect(alice.userId).toHaveLength(32);
    expect(alice.userId).toBe(userIdOf(toBase64Url(alice.signingPublicKey)));
    expect(verifyPeerIdentity(alice.userId, alice.signingPublicKey, alice.identityPublicKey, alice.identitySig)).toBe(true);
    expect(verifyPeerIdentity(bob.userId, alice.signingPublicKey, alice.identityPublicKey, alice.identitySig)).toBe(false);
    expect(verifyPeerIdentity(alice.userId, alice.signingPublicKey, bob.identityPublicKey, alice.identitySig)).toBe(false);
  });
});

describe('wire format v2', () => {
  const prekey: PrekeyFields = {
    signingKey: alice.signingPublicKey,
    identityKey: alice.identityPublicKey,
    identitySig: alice.identitySig,
    ephemeralKey: nacl.randomBytes(32),
    signedPrekeyId: 7,
    oneTimePrekeyId: 2 ** 31 - 1,
  };

  it('round-trips prekey and normal messages', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.option(fc.integer({ min: 0, max: 2 ** 31 - 1 })),
        fc.uint8Array({ minLength: AEAD_OVERHEAD, maxLength: 200 }),
        (isPrekey, otpk, body) => {
          const fields = isPrekey ? { ...prekey, oneTimePrekeyId: otpk } : null;
          const prefix = encodePrefix(fields);
          const header = nacl.randomBytes(HEADER_LENGTH);
          const bytes = encodeWireMessage(prefix, header, body);
          expect(bytes[0]).toBe(2);
          expect(bytes[1]).toBe(isPrekey ? 1 : 0);
          const parsed = decodeWireMessage(bytes)!;
          expect(parsed.prefix).toEqual(prefix);
          expect(parsed.header).toEqual(header);
          expect(parsed.body).toEqual(body);
          expect(parsed.prekey).toEqual(fields);
          if (isPrekey) expect(bytes.length).toBe(maxWireLength(body.length - AEAD_OVERHEAD));
        },
      ),
      { numRuns: 50 },
    );
  });

  it('reads nothing from bytes that cannot be a version-2 message, and throws on wrong key sizes', () => {
    const good = encodeWireMessage(encodePrefix(null), new Uint8Array(HEADER_LENGTH), new Uint8Array(AEAD_OVERHEAD));
    expect(decodeWireMessage(good)).not.toBeNull();
    expect(decodeWireMessage(new Uint8Array(0))).toBeNull();
    expect(decodeWireMessage(good.subarray(0, good.length - 1))).toBeNull();
    for (const [at, value] of [
      [0, 1],
      [0, 3],
      [1, 2],
    ] as const) {
      const bad = good.slice();
      bad[at] = value;
      expect(decodeWireMessage(bad)).toBeNull();
    }
    const shortPrekey = encodeWireMessage(encodePrefix(prekey), new Uint8Array(HEADER_LENGTH), new Uint8Array(AEAD_OVERHEAD - 1));
    expect(decodeWireMessage(shortPrekey)).toBeNull();
    expect(() => encodePrefix({ ...prekey, ephemeralKey: new Uint8Array(31) })).toThrow(/ephemeralKey: expected 32 bytes/);
  });
});

describe('safety numbers', () => {
  it('are 60 digits in groups of 5, the same from both sides, and change with either key', () => {
    const a = { userId: alice.userId, identityKey: alice.identityPublicKey };
    const b = { userId: bob.userId, identityKey: bob.identityPublicKey };
    const number = safetyNumber(a, b);
    expect(number).toMatch(/^\d{5}( \d{5}){11}$/);
    expect(safetyNumber(b, a)).toBe(number);
    expect(safetyNumber(a, { ...b, identityKey: nacl.box.keyPair().publicKey })).not.toBe(number);
    expect(safetyNumber({ ...a, identityKey: nacl.box.keyPair().publicKey }, b)).not.toBe(number);
    expect(safetyNumber(a, { ...b, userId: alice.userId })).not.toBe(number);
  });
});

describe('plaintext', () => {
  const frankKey = nacl.randomBytes(32);
  const base = { from: alice.userId, fromDevice: 1, to: bob.userId, toDevice: 3, id: 'MNQJq9QB7trF-5jiYnMUZg', frankKey } as const;

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
    const { frankKey: _key, ...fields } = base;
    const valid = { v: 1, ...fields, kind: 'bytes', fk: toBase64Url(frankKey) };
    expect(decodePlaintext(header(valid))).not.toBeNull();
    expect(decodePlaintext(header({ ...valid, v: 2 }))).toBeNull();
    expect(decodePlaintext(header({ ...valid, extra: 1 }))).toBeNull();
    expect(decodePlaintext(header({ ...valid, toDevice: 0 }))).toBeNull();
    expect(decodePlaintext(new Uint8Array([...header({ ...valid, kind: 'text' }), 0xff]))).toBeNull();
  });

  it('carries the franking key and refuses a missing or malformed one', () => {
    const header = (h: object): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      return new Uint8Array([json.length >> 8, json.length & 255, ...json]);
    };
    const { frankKey: _key, ...rest } = base;
    const valid = { v: 1, ...rest, kind: 'bytes', fk: toBase64Url(frankKey) };
    expect(decodePlaintext(header(valid))?.frankKey).toEqual(frankKey);
    const { fk: _fk, ...missing } = valid;
    expect(decodePlaintext(header(missing))).toBeNull();
    expect(decodePlaintext(header({ ...valid, fk: toBase64Url(nacl.randomBytes(31)) }))).toBeNull();
    expect(decodePlaintext(header({ ...valid, fk: toBase64Url(nacl.randomBytes(33)) }))).toBeNull();
    expect(decodePlaintext(header({ ...valid, fk: `${valid.fk.slice(0, 42)}!` }))).toBeNull();
    // 43 characters carry 258 bits: a non-canonical last character (nonzero spare bits) is refused.
    const last = valid.fk[42]!;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const sibling = alphabet[alphabet.indexOf(last) ^ 1]!;
    expect(decodePlaintext(header({ ...valid, fk: valid.fk.slice(0, 42) + sibling }))).toBeNull();
    expect(() => encodePlaintext({ ...base, frankKey: new Uint8Array(16), body: new Uint8Array(0) })).toThrow(TypeError);
  });

  it('carries the delivery token when given one and refuses a malformed one', () => {
    const deliveryToken = nacl.randomBytes(32);
    const body = new Uint8Array([1, 2]);
    expect(decodePlaintext(encodePlaintext({ ...base, body, deliveryToken }))?.deliveryToken).toEqual(deliveryToken);
    expect(decodePlaintext(encodePlaintext({ ...base, body }))).not.toHaveProperty('deliveryToken');
    expect(() => encodePlaintext({ ...base, body, deliveryToken: new Uint8Array(31) })).toThrow(TypeError);
    const header = (h: object): Uint8Array => {
      const json = new TextEncoder().encode(JSON.stringify(h));
      return new Uint8Array([json.length >> 8, json.length & 255, ...json]);
    };
    const { frankKey: _key, ...rest } = base;
    const valid = { v: 1, ...rest, kind: 'bytes', fk: toBase64Url(frankKey), dt: toBase64Url(deliveryToken) };
    expect(decodePlaintext(header(valid))?.deliveryToken).toEqual(deliveryToken);
    expect(decodePlaintext(header({ ...valid, dt: toBase64Url(nacl.randomBytes(33)) }))).toBeNull();
    expect(decodePlaintext(header({ ...valid, dt: `${valid.dt.slice(0, 42)}!` }))).toBeNull();
  });
});
