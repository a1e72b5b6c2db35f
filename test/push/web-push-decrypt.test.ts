import { createECDH, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { encrypt } from 'web-push';
import { decryptWebPush, type SubscriptionSecrets } from '../../local/web-push-decrypt';
import vector from '../vectors/web-push-rfc8291.json';

const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64url'));
const text = (bytes: Uint8Array | null) => (bytes === null ? null : Buffer.from(bytes).toString('utf8'));

const rfcSecrets: SubscriptionSecrets = { publicKey: b64(vector.uaPublic), privateKey: b64(vector.uaPrivate), authSecret: b64(vector.authSecret) };

function subscriber(): SubscriptionSecrets & { p256dh: string; auth: string } {
  const ecdh = createECDH('prime256v1');
  const publicKey = ecdh.generateKeys();
  const authSecret = randomBytes(16);
  return { publicKey, privateKey: ecdh.getPrivateKey(), authSecret, p256dh: publicKey.toString('base64url'), auth: authSecret.toString('base64url') };
}

describe('RFC 8291 decryption of the local push receiver', () => {
  test('GIVEN the RFC 8291 §5 example WHEN the receiver decrypts it with the user agent keys THEN it reads the RFC plaintext', () => {
    expect(text(decryptWebPush(b64(vector.body), rfcSecrets))).toBe(vector.plaintext);
  });

  test('GIVEN the RFC example THEN its header carries the RFC salt, record size 4096 and the server key as key id (RFC 8188 §2.1)', () => {
    const body = Buffer.from(b64(vector.body));
    expect(body.subarray(0, 16).toString('base64url')).toBe(vector.salt);
    expect(body.readUInt32BE(16)).toBe(4096);
    expect(body.subarray(21, 21 + body[20]!).toString('base64url')).toBe(vector.asPublic);
  });

  test('GIVEN any payload web-push encrypts with aes128gcm WHEN decrypted with the subscription keys THEN it is the payload', () => {
    const sub = subscriber();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 3000 }), (payload) => {
        const { cipherText } = encrypt(sub.p256dh, sub.auth, Buffer.from(payload), 'aes128gcm');
        expect(decryptWebPush(cipherText, sub)).toEqual(payload);
      }),
      { numRuns: 40 },
    );
  });

  test('GIVEN the RFC example with any one bit flipped WHEN decrypted THEN it opens to null', () => {
    const body = b64(vector.body);
    fc.assert(
      fc.property(fc.nat({ max: body.length * 8 - 1 }), (bit) => {
        const flipped = Uint8Array.from(body);
        flipped[bit >> 3]! ^= 1 << (bit & 7);
        // A flipped bit in the record-size field can still leave a body that opens (the size only splits records),
        // so only require that it never opens to anything but the plaintext.
        const opened = text(decryptWebPush(flipped, rfcSecrets));
        if (bit >> 3 < 16 || bit >> 3 >= 20) expect(opened).toBeNull();
        else expect([null, vector.plaintext]).toContain(opened);
      }),
      { numRuns: 300 },
    );
  });

  test('GIVEN a message for another subscription, a wrong auth secret, or a truncated body THEN it opens to null', () => {
    const other = subscriber();
    const { cipherText } = encrypt(other.p256dh, other.auth, Buffer.from('wake'), 'aes128gcm');
    expect(decryptWebPush(cipherText, rfcSecrets)).toBeNull();
    expect(decryptWebPush(cipherText, { ...other, authSecret: randomBytes(16) })).toBeNull();
    expect(decryptWebPush(cipherText.subarray(0, cipherText.length - 1), other)).toBeNull();
    expect(decryptWebPush(cipherText.subarray(0, 20), other)).toBeNull();
  });

  test('GIVEN keys of the wrong size THEN it throws naming the key, not the bytes', () => {
    expect(() => decryptWebPush(b64(vector.body), { ...rfcSecrets, authSecret: new Uint8Array(15) })).toThrow('authSecret must be 16 bytes');
    expect(() => decryptWebPush(b64(vector.body), { ...rfcSecrets, publicKey: new Uint8Array(33) })).toThrow(/publicKey must be a 65-byte/);
  });
});
