/**
 * S3's error responses: the HTTP status and `<Error><Code>` an S3 client parses into its exception
 * (`NoSuchKey`, `AccessDenied`, …). Messages are S3's own wording; none carries an object's bytes.
 */

/** The codes this endpoint answers, with S3's status for each. */
export const S3ErrorStatus = {
  AccessDenied: 403,
  AccessForbidden: 403,
  AuthorizationHeaderMalformed: 400,
  AuthorizationQueryParametersError: 400,
  BadDigest: 400,
  BadRequest: 400,
  ConditionalRequestConflict: 409,
  EntityTooLarge: 400,
  IncompleteBody: 400,
  InternalError: 500,
  InvalidAccessKeyId: 403,
  InvalidArgument: 400,
  InvalidDigest: 400,
  InvalidRange: 416,
  InvalidRequest: 400,
  InvalidTag: 400,
  InvalidURI: 400,
  MalformedXML: 400,
  MethodNotAllowed: 405,
  MissingContentLength: 411,
  NoSuchBucket: 404,
  NoSuchKey: 404,
  NotImplemented: 501,
  PreconditionFailed: 412,
  RequestTimeTooSkewed: 403,
  SignatureDoesNotMatch: 403,
  SlowDown: 503,
  XAmzContentSHA256Mismatch: 400,
} as const;

export type S3ErrorCode = keyof typeof S3ErrorStatus;

/** A refusal, answered as S3 answers it; `details` become extra elements of `<Error>`. */
export class S3Error extends Error {
  override readonly name = 'S3Error';

  constructor(
    readonly code: S3ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  get status(): number {
    return S3ErrorStatus[this.code];
  }

  /** The XML body, with the resource asked for and the request id as S3 adds them. */
  toXml(resource: string, requestId: string): string {
    const extra = Object.entries(this.details).map(([name, value]) => element(name, value));
    return xmlDocument(
      `<Error>${element('Code', this.code)}${element('Message', this.message)}${extra.join('')}${element('Resource', resource)}${element('RequestId', requestId)}</Error>`,
    );
  }
}

/** S3's wording for the refusals several operations share. */
export const Refusals = {
  accessDenied: () => new S3Error('AccessDenied', 'Access Denied'),
  noSuchKey: (key: string) => new S3Error('NoSuchKey', 'The specified key does not exist.', { Key: key }),
  noSuchBucket: (bucket: string) => new S3Error('NoSuchBucket', 'The specified bucket does not exist', { BucketName: bucket }),
  /** A failure S3 itself may answer any request with; clients retry both. */
  fault: (code: 'InternalError' | 'SlowDown') =>
    new S3Error(code, code === 'SlowDown' ? 'Please reduce your request rate.' : 'We encountered an internal error. Please try again.'),
  notImplemented: (what: string) =>
    new S3Error('NotImplemented', `A header or query you provided implies functionality that is not implemented (${what}).`),
} as const;

export function xmlDocument(body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
}

export function element(name: string, value: string | number | boolean): string {
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** Escapes text for an XML element; carriage returns too, which an XML parser would otherwise fold away. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"'\r]/g, (c) => XML_ESCAPES[c]!);
}

const XML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;' };
