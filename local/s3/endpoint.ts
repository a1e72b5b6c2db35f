import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { authenticate, type Authenticated } from './auth';
import { corsHeaders, matchingRule, type CorsRule } from './cors';
import { Refusals, S3Error, element, xmlDocument } from './errors';
import { checkRules, expiresAt, type LifecycleRule } from './lifecycle';
import { allows, CredentialRegistry, type S3Action } from './policy';
import { effectiveHeaders, headerValues, parseDelete, parsePath, parseQuery, parseRange, parseTags, readBody } from './request';
import { ObjectStore, verifyBody, type BodyExpectations, type ChecksumAlgorithm, type StoredObject } from './store';
import { UNSIGNED_PAYLOAD } from './sigv4';

/**
 * An S3-compatible endpoint in the local stack's process, path-style (`/bucket/key`) on 127.0.0.1.
 * It serves what ebb uses of S3 (PutObject, GetObject with ranges, HeadObject, DeleteObject,
 * DeleteObjects, ListObjectsV2, HeadBucket) and refuses the rest as NotImplemented. Like S3, and on the
 * stack's clock: only SigV4-signed requests (presigned URLs or an Authorization header) from credentials
 * it issued, each held to its grants; expired URLs, unsigned `x-amz-*` headers, a Content-Length other
 * than the signed one, bodies that fail their digests; lifecycle expiration and CORS per bucket.
 *
 * No npm package does this: the in-process S3 servers (s3rver 3.7.1, the one kept) accept any SigV4
 * signature, read the wall clock and know a single fixed credential, so none could refuse what S3 refuses.
 */

export interface LocalS3Options {
  /** @default 0 (a free port) */
  readonly port?: number;
  /** The region credential scopes must name. @default 'local' (the local AWS clients' region) */
  readonly region?: string;
  /** Epoch milliseconds: signatures' dates and expiry, object ages. @default Date.now */
  readonly now?: () => number;
  /**
   * Fails an authenticated request to an existing bucket before it acts, as S3 now and then does (500
   * InternalError, 503 SlowDown), for tests of clients' retries. @default never
   */
  readonly fault?: (request: { readonly method: string; readonly bucket: string; readonly key: string }) => S3Fault | undefined;
}

/** The failures `fault` may inject. */
export type S3Fault = 'InternalError' | 'SlowDown';

/** How a bucket is configured, as infra configures the deployed one. */
export interface BucketSettings {
  /** @default none: objects never expire */
  readonly lifecycle?: readonly LifecycleRule[];
  /** @default none: browsers may not call the bucket */
  readonly cors?: readonly CorsRule[];
}

/** S3's limit on one PUT. */
const MAX_PUT_BYTES = 5 * 1024 ** 3;
/** DeleteObjects takes at most 1000 keys; their XML fits in this. */
const MAX_DELETE_BODY_BYTES = 2 * 1024 * 1024;
const S3_NAMESPACE = 'http://s3.amazonaws.com/doc/2006-03-01/';
const CHECKSUM_HEADERS: Record<string, ChecksumAlgorithm | undefined> = {
  'x-amz-checksum-crc32': 'CRC32',
  'x-amz-checksum-sha1': 'SHA1',
  'x-amz-checksum-sha256': 'SHA256',
  'x-amz-checksum-crc32c': undefined,
  'x-amz-checksum-crc64nvme': undefined,
};
/** Sub-resources of S3's API this endpoint does not serve (multipart, ACLs, versions, …). */
const UNSERVED = [
  'uploads',
  'uploadId',
  'partNumber',
  'acl',
  'versionId',
  'versions',
  'versioning',
  'policy',
  'lifecycle',
  'cors',
  'torrent',
  'restore',
  'select',
  'attributes',
  'retention',
  'legal-hold',
];

interface Bucket {
  lifecycle: readonly LifecycleRule[];
  cors: readonly CorsRule[];
}

/** One request, parsed once. */
interface Call {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly bucket: string;
  readonly key: string;
  readonly query: ReadonlyMap<string, string>;
  /** The request's headers, with the `x-amz-*` parameters a presigned URL carries as if they were headers. */
  readonly headers: ReadonlyMap<string, string>;
  readonly auth: Authenticated;
  /** Whether the client waits for `100 Continue` before sending its body. */
  readonly awaitingContinue: boolean;
}

/**
 * The endpoint (see above): `start()` it, create buckets, issue credentials, and `sweep()` what the
 * buckets' lifecycle rules have expired.
 */
export class LocalS3 {
  /** The access keys it accepts, each with its principal's grants. */
  readonly credentials = new CredentialRegistry();
  private readonly buckets = new Map<string, Bucket>();
  /** Keys with a conditional PUT in flight (`bucket/key`). */
  private readonly conditionalPuts = new Set<string>();
  private readonly now: () => number;
  private readonly region: string;
  private readonly fault: NonNullable<LocalS3Options['fault']>;

  private constructor(
    private readonly server: Server,
    private readonly store: ObjectStore,
    options: LocalS3Options,
  ) {
    this.now = options.now ?? (() => Date.now());
    this.region = options.region ?? 'local';
    this.fault = options.fault ?? (() => undefined);
  }

  /** Starts the endpoint; objects live in a temporary directory until `close()`. */
  static async start(options: LocalS3Options = {}): Promise<LocalS3> {
    const store = await ObjectStore.create();
    const server = createServer();
    const s3 = new LocalS3(server, store, options);
    // `handle` answers every refusal itself; a failure past that (a socket gone mid-answer) only ends the exchange.
    server.on('request', (req, res) => void s3.handle(req, res, false).catch(() => res.destroy()));
    // Authorize before the body is sent, as S3 does for `Expect: 100-continue`.
    server.on('checkContinue', (req, res) => void s3.handle(req, res, true).catch(() => res.destroy()));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
      });
    } catch (error) {
      await store.close();
      throw error;
    }
    return s3;
  }

  /** `http://127.0.0.1:<port>`: the endpoint for S3 clients (with `forcePathStyle: true`). */
  get endpoint(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Creates a bucket, or reconfigures one that exists. @throws Error on a lifecycle rule S3 would refuse. */
  createBucket(name: string, settings: BucketSettings = {}): void {
    checkRules(settings.lifecycle ?? []);
    this.store.createBucket(name);
    this.buckets.set(name, { lifecycle: settings.lifecycle ?? [], cors: settings.cors ?? [] });
  }

  /** Replaces a bucket's lifecycle rules. @throws Error for an unknown bucket or a rule S3 would refuse. */
  setLifecycle(bucket: string, rules: readonly LifecycleRule[]): void {
    checkRules(rules);
    this.bucketSettings(bucket).lifecycle = rules;
  }

  /** A bucket's lifecycle rules. @throws Error for an unknown bucket. */
  lifecycleOf(bucket: string): readonly LifecycleRule[] {
    return this.bucketSettings(bucket).lifecycle;
  }

  /** Replaces a bucket's CORS rules. @throws Error for an unknown bucket. */
  setCors(bucket: string, rules: readonly CorsRule[]): void {
    this.bucketSettings(bucket).cors = rules;
  }

  /** The objects of `bucket` that have not expired, in key order (tests inspect storage through it). */
  objects(bucket: string): readonly StoredObject[] {
    const settings = this.bucketSettings(bucket);
    return this.store.list(bucket).filter((object) => this.alive(object, settings));
  }

  /** Deletes every object past its lifecycle expiration, as S3's lifecycle would; resolves with how many. */
  async sweep(): Promise<number> {
    let deleted = 0;
    for (const [name, settings] of this.buckets) {
      for (const object of this.store.list(name)) {
        if (!this.alive(object, settings) && (await this.store.delete(name, object.key))) deleted++;
      }
    }
    return deleted;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await this.store.close();
  }

  private bucketSettings(bucket: string): Bucket {
    const settings = this.buckets.get(bucket);
    if (!settings) throw new Error(`local s3: no bucket ${bucket}`);
    return settings;
  }

  private alive(object: StoredObject, settings: Bucket): boolean {
    const at = expiresAt(object, settings.lifecycle);
    return at === undefined || this.now() < at;
  }

  private visible(bucket: string, key: string): StoredObject | undefined {
    const object = this.store.get(bucket, key);
    return object && this.alive(object, this.buckets.get(bucket)!) ? object : undefined;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, awaitingContinue: boolean): Promise<void> {
    const requestId = randomBytes(8).toString('hex').toUpperCase();
    res.setHeader('x-amz-request-id', requestId);
    res.setHeader('x-amz-id-2', randomBytes(24).toString('base64'));
    // S3's Date is its clock, from which SDK clients correct their skew: here the stack's.
    res.setHeader('date', new Date(this.now()).toUTCString());
    const method = req.method ?? 'GET';
    const [rawPath = '/', rawQuery = ''] = (req.url ?? '/').split(/\?(.*)/s);
    try {
      const query = parseQuery(rawQuery);
      const { bucket, key } = parsePath(rawPath);
      const headers = headerValues(req.rawHeaders);
      if (method === 'OPTIONS') return this.preflight(res, bucket, headers);
      this.addCors(res, bucket, method, headers);
      const auth = authenticate({ method, path: rawPath, query, headers }, { region: this.region, credentials: this.credentials, now: this.now });
      if (!bucket) throw Refusals.notImplemented('ListBuckets');
      if (!this.buckets.has(bucket)) throw Refusals.noSuchBucket(bucket);
      const fault = this.fault({ method, bucket, key });
      if (fault) throw Refusals.fault(fault);
      const queryMap = new Map(query);
      const call: Call = { req, res, method, bucket, key, query: queryMap, headers: effectiveHeaders(headers, query), auth, awaitingContinue };
      await (key ? this.objectOperation(call) : this.bucketOperation(call));
    } catch (error) {
      this.fail(req, res, error, rawPath, requestId, awaitingContinue);
    }
  }

  private async objectOperation(call: Call): Promise<void> {
    const unserved = UNSERVED.find((name) => call.query.has(name));
    if (unserved) throw Refusals.notImplemented(unserved);
    if (call.headers.has('x-amz-copy-source')) throw Refusals.notImplemented('CopyObject');
    switch (call.method) {
      case 'GET':
      case 'HEAD':
        return call.query.has('tagging') ? this.getTagging(call) : this.getObject(call);
      case 'PUT':
        if (call.query.has('tagging')) throw Refusals.notImplemented('PutObjectTagging');
        return this.putObject(call);
      case 'DELETE':
        if (call.query.has('tagging')) throw Refusals.notImplemented('DeleteObjectTagging');
        this.authorize(call, 's3:DeleteObject', call.key);
        await this.store.delete(call.bucket, call.key);
        call.res.writeHead(204).end();
        return;
      default:
        throw new S3Error('MethodNotAllowed', 'The specified method is not allowed against this resource.', {
          Method: call.method,
          ResourceType: 'OBJECT',
        });
    }
  }

  private async bucketOperation(call: Call): Promise<void> {
    if (call.method === 'GET' && call.query.get('list-type') === '2') return this.listObjects(call);
    if (call.method === 'HEAD' && call.query.size === 0) {
      this.authorize(call, 's3:ListBucket', '');
      call.res.writeHead(200, { 'x-amz-bucket-region': this.region }).end();
      return;
    }
    if (call.method === 'POST' && call.query.has('delete')) return this.deleteObjects(call);
    throw Refusals.notImplemented(`${call.method} on a bucket`);
  }

  /** GetObject and HeadObject, with a single byte range as S3 serves it. */
  private async getObject(call: Call): Promise<void> {
    this.authorize(call, 's3:GetObject', call.key);
    const object = this.visible(call.bucket, call.key);
    if (!object) throw this.missing(call);
    const range = parseRange(call.headers.get('range'), object.size);
    const headers: Record<string, string | number> = {
      'content-type': object.contentType,
      'content-length': range ? range.end - range.start + 1 : object.size,
      etag: object.etag,
      'last-modified': new Date(object.lastModified).toUTCString(),
      'accept-ranges': 'bytes',
    };
    for (const [name, value] of object.metadata) headers[name] = value;
    if (object.tags.size > 0) headers['x-amz-tagging-count'] = object.tags.size;
    if (range) headers['content-range'] = `bytes ${range.start}-${range.end}/${object.size}`;
    else if (object.checksum && call.headers.get('x-amz-checksum-mode') === 'ENABLED') {
      headers[`x-amz-checksum-${object.checksum.algorithm.toLowerCase()}`] = object.checksum.value;
    }
    call.res.writeHead(range ? 206 : 200, headers);
    if (call.method === 'HEAD' || object.size === 0) {
      call.res.end();
      return;
    }
    await pipeline(this.store.read(object, range?.start, range?.end), call.res).catch(() => call.res.destroy());
  }

  private async getTagging(call: Call): Promise<void> {
    this.authorize(call, 's3:GetObjectTagging', call.key);
    const object = this.visible(call.bucket, call.key);
    if (!object) throw this.missing(call);
    const tags = [...object.tags].map(([key, value]) => `<Tag>${element('Key', key)}${element('Value', value)}</Tag>`);
    sendXml(call.res, 200, `<Tagging xmlns="${S3_NAMESPACE}"><TagSet>${tags.join('')}</TagSet></Tagging>`);
  }

  private async putObject(call: Call): Promise<void> {
    const tagging = call.headers.get('x-amz-tagging');
    this.authorize(call, 's3:PutObject', call.key);
    // S3 asks for both permissions when an upload sets tags.
    if (tagging !== undefined) this.authorize(call, 's3:PutObjectTagging', call.key);
    const ifNoneMatch = call.headers.get('if-none-match');
    if (ifNoneMatch !== undefined && ifNoneMatch !== '*') {
      throw new S3Error('NotImplemented', 'A header you provided implies functionality that is not implemented', { Header: 'If-None-Match' });
    }
    const lengthHeader = call.req.headers['content-length'];
    if (lengthHeader === undefined) throw new S3Error('MissingContentLength', 'You must provide the Content-Length HTTP header.');
    const length = Number(lengthHeader);
    if (length > MAX_PUT_BYTES) {
      throw new S3Error('EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size', {
        ProposedSize: String(length),
        MaxSizeAllowed: String(MAX_PUT_BYTES),
      });
    }
    const expect: BodyExpectations = { length, ...digestExpectations(call) };
    // A conditional write (If-None-Match: *) as S3 applies it: refused (412) when the key holds an object,
    // checked again once the body is in; a second conditional PUT while one is in flight gets 409.
    const conditional = ifNoneMatch === '*';
    const slot = `${call.bucket}/${call.key}`;
    const precondition = () => {
      if (this.visible(call.bucket, call.key)) {
        throw new S3Error('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', { Condition: 'If-None-Match' });
      }
    };
    if (conditional) {
      precondition();
      if (this.conditionalPuts.has(slot)) {
        throw new S3Error('ConditionalRequestConflict', 'A conflicting conditional operation is currently in progress against this resource.');
      }
      this.conditionalPuts.add(slot);
    }
    const tags = tagging === undefined ? new Map<string, string>() : parseTags(tagging);
    const metadata = new Map([...call.headers].filter(([name]) => name.startsWith('x-amz-meta-')));
    if (call.awaitingContinue) call.res.writeContinue();
    const stored = await this.store
      .put(call.bucket, call.key, call.req, expect, {
        contentType: call.headers.get('content-type') ?? 'binary/octet-stream',
        tags,
        metadata,
        now: this.now(),
        ...(conditional && { precondition }),
      })
      .finally(() => {
        if (conditional) this.conditionalPuts.delete(slot);
      });
    const headers: Record<string, string> = { etag: stored.etag };
    if (stored.checksum) headers[`x-amz-checksum-${stored.checksum.algorithm.toLowerCase()}`] = stored.checksum.value;
    call.res.writeHead(200, headers).end();
  }

  /** ListObjectsV2, with `prefix`, `delimiter`, `start-after`, `max-keys` and continuation tokens. */
  private async listObjects(call: Call): Promise<void> {
    const prefix = call.query.get('prefix') ?? '';
    this.authorize(call, 's3:ListBucket', prefix);
    const delimiter = call.query.get('delimiter') ?? '';
    const encoding = call.query.get('encoding-type');
    if (encoding !== undefined && encoding !== 'url')
      throw new S3Error('InvalidArgument', 'Invalid Encoding Method specified in Request', { ArgumentName: 'encoding-type' });
    const maxKeysText = call.query.get('max-keys') ?? '1000';
    if (!/^\d+$/.test(maxKeysText))
      throw new S3Error('InvalidArgument', 'Provided max-keys not an integer or within integer range', { ArgumentName: 'max-keys' });
    const maxKeys = Math.min(Number(maxKeysText), 1000);
    const token = call.query.get('continuation-token');
    let after = call.query.get('start-after') ?? '';
    if (token !== undefined) {
      after = Buffer.from(token, 'base64url').toString('utf8');
      if (!token || Buffer.from(after, 'utf8').toString('base64url') !== token) {
        throw new S3Error('InvalidArgument', 'The continuation token provided is incorrect', { ArgumentName: 'continuation-token' });
      }
    }
    const settings = this.buckets.get(call.bucket)!;
    const contents: StoredObject[] = [];
    const prefixes: string[] = [];
    let last = '';
    let truncated = false;
    for (const object of this.store.list(call.bucket, prefix)) {
      if (Buffer.compare(Buffer.from(object.key), Buffer.from(after)) <= 0 || !this.alive(object, settings)) continue;
      const cut = delimiter ? object.key.indexOf(delimiter, prefix.length) : -1;
      const common = cut >= 0 ? object.key.slice(0, cut + delimiter.length) : undefined;
      if (common !== undefined && prefixes.at(-1) === common) continue;
      if (contents.length + prefixes.length === maxKeys) {
        truncated = true;
        break;
      }
      if (common !== undefined) prefixes.push(common);
      else contents.push(object);
      last = common ?? object.key;
    }
    const encode = (text: string) => (encoding === 'url' ? encodeURIComponent(text) : text);
    const body = [
      element('Name', call.bucket),
      element('Prefix', encode(prefix)),
      delimiter ? element('Delimiter', encode(delimiter)) : '',
      element('MaxKeys', maxKeys),
      element('KeyCount', contents.length + prefixes.length),
      element('IsTruncated', truncated),
      token !== undefined ? element('ContinuationToken', token) : '',
      truncated ? element('NextContinuationToken', Buffer.from(last, 'utf8').toString('base64url')) : '',
      call.query.has('start-after') ? element('StartAfter', encode(call.query.get('start-after')!)) : '',
      encoding ? element('EncodingType', encoding) : '',
      ...contents.map(
        (o) =>
          `<Contents>${element('Key', encode(o.key))}${element('LastModified', new Date(o.lastModified).toISOString())}${element('ETag', o.etag)}${element('Size', o.size)}${element('StorageClass', 'STANDARD')}</Contents>`,
      ),
      ...prefixes.map((p) => `<CommonPrefixes>${element('Prefix', encode(p))}</CommonPrefixes>`),
    ];
    sendXml(call.res, 200, `<ListBucketResult xmlns="${S3_NAMESPACE}">${body.join('')}</ListBucketResult>`);
  }

  /** DeleteObjects: each key is authorized on its own and reported as deleted or refused, as S3 does. */
  private async deleteObjects(call: Call): Promise<void> {
    const expect = digestExpectations(call);
    if (expect.md5 === undefined && expect.checksum === undefined) {
      throw new S3Error('InvalidRequest', 'Missing required header for this request: Content-MD5 OR x-amz-checksum-*');
    }
    if (call.awaitingContinue) call.res.writeContinue();
    const body = await readBody(call.req, MAX_DELETE_BODY_BYTES);
    await verifyBody(body, expect);
    const { keys, quiet } = parseDelete(body.toString('utf8'));
    const results: string[] = [];
    for (const key of keys) {
      if (!allows(call.auth.principal, 's3:DeleteObject', call.bucket, key)) {
        results.push(`<Error>${element('Key', key)}${element('Code', 'AccessDenied')}${element('Message', 'Access Denied')}</Error>`);
        continue;
      }
      await this.store.delete(call.bucket, key);
      if (!quiet) results.push(`<Deleted>${element('Key', key)}</Deleted>`);
    }
    sendXml(call.res, 200, `<DeleteResult xmlns="${S3_NAMESPACE}">${results.join('')}</DeleteResult>`);
  }

  private authorize(call: Call, action: Exclude<S3Action, 's3:*'>, key: string): void {
    if (!allows(call.auth.principal, action, call.bucket, key)) throw Refusals.accessDenied();
  }

  /** S3 tells a missing key from a forbidden one only to a caller that may list the bucket. */
  private missing(call: Call): S3Error {
    return allows(call.auth.principal, 's3:ListBucket', call.bucket, call.key) ? Refusals.noSuchKey(call.key) : Refusals.accessDenied();
  }

  private preflight(res: ServerResponse, bucket: string, headers: ReadonlyMap<string, readonly string[]>): void {
    const origin = headers.get('origin')?.[0];
    const method = headers.get('access-control-request-method')?.[0];
    if (!origin) throw new S3Error('BadRequest', 'Insufficient information. Origin request header needed.');
    if (!method) throw new S3Error('BadRequest', 'Invalid Access-Control-Request-Method: null');
    const settings = this.buckets.get(bucket);
    if (!settings) throw Refusals.noSuchBucket(bucket);
    const requested = (headers.get('access-control-request-headers') ?? [])
      .flatMap((value) => value.split(','))
      .map((name) => name.trim().toLowerCase())
      .filter(Boolean);
    const rule = matchingRule(settings.cors, origin, method, requested);
    if (!rule) {
      throw new S3Error(
        'AccessForbidden',
        "CORSResponse: This CORS request is not allowed. This is usually because the evalution of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec.",
        { Method: method, ResourceType: 'OBJECT' },
      );
    }
    res.writeHead(200, corsHeaders(rule, origin, { headers: requested })).end();
  }

  /** CORS headers on an actual request from an allowed origin, errors included, so the page can read them. */
  private addCors(res: ServerResponse, bucket: string, method: string, headers: ReadonlyMap<string, readonly string[]>): void {
    const origin = headers.get('origin')?.[0];
    const settings = this.buckets.get(bucket);
    if (!origin || !settings) return;
    const rule = matchingRule(settings.cors, origin, method);
    if (rule) for (const [name, value] of Object.entries(corsHeaders(rule, origin))) res.setHeader(name, value);
  }

  private fail(req: IncomingMessage, res: ServerResponse, error: unknown, resource: string, requestId: string, awaitingContinue: boolean): void {
    const refusal = error instanceof S3Error ? error : new S3Error('InvalidRequest', 'The request could not be served.');
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // A client still waiting to send its body will not send it: the connection cannot carry another request.
    if (awaitingContinue && !req.complete) res.setHeader('connection', 'close');
    if (req.method === 'HEAD') {
      res.writeHead(refusal.status).end();
      return;
    }
    sendXml(res, refusal.status, refusal.toXml(resource, requestId));
  }
}

function sendXml(res: ServerResponse, status: number, body: string): void {
  const xml = body.startsWith('<?xml') ? body : xmlDocument(body);
  res.writeHead(status, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(xml) }).end(xml);
}

/** What the body must hash to: the signed payload hash, `Content-MD5`, and an `x-amz-checksum-*` header. */
function digestExpectations(call: Call): Omit<BodyExpectations, 'length'> {
  const md5 = call.headers.get('content-md5');
  if (md5 !== undefined && Buffer.from(md5, 'base64').length !== 16) {
    throw new S3Error('InvalidDigest', 'The Content-MD5 you specified was invalid.');
  }
  const declared = Object.keys(CHECKSUM_HEADERS).filter((name) => call.headers.has(name));
  if (declared.length > 1) throw new S3Error('InvalidRequest', 'Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.');
  let checksum: BodyExpectations['checksum'];
  if (declared.length === 1) {
    const algorithm = CHECKSUM_HEADERS[declared[0]!];
    if (!algorithm) throw Refusals.notImplemented(declared[0]!);
    checksum = { algorithm, value: call.headers.get(declared[0]!)! };
  }
  const sha256 = call.auth.payloadHash === UNSIGNED_PAYLOAD ? undefined : call.auth.payloadHash;
  return { md5, sha256, checksum };
}
