import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

/**
 * AWS Signature Version 4, as the receiving side computes it: the canonical request, the string to
 * sign, the signing key and the signature, from a request as it arrived. Written on node:crypto rather
 * than taken from a library: the kept signers (the AWS SDK's own) build a request to send and choose
 * its headers; a verifier must canonicalize exactly what a client sent and signed. Checked against
 * AWS's published SigV4 test suite (test/vectors/sigv4) and against URLs `@aws-sdk/s3-request-presigner` makes.
 */

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** The payload hash of a presigned URL and of a header-signed request that does not hash its body. */
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';

/** A request as the verifier sees it, before any SigV4 canonicalization. */
export interface RequestToVerify {
  readonly method: string;
  /** The path as it arrived, percent-encoded or not. */
  readonly path: string;
  /** Query parameters, decoded, in any order; a presigned URL's `X-Amz-Signature` left out. */
  readonly query: readonly (readonly [string, string])[];
  /** Every value of each header, keyed by lower-case name, in the order received. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
  /** Lower-case header names, as the `SignedHeaders` the client sent lists them. */
  readonly signedHeaders: readonly string[];
  /** Hex SHA-256 of the body, or `UNSIGNED-PAYLOAD`. */
  readonly payloadHash: string;
}

/** The credential scope: `date/region/service/aws4_request`. */
export interface CredentialScope {
  /** `YYYYMMDD`, the day of the request's `X-Amz-Date`. */
  readonly date: string;
  readonly region: string;
  readonly service: string;
}

/**
 * SigV4's UriEncode: every byte of the UTF-8 encoding but the RFC 3986 unreserved characters
 * (`A-Z a-z 0-9 - . _ ~`) becomes `%XX` in upper-case hex.
 * @throws URIError on a lone surrogate (no UTF-8 encoding).
 */
export function uriEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * The canonical URI as S3 computes it: each path segment decoded once and encoded once. S3, unlike
 * the other services the test suite describes, neither removes `.`/`..` segments nor encodes twice.
 * @throws URIError when a segment holds a malformed percent-escape.
 */
export function canonicalUri(path: string): string {
  return path
    .split('/')
    .map((segment) => uriEncode(decodeURIComponent(segment)))
    .join('/');
}

/** Parameters encoded, then sorted by name and by value in byte order, joined `name=value&…`. */
export function canonicalQuery(query: readonly (readonly [string, string])[]): string {
  return query
    .map(([name, value]) => [uriEncode(name), uriEncode(value)] as const)
    .sort(([an, av], [bn, bv]) => compare(an, bn) || compare(av, bv))
    .map(([name, value]) => `${name}=${value}`)
    .join('&');
}

/** Values trimmed, inner runs of spaces made one, repeated headers joined with `,` in arrival order. */
function canonicalHeaderValue(values: readonly string[] | undefined): string {
  return (values ?? []).map((value) => value.trim().replace(/\s+/g, ' ')).join(',');
}

/** The canonical request (the SigV4 signing guide's step 1). */
export function canonicalRequest(request: RequestToVerify): string {
  const headers = request.signedHeaders.map((name) => `${name}:${canonicalHeaderValue(request.headers.get(name))}\n`).join('');
  return [
    request.method,
    canonicalUri(request.path),
    canonicalQuery(request.query),
    headers,
    request.signedHeaders.join(';'),
    request.payloadHash,
  ].join('\n');
}

/** `date/region/service/aws4_request`. */
export function scopeString(scope: CredentialScope): string {
  return `${scope.date}/${scope.region}/${scope.service}/aws4_request`;
}

/** The string to sign (step 2): algorithm, `X-Amz-Date`, scope, hex SHA-256 of the canonical request. */
export function stringToSign(amzDate: string, scope: CredentialScope, canonical: string): string {
  return [SIGV4_ALGORITHM, amzDate, scopeString(scope), sha256Hex(canonical)].join('\n');
}

/** The signing key (step 3): HMAC-SHA256 chained over date, region, service and `aws4_request`. */
export function signingKey(secretAccessKey: string, scope: CredentialScope): Buffer {
  const date = hmac(`AWS4${secretAccessKey}`, scope.date);
  const region = hmac(date, scope.region);
  const service = hmac(region, scope.service);
  return hmac(service, 'aws4_request');
}

/** The signature (step 4), lower-case hex. */
export function signature(secretAccessKey: string, scope: CredentialScope, toSign: string): string {
  return createHmac('sha256', signingKey(secretAccessKey, scope)).update(toSign, 'utf8').digest('hex');
}

/** Whether `provided` is `expected` (both lower-case hex), in time independent of where they differ. */
export function signaturesMatch(expected: string, provided: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(provided, 'utf8');
  // Lengths are public (64 hex digits); only same-length values are compared byte by byte.
  return a.length === b.length && timingSafeEqual(a, b);
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

function hmac(key: string | Buffer, data: string): Buffer {
  return createHmac('sha256', key).update(data, 'utf8').digest();
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
