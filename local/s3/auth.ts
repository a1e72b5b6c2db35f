import { S3Error } from './errors';
import type { CredentialRegistry, S3Principal } from './policy';
import { SIGV4_ALGORITHM, UNSIGNED_PAYLOAD, canonicalRequest, signature, signaturesMatch, stringToSign, type CredentialScope } from './sigv4';

/**
 * Authenticates a request as S3 does, by a presigned URL's query or by an `Authorization` header, on the
 * stack's clock: the credential scope, the date and expiry, that every `x-amz-*` header sent was signed,
 * and the signature. A request with neither is anonymous and refused (the bucket has no public access).
 */

/** A request as it arrived, split for authentication. */
export interface ArrivedRequest {
  readonly method: string;
  readonly path: string;
  /** Decoded query parameters in arrival order. */
  readonly query: readonly (readonly [string, string])[];
  /** Every value of each header, by lower-case name. */
  readonly headers: ReadonlyMap<string, readonly string[]>;
}

export interface Authenticated {
  readonly principal: S3Principal;
  readonly accessKeyId: string;
  /** What the body must hash to (hex SHA-256), or `UNSIGNED-PAYLOAD`. */
  readonly payloadHash: string;
}

/** What the endpoint accepts in a credential scope. */
export interface AuthSettings {
  readonly region: string;
  readonly credentials: CredentialRegistry;
  readonly now: () => number;
}

/** S3's limit on `X-Amz-Expires`: seven days. */
const MAX_EXPIRES_SECONDS = 604_800;
/** S3's tolerance between a header-signed request's date and its clock. */
const MAX_SKEW_MS = 15 * 60_000;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

/** @throws S3Error refusing the request as S3 would. */
export function authenticate(request: ArrivedRequest, settings: AuthSettings): Authenticated {
  const query = new Map(request.query);
  // One value each: which of two a check read and which the signature covered must never differ.
  const repeated = request.query.find(([name], i) => name.startsWith('X-Amz-') && request.query.findIndex(([other]) => other === name) !== i);
  if (repeated) throw new S3Error('AuthorizationQueryParametersError', `${repeated[0]} may be given only once.`);
  const presigned = query.has('X-Amz-Algorithm') || query.has('X-Amz-Signature') || query.has('X-Amz-Credential');
  const header = request.headers.get('authorization');
  if (presigned && header) {
    throw new S3Error(
      'InvalidArgument',
      'Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, Signature query string parameter or the Authorization header should be specified',
    );
  }
  if (!presigned && !header) throw new S3Error('AccessDenied', 'Access Denied');
  const signed = presigned ? fromQuery(query) : fromHeader(header!, request.headers);

  checkScope(signed.scope, signed.amzDate, settings.region, presigned);
  const holder = settings.credentials.lookup(signed.accessKeyId);
  if (!holder) {
    throw new S3Error('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', {
      AWSAccessKeyId: signed.accessKeyId,
    });
  }
  checkTime(signed, settings.now());

  const signedHeaders = new Set(signed.signedHeaders);
  if (!signedHeaders.has('host')) {
    throw new S3Error(presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed', 'Host must be a signed header.');
  }
  const unsigned = [...request.headers.keys()].filter((name) => name.startsWith('x-amz-') && !signedHeaders.has(name));
  if (unsigned.length > 0) {
    throw new S3Error('AccessDenied', 'There were headers present in the request which were not signed', { HeadersNotSigned: unsigned.join(', ') });
  }

  const canonical = canonicalRequest({
    method: request.method,
    path: request.path,
    query: request.query.filter(([name]) => name !== 'X-Amz-Signature'),
    headers: request.headers,
    signedHeaders: signed.signedHeaders,
    payloadHash: signed.payloadHash,
  });
  const toSign = stringToSign(signed.amzDate, signed.scope, canonical);
  if (!signaturesMatch(signature(holder.secretAccessKey, signed.scope, toSign), signed.signature)) {
    throw new S3Error(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
      { AWSAccessKeyId: signed.accessKeyId, StringToSign: toSign, CanonicalRequest: canonical },
    );
  }
  return { principal: holder.principal, accessKeyId: signed.accessKeyId, payloadHash: signed.payloadHash };
}

interface Signed {
  readonly accessKeyId: string;
  readonly scope: CredentialScope;
  readonly amzDate: string;
  readonly signedHeaders: readonly string[];
  readonly signature: string;
  readonly payloadHash: string;
  /** Seconds the URL is valid from `amzDate`; absent for a header-signed request. */
  readonly expires?: number;
}

function fromQuery(query: ReadonlyMap<string, string>): Signed {
  const required = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Signature', 'X-Amz-Date', 'X-Amz-SignedHeaders', 'X-Amz-Expires'];
  if (required.some((name) => !query.has(name))) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      'Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters.',
    );
  }
  if (query.get('X-Amz-Algorithm') !== SIGV4_ALGORITHM) {
    throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"');
  }
  const expiresText = query.get('X-Amz-Expires')!;
  const expires = /^\d{1,7}$/.test(expiresText) ? Number(expiresText) : NaN;
  if (!(expires >= 0)) throw new S3Error('AuthorizationQueryParametersError', 'X-Amz-Expires should be a number');
  if (expires > MAX_EXPIRES_SECONDS) {
    throw new S3Error(
      'AuthorizationQueryParametersError',
      'X-Amz-Expires must be less than a week (in seconds) that is 604800 seconds; that is, the given X-Amz-Expires must be less than 604800 seconds',
    );
  }
  const payloadHash = query.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD;
  return {
    ...credential(query.get('X-Amz-Credential')!, 'AuthorizationQueryParametersError', 'X-Amz-Credential parameter'),
    amzDate: amzDate(query.get('X-Amz-Date')!, 'AuthorizationQueryParametersError'),
    signedHeaders: signedHeaderList(query.get('X-Amz-SignedHeaders')!),
    signature: query.get('X-Amz-Signature')!,
    payloadHash: checkPayloadHash(payloadHash),
    expires,
  };
}

function fromHeader(header: readonly string[], headers: ReadonlyMap<string, readonly string[]>): Signed {
  const malformed = (why: string) => new S3Error('AuthorizationHeaderMalformed', `The authorization header is malformed; ${why}`);
  if (header.length !== 1) throw malformed('only one Authorization header is allowed.');
  const match = /^AWS4-HMAC-SHA256 (.*)$/.exec(header[0]!.trim());
  if (!match) throw new S3Error('InvalidArgument', 'Unsupported Authorization Type', { ArgumentName: 'Authorization' });
  const parts = new Map<string, string>();
  for (const component of match[1]!.split(',')) {
    const [name, ...value] = component.trim().split('=');
    parts.set(name!, value.join('='));
  }
  for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!parts.has(name)) throw malformed(`missing ${name}.`);
  }
  const date = headers.get('x-amz-date');
  if (!date || date.length !== 1) throw new S3Error('AccessDenied', 'AWS authentication requires a valid Date or x-amz-date header');
  const payloadHash = headers.get('x-amz-content-sha256');
  if (!payloadHash) throw new S3Error('InvalidRequest', 'Missing required header for this request: x-amz-content-sha256');
  return {
    ...credential(parts.get('Credential')!, 'AuthorizationHeaderMalformed', 'Credential'),
    amzDate: amzDate(date[0]!, 'AccessDenied'),
    signedHeaders: signedHeaderList(parts.get('SignedHeaders')!),
    signature: parts.get('Signature')!,
    payloadHash: checkPayloadHash(payloadHash.join(',')),
  };
}

function credential(text: string, code: 'AuthorizationQueryParametersError' | 'AuthorizationHeaderMalformed', what: string) {
  const parts = text.split('/');
  if (parts.length !== 5 || parts[4] !== 'aws4_request' || !/^\d{8}$/.test(parts[1]!)) {
    throw new S3Error(code, `Error parsing the ${what}; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  }
  return { accessKeyId: parts[0]!, scope: { date: parts[1]!, region: parts[2]!, service: parts[3]! } };
}

function amzDate(text: string, code: 'AuthorizationQueryParametersError' | 'AccessDenied'): string {
  if (!AMZ_DATE.test(text)) {
    throw new S3Error(
      code,
      code === 'AccessDenied'
        ? 'AWS authentication requires a valid Date or x-amz-date header'
        : "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"",
    );
  }
  return text;
}

function signedHeaderList(text: string): string[] {
  return text.split(';').map((name) => name.trim().toLowerCase());
}

/** Streaming (aws-chunked) bodies are not accepted here: presigned URLs and plain signed bodies are. */
function checkPayloadHash(value: string): string {
  if (value === UNSIGNED_PAYLOAD || SHA256_HEX.test(value)) return value;
  if (value.startsWith('STREAMING-')) {
    throw new S3Error('NotImplemented', 'A header you provided implies functionality that is not implemented (aws-chunked bodies).');
  }
  throw new S3Error('InvalidArgument', 'x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER or a valid sha256 value.', {
    ArgumentName: 'x-amz-content-sha256',
  });
}

function checkScope(scope: CredentialScope, date: string, region: string, presigned: boolean): void {
  const code = presigned ? 'AuthorizationQueryParametersError' : 'AuthorizationHeaderMalformed';
  const what = presigned ? 'X-Amz-Credential parameter' : 'Credential';
  if (scope.date !== date.slice(0, 8)) {
    throw new S3Error(
      code,
      `Error parsing the ${what}; incorrect date format "${scope.date}". This date in the credential must be in the format "yyyyMMdd".`,
    );
  }
  if (scope.region !== region)
    throw new S3Error(code, `Error parsing the ${what}; the region '${scope.region}' is wrong; expecting '${region}'`, { Region: region });
  if (scope.service !== 's3')
    throw new S3Error(code, `Error parsing the ${what}; incorrect service "${scope.service}". This endpoint belongs to "s3".`);
}

function checkTime(signed: Signed, now: number): void {
  const [, y, mo, d, h, mi, s] = AMZ_DATE.exec(signed.amzDate)!.map(Number);
  const at = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!);
  const stamp = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  if (signed.expires === undefined) {
    if (Math.abs(now - at) > MAX_SKEW_MS) {
      throw new S3Error('RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.', {
        RequestTime: signed.amzDate,
        ServerTime: stamp(now),
        MaxAllowedSkewMilliseconds: String(MAX_SKEW_MS),
      });
    }
    return;
  }
  // A URL signed ahead of the clock is not valid yet (with the same 15-minute allowance).
  if (at - now > MAX_SKEW_MS) throw new S3Error('AccessDenied', 'Request is not valid yet');
  const expiresAt = at + signed.expires * 1000;
  if (now > expiresAt) {
    throw new S3Error('AccessDenied', 'Request has expired', {
      'X-Amz-Expires': String(signed.expires),
      Expires: stamp(expiresAt),
      ServerTime: stamp(now),
    });
  }
}
