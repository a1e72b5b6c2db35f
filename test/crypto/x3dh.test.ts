import { hkdfSync } from 'node:crypto';
import nacl from 'tweetnacl';
import { generateKeyPair } from '../../client-sdk/src/crypto/x25519';
import { x3dhInitiate, x3dhRespond, type KeyPair, type RemoteBundle } from '../../client-sdk/src/crypto/x3dh';

function bob(): { identity: KeyPair; signedPrekey: KeyPair; oneTimePrekey: KeyPair } {
  return { identity: generateKeyPair(), signedPrekey: generateKeyPair(), oneTimePrekey: generateKeyPair() };
}

function bundleOf(b: ReturnType<typeof bob>, withOneTime: boolean): RemoteBundle {
  return {
    identityKey: b.identity.publicKey,
    signedPrekey: { keyId: 7, publicKey: b.signedPrekey.publicKey },
    ...(withOneTime && { oneTimePrekey: { keyId: 42, publicKey: b.oneTimePrekey.publicKey } }),
  };
}

describe('X3DH', () => {
  it.each([true, false])('both sides derive the same secret and AD (one-time prekey: %s)', (withOneTime) => {
    const alice = generateKeyPair();
    const b = bob();
    const init = x3dhInitiate(alice, bundleOf(b, withOneTime));
    expect(init.sharedSecret).toHaveLength(32);
    expect(init.signedPrekeyId).toBe(7);
    expect(init.oneTimePrekeyId).toBe(withOneTime ? 42 : null);
    expect(init.associatedData).toEqual(new Uint8Array([...alice.publicKey, ...b.identity.publicKey]));

    const header = { identityKey: alice.publicKey, ephemeralKey: init.ephemeralKey, signedPrekeyId: 7, oneTimePrekeyId: init.oneTimePrekeyId };
    const resp = x3dhRespond(b.identity, b.signedPrekey, withOneTime ? b.oneTimePrekey : null, header);
    expect(resp.sharedSecret).toEqual(init.sharedSecret);
    expect(resp.associatedData).toEqual(init.associatedData);
  });

  it('derives SK = HKDF-SHA-512(F ‖ DH1 ‖ DH2 ‖ DH3 ‖ DH4, 64 zero bytes, "ebb-x3dh-v1", 32) (X3DH §2.2, §3.3)', () => {
    const alice = generateKeyPair();
    const b = bob();
    const init = x3dhInitiate(alice, bundleOf(b, true));
    const dh = (sk: Uint8Array, pk: Uint8Array) => nacl.scalarMult(sk, pk);
    const ikm = Buffer.concat([
      Buffer.alloc(32, 0xff),
      dh(alice.secretKey, b.signedPrekey.publicKey),
      dh(b.identity.secretKey, init.ephemeralKey),
      dh(b.signedPrekey.secretKey, init.ephemeralKey),
      dh(b.oneTimePrekey.secretKey, init.ephemeralKey),
    ]);
    const expected = new Uint8Array(hkdfSync('sha512', ikm, Buffer.alloc(64), Buffer.from('ebb-x3dh-v1'), 32));
    expect(init.sharedSecret).toEqual(expected);
  });

  it('uses a fresh ephemeral key, so two initiations differ', () => {
    const alice = generateKeyPair();
    const b = bob();
    const first = x3dhInitiate(alice, bundleOf(b, true));
    const second = x3dhInitiate(alice, bundleOf(b, true));
    expect(first.ephemeralKey).not.toEqual(second.ephemeralKey);
    expect(first.sharedSecret).not.toEqual(second.sharedSecret);
  });

  it('derives a different secret when any key is wrong', () => {
    const alice = generateKeyPair();
    const b = bob();
    const init = x3dhInitiate(alice, bundleOf(b, true));
    const header = { identityKey: alice.publicKey, ephemeralKey: init.ephemeralKey, signedPrekeyId: 7, oneTimePrekeyId: 42 };
    const other = generateKeyPair();
    const variants = [
      x3dhRespond(other, b.signedPrekey, b.oneTimePrekey, header),
      x3dhRespond(b.identity, other, b.oneTimePrekey, header),
      x3dhRespond(b.identity, b.signedPrekey, other, header),
      x3dhRespond(b.identity, b.signedPrekey, b.oneTimePrekey, { ...header, identityKey: other.publicKey }),
      x3dhRespond(b.identity, b.signedPrekey, b.oneTimePrekey, { ...header, ephemeralKey: other.publicKey }),
    ];
    for (const v of variants) expect(v.sharedSecret).not.toEqual(init.sharedSecret);
    // Without the one-time prekey the secret differs too (DH4 is part of it).
    const withoutOpk = x3dhInitiate(alice, bundleOf(b, false));
    expect(
      x3dhRespond(b.identity, b.signedPrekey, null, { ...header, ephemeralKey: withoutOpk.ephemeralKey, oneTimePrekeyId: null }).sharedSecret,
    ).toEqual(withoutOpk.sharedSecret);
  });

  it('throws on wrong lengths, a low-order key, or a one-time prekey the header does not name', () => {
    const alice = generateKeyPair();
    const b = bob();
    expect(() => x3dhInitiate(alice, { ...bundleOf(b, false), identityKey: new Uint8Array(31) })).toThrow(
      new TypeError('bundle.identityKey: expected 32 bytes'),
    );
    expect(() => x3dhInitiate({ publicKey: alice.publicKey, secretKey: new Uint8Array(64) }, bundleOf(b, false))).toThrow(
      new TypeError('ownIdentity.secretKey: expected 32 bytes'),
    );
    expect(() => x3dhInitiate(alice, { ...bundleOf(b, false), signedPrekey: { keyId: 1, publicKey: new Uint8Array(32) } })).toThrow(
      'x25519: low-order public key',
    );
    const header = { identityKey: alice.publicKey, ephemeralKey: nacl.randomBytes(32), signedPrekeyId: 7, oneTimePrekeyId: 42 };
    expect(() => x3dhRespond(b.identity, b.signedPrekey, null, header)).toThrow(TypeError);
    expect(() => x3dhRespond(b.identity, b.signedPrekey, b.oneTimePrekey, { ...header, oneTimePrekeyId: null })).toThrow(TypeError);
    expect(() => x3dhRespond(b.identity, b.signedPrekey, null, { ...header, oneTimePrekeyId: null, ephemeralKey: new Uint8Array(32) })).toThrow(
      'x25519: low-order public key',
    );
  });
});
