import { createPrivateKey, sign } from 'node:crypto';
import { generateVAPIDKeys, getVapidHeaders } from 'web-push';
import { checkVapid } from '../../local/vapid-verify';

const AUDIENCE = 'http://127.0.0.1:8790';
const SUBJECT = 'mailto:operator@example.org';
// web-push checks `exp` against the wall clock, so the receiver is asked at the wall clock too.
const NOW = Math.floor(Date.now() / 1000);
const keys = generateVAPIDKeys();

/** A VAPID header as the sender builds it (web-push), expiring at `exp`. */
const headerOf = (audience = AUDIENCE, exp = NOW + 12 * 3600, pair = keys) =>
  getVapidHeaders(audience, SUBJECT, pair.publicKey, pair.privateKey, 'aes128gcm', exp).Authorization;

/** Signs arbitrary claims with `keys`, as a sender that builds its own JWT would. */
function signed(claims: Record<string, unknown>, header: Record<string, unknown> = { typ: 'JWT', alg: 'ES256' }): string {
  const point = Buffer.from(keys.publicKey, 'base64url');
  const privateKey = createPrivateKey({
    key: {
      kty: 'EC',
      crv: 'P-256',
      x: point.subarray(1, 33).toString('base64url'),
      y: point.subarray(33).toString('base64url'),
      d: keys.privateKey,
    },
    format: 'jwk',
  });
  const input = `${Buffer.from(JSON.stringify(header)).toString('base64url')}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
  const signature = sign('sha256', Buffer.from(input), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64url');
  return `vapid t=${input}.${signature}, k=${keys.publicKey}`;
}

describe('VAPID checks of the local push receiver (RFC 8292)', () => {
  test('GIVEN the header web-push builds for this endpoint origin THEN it is accepted with its subject', () => {
    expect(checkVapid(headerOf(), keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: true, subject: SUBJECT });
  });

  test('GIVEN a JWT signed by another key but naming the deployment key THEN bad-signature', () => {
    const other = generateVAPIDKeys();
    const forged = headerOf(AUDIENCE, NOW + 3600, other).replace(`k=${other.publicKey}`, `k=${keys.publicKey}`);
    expect(checkVapid(forged, keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: false, refusal: 'bad-signature' });
  });

  test('GIVEN a JWT whose claims were changed after signing THEN bad-signature', () => {
    const [scheme, rest] = headerOf().split(' t=') as [string, string];
    const [h, , s] = rest.split(', k=')[0]!.split('.');
    const claims = Buffer.from(JSON.stringify({ aud: AUDIENCE, exp: NOW + 60, sub: 'mailto:someone@else.example' })).toString('base64url');
    expect(checkVapid(`${scheme} t=${h}.${claims}.${s}, k=${keys.publicKey}`, keys.publicKey, AUDIENCE, NOW)).toEqual({
      ok: false,
      refusal: 'bad-signature',
    });
  });

  test('GIVEN a valid JWT signed with a key the subscription was not made with THEN wrong-key', () => {
    const other = generateVAPIDKeys();
    expect(checkVapid(headerOf(AUDIENCE, NOW + 3600, other), keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: false, refusal: 'wrong-key' });
  });

  test('GIVEN a JWT for another push service origin THEN wrong-audience', () => {
    expect(checkVapid(headerOf('https://push.example.net'), keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: false, refusal: 'wrong-audience' });
    expect(checkVapid(headerOf(`${AUDIENCE}/push`), keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: false, refusal: 'wrong-audience' });
  });

  test('GIVEN an expired JWT, or one expiring more than 24 hours ahead THEN refused', () => {
    expect(checkVapid(signed({ aud: AUDIENCE, exp: NOW, sub: SUBJECT }), keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: false, refusal: 'expired' });
    expect(checkVapid(signed({ aud: AUDIENCE, exp: NOW - 1, sub: SUBJECT }), keys.publicKey, AUDIENCE, NOW)).toEqual({
      ok: false,
      refusal: 'expired',
    });
    expect(checkVapid(signed({ aud: AUDIENCE, sub: SUBJECT }), keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: false, refusal: 'expired' });
    expect(checkVapid(signed({ aud: AUDIENCE, exp: NOW + 24 * 3600 + 1, sub: SUBJECT }), keys.publicKey, AUDIENCE, NOW)).toEqual({
      ok: false,
      refusal: 'too-far-ahead',
    });
    expect(checkVapid(signed({ aud: AUDIENCE, exp: NOW + 24 * 3600, sub: SUBJECT }), keys.publicKey, AUDIENCE, NOW).ok).toBe(true);
  });

  test('GIVEN a JWT without a mailto: or https: subject THEN no-subject', () => {
    expect(checkVapid(signed({ aud: AUDIENCE, exp: NOW + 60 }), keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: false, refusal: 'no-subject' });
    expect(checkVapid(signed({ aud: AUDIENCE, exp: NOW + 60, sub: 'http://x' }), keys.publicKey, AUDIENCE, NOW)).toEqual({
      ok: false,
      refusal: 'no-subject',
    });
  });

  test.each([
    ['no header', undefined],
    ['another scheme', `WebPush ${headerOf().slice(6)}`],
    ['no k', headerOf().split(', k=')[0]],
    ['a JWT of two parts', `vapid t=a.b, k=${keys.publicKey}`],
    ['alg none', signed({ aud: AUDIENCE, exp: NOW + 60, sub: SUBJECT }, { typ: 'JWT', alg: 'none' })],
  ])('GIVEN %s THEN malformed', (_label, header) => {
    expect(checkVapid(header, keys.publicKey, AUDIENCE, NOW)).toEqual({ ok: false, refusal: 'malformed' });
  });
});
