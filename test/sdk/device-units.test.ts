import nacl from 'tweetnacl';
import { type Control, MAX_CONTROL_IDS, decodePlaintext, encodePlaintext } from '../../client-sdk/src/crypto/plaintext';
import { type Identity, parseIdentity, storedLinkedIdentity } from '../../client-sdk/src/identity/identity';
import { certifyDevice, signIdentityKey, userIdFromSigningKey, verifyDeviceCert } from '../../client-sdk/src/identity/keys';
import { MAX_DEVICE_NAME_BYTES, openDeviceName, sealDeviceName } from '../../client-sdk/src/session/device-names';
import { LINK_CODE_PREFIX, encodeLinkCode, parseLinkCode } from '../../client-sdk/src/session/link-code';
import { type Provision, openProvision, sealProvision } from '../../client-sdk/src/session/provision';
import { DEVICE_CONTEXT, signedKeyMessage } from '../../protocol/connect';
import { verifyEd25519 } from './fake-server';
import { toBase64Url } from '../../protocol/base64url';

const alice = userIdFromSigningKey(nacl.sign.keyPair().publicKey);
const bob = userIdFromSigningKey(nacl.sign.keyPair().publicKey);
const id = (n: number): string => toBase64Url(new Uint8Array(16).fill(n));

function header(h: object): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(h));
  return new Uint8Array([json.length >> 8, json.length & 255, ...json]);
}

describe('plaintext control field', () => {
  const frankKey = nacl.randomBytes(32);
  const base = { from: alice, fromDevice: 2, to: alice, toDevice: 1, id: id(1), frankKey, body: new Uint8Array(0) } as const;

  it.each<Control>([
    { type: 'sent', to: bob },
    { type: 'receipt', kind: 'delivered', ids: [id(2), id(3)] },
    { type: 'receipt', kind: 'read', ids: [id(4)] },
    { type: 'read', sender: bob, ids: [id(5)] },
  ])('round-trips %j', (control) => {
    expect(decodePlaintext(encodePlaintext({ ...base, control }))?.control).toEqual(control);
  });

  it('leaves plain messages without one', () => {
    expect(decodePlaintext(encodePlaintext(base))).not.toHaveProperty('control');
  });

  it('refuses a malformed control field', () => {
    const valid = { v: 1, from: alice, fromDevice: 2, to: alice, toDevice: 1, id: id(1), kind: 'bytes', fk: toBase64Url(frankKey) };
    expect(decodePlaintext(header({ ...valid, ctl: { t: 'sent', to: bob } }))?.control).toEqual({ type: 'sent', to: bob });
    const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => id(i % 250));
    for (const ctl of [
      { t: 'sent' },
      { t: 'sent', to: 'x' },
      { t: 'sent', to: bob, extra: 1 },
      { t: 'receipt', kind: 'seen', ids: [id(1)] },
      { t: 'receipt', kind: 'read', ids: [] },
      { t: 'receipt', kind: 'read', ids: ids(MAX_CONTROL_IDS + 1) },
      { t: 'read', ids: [id(1)] },
      { t: 'typing' },
    ]) {
      expect(decodePlaintext(header({ ...valid, ctl }))).toBeNull();
    }
    expect(decodePlaintext(header({ ...valid, ctl: { t: 'receipt', kind: 'read', ids: ids(MAX_CONTROL_IDS) } }))).not.toBeNull();
  });
});

describe('link code', () => {
  const code = { deviceKey: nacl.sign.keyPair().publicKey, linkKey: nacl.box.keyPair().publicKey, expiresAt: 1_790_000_000_123 };

  it('round-trips, fits a QR code and has one spelling', () => {
    const text = encodeLinkCode(code);
    expect(text.startsWith(LINK_CODE_PREFIX)).toBe(true);
    expect(text.length).toBeLessThanOrEqual(300);
    expect(parseLinkCode(text)).toEqual(code);
    expect(parseLinkCode(`  ${text}\n`)).toEqual(code);
  });

  it('pins the layout: version, device key, link key, u48 expiry', () => {
    const bytes = new Uint8Array(71);
    bytes[0] = 1;
    bytes.set(code.deviceKey, 1);
    bytes.set(code.linkKey, 33);
    bytes.set([0x01, 0xa0, 0xc4, 0x50, 0x6c, 0x7b], 65); // 1_790_000_000_123
    expect(encodeLinkCode(code)).toBe(`ebb-link:${toBase64Url(bytes)}`);
  });

  it('returns null for anything else', () => {
    const text = encodeLinkCode(code);
    const body = text.slice(LINK_CODE_PREFIX.length);
    for (const bad of [
      '',
      body,
      `ebb-lnk:${body}`,
      text.slice(0, -1),
      `${text}A`,
      `${text.slice(0, -1)}!`,
      `ebb-link:${toBase64Url(new Uint8Array([2, ...new Uint8Array(70)]))}`,
    ]) {
      expect(parseLinkCode(bad)).toBeNull();
    }
    expect(parseLinkCode(42 as unknown as string)).toBeNull();
  });
});

describe('device certificates', () => {
  it('signs the device key under DEVICE_CONTEXT with the account key', () => {
    const account = nacl.sign.keyPair();
    const device = nacl.sign.keyPair().publicKey;
    const cert = certifyDevice(device, account.secretKey);
    expect(verifyEd25519(toBase64Url(account.publicKey), signedKeyMessage(DEVICE_CONTEXT, device), toBase64Url(cert))).toBe(true);
    expect(verifyDeviceCert(account.publicKey, device, cert)).toBe(true);
    expect(verifyDeviceCert(nacl.sign.keyPair().publicKey, device, cert)).toBe(false);
    expect(verifyDeviceCert(account.publicKey, nacl.sign.keyPair().publicKey, cert)).toBe(false);
    expect(verifyDeviceCert(account.publicKey, device, cert.subarray(1))).toBe(false);
    // An identity signature is no certificate: the contexts differ.
    expect(verifyDeviceCert(account.publicKey, device, signIdentityKey(device, account.secretKey))).toBe(false);
  });
});

function accountAndDevice() {
  const account = nacl.sign.keyPair();
  const box = nacl.box.keyPair();
  const device = nacl.sign.keyPair();
  const provision: Provision = {
    user: userIdFromSigningKey(account.publicKey),
    accountKey: account.publicKey,
    identitySecretKey: box.secretKey,
    identitySig: signIdentityKey(box.publicKey, account.secretKey),
    cert: certifyDevice(device.publicKey, account.secretKey),
    deliveryToken: toBase64Url(nacl.randomBytes(32)),
  };
  return { account, box, device, provision };
}

describe('provision', () => {
  it('opens only with the link key', () => {
    const { provision } = accountAndDevice();
    const link = nacl.box.keyPair();
    const sealed = sealProvision(provision, link.publicKey);
    expect(openProvision(sealed, link.secretKey)).toEqual(provision);
    expect(openProvision(sealed, nacl.box.keyPair().secretKey)).toBeNull();
    const flipped = sealed.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(openProvision(flipped, link.secretKey)).toBeNull();
    expect(openProvision(sealed.subarray(0, 60), link.secretKey)).toBeNull();
    // Two seals of one provision share nothing: a fresh ephemeral key and nonce each time.
    expect(toBase64Url(sealProvision(provision, link.publicKey).subarray(0, 56))).not.toBe(toBase64Url(sealed.subarray(0, 56)));
  });
});

describe('device names', () => {
  const { box } = accountAndDevice();

  it('seal to a fixed size under the identity secret', () => {
    const short = sealDeviceName('laptop', box.secretKey);
    const long = sealDeviceName('é'.repeat(63), box.secretKey);
    expect(short.length).toBe(long.length);
    expect(short.length).toBeLessThanOrEqual(256);
    expect(openDeviceName(short, box.secretKey)).toBe('laptop');
    expect(openDeviceName(long, box.secretKey)).toBe('é'.repeat(63));
    expect(openDeviceName(short, nacl.box.keyPair().secretKey)).toBeNull();
    expect(openDeviceName('not base64!', box.secretKey)).toBeNull();
    expect(openDeviceName(short.slice(4), box.secretKey)).toBeNull();
  });

  it('refuse empty and overlong names', () => {
    expect(() => sealDeviceName('', box.secretKey)).toThrow(TypeError);
    expect(() => sealDeviceName('x'.repeat(MAX_DEVICE_NAME_BYTES + 1), box.secretKey)).toThrow(TypeError);
    expect(openDeviceName(sealDeviceName('x'.repeat(MAX_DEVICE_NAME_BYTES), box.secretKey), box.secretKey)).toHaveLength(MAX_DEVICE_NAME_BYTES);
  });
});

describe('a linked device identity', () => {
  it('loads with its own device key, the account key public only, and its number', () => {
    const { account, box, device, provision } = accountAndDevice();
    const identity = parseIdentity(storedLinkedIdentity(device.secretKey.slice(0, 32), provision, 3)) as Identity;
    expect(identity).toMatchObject({ userId: provision.user, device: 3, signingSecretKey: null });
    expect(identity.signingPublicKey).toEqual(account.publicKey);
    expect(identity.deviceSigningPublicKey).toEqual(device.publicKey);
    expect(identity.identityPublicKey).toEqual(box.publicKey);
    expect(identity.cert).toEqual(provision.cert);
  });

  it('is refused when its certificate or identity signature does not verify under the account key', () => {
    const { device, provision } = accountAndDevice();
    const seed = device.secretKey.slice(0, 32);
    const other = accountAndDevice().provision;
    expect(parseIdentity(storedLinkedIdentity(seed, { ...provision, cert: other.cert }, 2))).toBeNull();
    expect(parseIdentity(storedLinkedIdentity(seed, { ...provision, identitySig: other.identitySig }, 2))).toBeNull();
    expect(parseIdentity(storedLinkedIdentity(nacl.randomBytes(32), provision, 2))).toBeNull();
    expect(parseIdentity(storedLinkedIdentity(seed, provision, 1))).toBeNull();
  });
});
