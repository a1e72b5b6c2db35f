import { createPublicKey, verify } from 'node:crypto';

/**
 * Checks a VAPID `Authorization` header as a push service does (RFC 8292), with node:crypto, for the local push
 * receiver. The answer names the first check that failed, for the tests that must see each one refused.
 */

export type VapidRefusal = 'malformed' | 'wrong-key' | 'bad-signature' | 'wrong-audience' | 'expired' | 'too-far-ahead' | 'no-subject';

export type VapidCheck = { readonly ok: true; readonly subject: string } | { readonly ok: false; readonly refusal: VapidRefusal };

/** RFC 8292 §2: a push service may refuse an `exp` more than 24 hours ahead. */
const MAX_AHEAD_SECONDS = 24 * 3600;

/**
 * @param header the request's `Authorization` value, `vapid t=<JWT>, k=<key>` (RFC 8292 §3)
 * @param expectedKey the deployment's VAPID public key (base64url uncompressed point), as the subscription was made with
 * @param audience the origin of the endpoint the request was sent to, e.g. `http://127.0.0.1:8790`
 * @param nowSeconds epoch seconds
 */
export function checkVapid(header: string | undefined, expectedKey: string, audience: string, nowSeconds: number): VapidCheck {
  const refuse = (refusal: VapidRefusal): VapidCheck => ({ ok: false, refusal });
  const match = /^vapid\s+(.+)$/i.exec(header?.trim() ?? '');
  if (!match) return refuse('malformed');
  const params = new Map<string, string>();
  for (const part of match[1]!.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) params.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const token = params.get('t');
  const key = params.get('k');
  if (!token || !key) return refuse('malformed');
  // RFC 8292 §4.2: the key must be the one the subscription was created with.
  if (key !== expectedKey) return refuse('wrong-key');
  const segments = token.split('.');
  if (segments.length !== 3) return refuse('malformed');
  const [headerPart, claimsPart, signaturePart] = segments as [string, string, string];
  const jwtHeader = parseJson(headerPart);
  const claims = parseJson(claimsPart);
  if (!jwtHeader || !claims || jwtHeader.alg !== 'ES256') return refuse('malformed');

  const point = Buffer.from(key, 'base64url');
  if (point.length !== 65 || point[0] !== 4) return refuse('malformed');
  let valid: boolean;
  try {
    const publicKey = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') },
      format: 'jwk',
    });
    // RFC 7518 §3.4: ES256 signatures are r ‖ s, 64 bytes.
    valid = verify(
      'sha256',
      Buffer.from(`${headerPart}.${claimsPart}`),
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      Buffer.from(signaturePart, 'base64url'),
    );
  } catch {
    return refuse('malformed');
  }
  if (!valid) return refuse('bad-signature');
  // RFC 8292 §2: aud is the origin of the push resource.
  if (claims.aud !== audience) return refuse('wrong-audience');
  if (typeof claims.exp !== 'number' || claims.exp <= nowSeconds) return refuse('expired');
  if (claims.exp > nowSeconds + MAX_AHEAD_SECONDS) return refuse('too-far-ahead');
  if (typeof claims.sub !== 'string' || !/^(mailto:|https:)/.test(claims.sub)) return refuse('no-subject');
  return { ok: true, subject: claims.sub };
}

function parseJson(segment: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
