import { request as httpRequest } from 'node:http';
import { Readable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import {
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import fc from 'fast-check';
import { LocalS3, type S3Credentials } from '../../local/s3';

/**
 * The local S3 endpoint on its own, on a clock the tests move: what S3 refuses beyond the stack's suite
 * (test/integration/s3-local.test.ts), keys of any characters, and memory bounded by streaming.
 */

const BUCKET = 'bucket';
const START = Date.UTC(2031, 5, 1, 12);
let now = START;
let s3: LocalS3;
let operator: S3Credentials;

beforeAll(async () => {
  s3 = await LocalS3.start({ now: () => now });
  s3.createBucket(BUCKET);
  operator = s3.credentials.issue({ name: 'operator', grants: [{ bucket: BUCKET, actions: ['s3:*'] }] });
});
afterAll(() => s3.close());
beforeEach(() => {
  now = START;
});

function client(credentials = operator, region = 'local'): S3Client {
  return new S3Client({
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    systemClockOffset: now - Date.now(),
    maxAttempts: 1,
  });
}

function presign(command: PutObjectCommand | GetObjectCommand, options: { expiresIn?: number; signedAt?: number; region?: string } = {}) {
  return getSignedUrl(client(operator, options.region), command, {
    expiresIn: options.expiresIn ?? 300,
    signingDate: new Date(options.signedAt ?? now),
  });
}

const putCommand = (key: string, size: number, extra: Partial<ConstructorParameters<typeof PutObjectCommand>[0]> = {}) =>
  new PutObjectCommand({ Bucket: BUCKET, Key: key, ContentLength: size, ...extra });

async function outcome(response: Response): Promise<{ status: number; code?: string; message?: string }> {
  const text = await response.text();
  return { status: response.status, code: /<Code>([^<]*)<\/Code>/.exec(text)?.[1], message: /<Message>([^<]*)<\/Message>/.exec(text)?.[1] };
}

describe('conditional writes (If-None-Match: *)', () => {
  it('stores under a free key, refuses the key once it holds an object (412), and keeps the first', async () => {
    const url = await presign(putCommand('once', 3, { IfNoneMatch: '*' }));
    expect(new URL(url).searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host;if-none-match');
    const headers = { 'if-none-match': '*' };
    expect((await fetch(url, { method: 'PUT', body: 'abc', headers })).status).toBe(200);
    expect(await outcome(await fetch(url, { method: 'PUT', body: 'xyz', headers }))).toMatchObject({ status: 412, code: 'PreconditionFailed' });
    const got = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'once' }));
    expect(await got.Body!.transformToString()).toBe('abc');
  });

  it('lets one of two conditional PUTs in flight win and answers the other 409 ConditionalRequestConflict', async () => {
    const url = new URL(await presign(putCommand('race', 4, { IfNoneMatch: '*' })));
    // The first PUT sends its headers and half its body, then waits; the second meets it in flight.
    const first = new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { method: 'PUT', headers: { 'content-length': 4, 'if-none-match': '*' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.write('ab');
      setTimeout(() => req.end('cd'), 300);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await outcome(await fetch(url, { method: 'PUT', body: 'wxyz', headers: { 'if-none-match': '*' } }))).toMatchObject({
      status: 409,
      code: 'ConditionalRequestConflict',
    });
    expect(await first).toBe(200);
    const got = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: 'race' }));
    expect(await got.Body!.transformToString()).toBe('abcd');
  });

  it('answers an If-None-Match other than * with 501 NotImplemented, storing nothing', async () => {
    const url = await presign(putCommand('etag', 1, { IfNoneMatch: '"abc"' }));
    expect(await outcome(await fetch(url, { method: 'PUT', body: 'x', headers: { 'if-none-match': '"abc"' } }))).toMatchObject({
      status: 501,
      code: 'NotImplemented',
    });
    expect(s3.objects(BUCKET).map((o) => o.key)).not.toContain('etag');
  });
});

describe('presigned URLs S3 refuses', () => {
  it('a URL valid for more than seven days: AuthorizationQueryParametersError', async () => {
    const url = new URL(await presign(putCommand('k', 1)));
    url.searchParams.set('X-Amz-Expires', '604801');
    expect(await outcome(await fetch(url, { method: 'PUT', body: 'x' }))).toMatchObject({ status: 400, code: 'AuthorizationQueryParametersError' });
  });

  it('a URL signed for another region: AuthorizationQueryParametersError', async () => {
    const url = await presign(putCommand('k', 1), { region: 'eu-west-1' });
    expect(await outcome(await fetch(url, { method: 'PUT', body: 'x' }))).toMatchObject({ status: 400, code: 'AuthorizationQueryParametersError' });
  });

  it('a URL signed more than 15 minutes ahead of the clock: AccessDenied "Request is not valid yet"', async () => {
    const url = await presign(putCommand('k', 1), { signedAt: now + 16 * 60_000 });
    expect(await outcome(await fetch(url, { method: 'PUT', body: 'x' }))).toMatchObject({
      status: 403,
      code: 'AccessDenied',
      message: 'Request is not valid yet',
    });
  });

  it('a URL that also carries an Authorization header: InvalidArgument', async () => {
    const url = await presign(putCommand('k', 1));
    const answer = await fetch(url, { method: 'PUT', body: 'x', headers: { authorization: 'AWS4-HMAC-SHA256 Credential=x' } });
    expect(await outcome(answer)).toMatchObject({ status: 400, code: 'InvalidArgument' });
  });

  it('a PUT signed without a length and sent chunked: 411 MissingContentLength', async () => {
    const url = await presign(new PutObjectCommand({ Bucket: BUCKET, Key: 'chunked' }));
    const body = Readable.toWeb(Readable.from([Buffer.from('abc')])) as ReadableStream<Uint8Array>;
    const answer = await fetch(url, { method: 'PUT', body, duplex: 'half' } as RequestInit);
    expect(await outcome(answer)).toMatchObject({ status: 411, code: 'MissingContentLength' });
  });

  it('a body whose Content-MD5 does not match: BadDigest, and nothing is stored', async () => {
    const url = await presign(putCommand('md5', 5, { ContentMD5: Buffer.alloc(16).toString('base64') }));
    const answer = await fetch(url, { method: 'PUT', body: 'hello', headers: { 'content-md5': Buffer.alloc(16).toString('base64') } });
    expect(await outcome(answer)).toMatchObject({ status: 400, code: 'BadDigest' });
    expect(s3.objects(BUCKET).map((o) => o.key)).not.toContain('md5');
  });

  it.each([
    ['eleven tags', Array.from({ length: 11 }, (_, i) => `k${i}=v`).join('&')],
    ['a repeated key', 'a=1&a=2'],
    ['a value over 256 characters', `a=${'v'.repeat(257)}`],
  ])('tags with %s: InvalidTag', async (_, tagging) => {
    const url = await presign(putCommand('tagged', 1, { Tagging: tagging }));
    expect(await outcome(await fetch(url, { method: 'PUT', body: 'x' }))).toMatchObject({ status: 400, code: 'InvalidTag' });
  });

  it('a multipart upload or a copy: NotImplemented, never a silent success', async () => {
    await expect(client().send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: 'm' }))).rejects.toMatchObject({ name: 'NotImplemented' });
    await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'm', Body: 'x' }));
    await expect(client().send(new CopyObjectCommand({ Bucket: BUCKET, Key: 'copy', CopySource: `${BUCKET}/m` }))).rejects.toMatchObject({
      name: 'NotImplemented',
    });
    expect(s3.objects(BUCKET).map((o) => o.key)).not.toContain('copy');
  });

  it('a range past the end: 416 InvalidRange', async () => {
    await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: 'short', Body: 'abc' }));
    const url = await presign(new GetObjectCommand({ Bucket: BUCKET, Key: 'short' }));
    expect(await outcome(await fetch(url, { headers: { range: 'bytes=10-20' } }))).toMatchObject({ status: 416, code: 'InvalidRange' });
  });
});

describe('header-signed requests S3 refuses', () => {
  it('a request dated more than 15 minutes from the clock: RequestTimeTooSkewed', async () => {
    const skewed = client();
    now += 16 * 60_000;
    await expect(skewed.send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({ name: 'RequestTimeTooSkewed' });
  });

  it('an upload refused for its signature sends no body when the client waits for 100-continue', async () => {
    const url = new URL(await presign(putCommand('continue', 4)));
    url.searchParams.set('X-Amz-Signature', '0'.repeat(64));
    const result = await new Promise<{ status: number; continued: boolean }>((resolve, reject) => {
      let continued = false;
      const req = httpRequest(url, { method: 'PUT', headers: { 'content-length': 4, expect: '100-continue' } }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, continued }));
      });
      req.on('continue', () => {
        continued = true;
        req.end('data');
      });
      req.on('error', reject);
    });
    expect(result).toEqual({ status: 403, continued: false });
  });
});

describe('ListObjectsV2', () => {
  it('groups keys under a delimiter into CommonPrefixes', async () => {
    for (const key of ['tree/a/1', 'tree/a/2', 'tree/b', 'tree/c/1'])
      await client().send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: 'x' }));
    const listed = await client().send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tree/', Delimiter: '/' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['tree/b']);
    expect(listed.CommonPrefixes?.map((p) => p.Prefix)).toEqual(['tree/a/', 'tree/c/']);
  });

  it('refuses a listing outside the prefix a credential may list', async () => {
    const lister = s3.credentials.issue({ name: 'lister', grants: [{ bucket: BUCKET, actions: ['s3:ListBucket'], prefix: 'tree/' }] });
    await expect(client(lister).send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: 'tree/a/' }))).resolves.toMatchObject({ KeyCount: 2 });
    await expect(client(lister).send(new ListObjectsV2Command({ Bucket: BUCKET }))).rejects.toMatchObject({ name: 'AccessDenied' });
  });
});

describe('a presigned PUT changed in any one character of its path or query', () => {
  /** What the endpoint signs over: the path and the query pairs, decoded (a hex digit's case is no change). */
  const meaning = (url: string) => {
    const { pathname, search } = new URL(url);
    try {
      return JSON.stringify([
        decodeURIComponent(pathname),
        search
          .slice(1)
          .split('&')
          .filter(Boolean)
          .map((pair) => pair.split('=').map(decodeURIComponent)),
      ]);
    } catch {
      return `malformed ${url}`;
    }
  };

  it('is refused, and stores nothing', async () => {
    const url = await presign(putCommand('fuzz/target', 5, { Tagging: 'class=1' }), { expiresIn: 600 });
    const start = url.indexOf('/', 'http://'.length);
    const edit = fc.record({
      at: fc.integer({ min: start + 1, max: url.length - 1 }),
      kind: fc.constantFrom('replace', 'insert', 'delete'),
      char: fc.constantFrom(...'aZ09%&=/._-~+'.split('')),
    });
    const before = s3.objects(BUCKET).length;
    await fc.assert(
      fc.asyncProperty(edit, async ({ at, kind, char }) => {
        const changed = url.slice(0, at) + (kind === 'delete' ? '' : char) + url.slice(kind === 'insert' ? at : at + 1);
        fc.pre(changed !== url && meaning(changed) !== meaning(url));
        const answer = await fetch(changed, { method: 'PUT', body: 'hello' });
        await answer.arrayBuffer();
        expect(answer.status).toBeGreaterThanOrEqual(400);
      }),
      { numRuns: 150 },
    );
    expect(s3.objects(BUCKET)).toHaveLength(before);
    // The URL itself still works: the refusals were the edits'.
    expect((await fetch(url, { method: 'PUT', body: 'hello' })).status).toBe(200);
  });

  it('refuses an auth parameter given twice, even with the same value', async () => {
    const url = await presign(putCommand('twice', 5));
    const expires = new URL(url).searchParams.get('X-Amz-Expires');
    expect(await outcome(await fetch(`${url}&X-Amz-Expires=${expires}`, { method: 'PUT', body: 'hello' }))).toMatchObject({
      status: 400,
      code: 'AuthorizationQueryParametersError',
    });
  });
});

describe('keys of any characters', () => {
  it('round-trip through presigned URLs and the S3 client, as S3 canonicalizes them', async () => {
    const key = fc
      .array(
        fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }), fc.constantFrom('/', ' ', '+', '%', '=', '&', '?', '#', '~', '*', "'")),
        {
          minLength: 1,
          maxLength: 8,
        },
      )
      .map((parts) => parts.join(''))
      .filter(
        (k) =>
          Buffer.byteLength(k) <= 1024 &&
          !k.startsWith('/') &&
          !/[\u0000-\u001f\u007f]/.test(k) &&
          !k.split('/').some((s) => s === '.' || s === '..'),
      );
    await fc.assert(
      fc.asyncProperty(key, fc.uint8Array({ minLength: 0, maxLength: 64 }), async (k, data) => {
        const put = await fetch(await presign(putCommand(k, data.length)), { method: 'PUT', body: data });
        expect(put.status).toBe(200);
        const got = await client().send(new GetObjectCommand({ Bucket: BUCKET, Key: k }));
        expect(Buffer.from(await got.Body!.transformToByteArray()).equals(Buffer.from(data))).toBe(true);
      }),
      { numRuns: 60 },
    );
  });
});

describe('memory', () => {
  it('streams a 100 MiB object in and out without holding it in memory', async () => {
    // Live memory, not garbage: a collection before each sample, so the figure does not depend on when V8
    // chooses to collect (on a loaded machine uncollected chunks alone can pass the bound).
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const size = 100 * 1024 * 1024;
    const chunk = Buffer.alloc(1024 * 1024, 0x5a);
    const live = () => {
      gc();
      const m = process.memoryUsage();
      return m.heapUsed + m.arrayBuffers;
    };
    const baseline = live();
    let peak = 0;
    const sample = () => {
      peak = Math.max(peak, live() - baseline);
    };
    const url = new URL(await presign(putCommand('big', size)));
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(url, { method: 'PUT', headers: { 'content-length': size } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      Readable.from(
        (function* () {
          for (let sent = 0; sent < size; sent += chunk.length) {
            if (sent % (16 * chunk.length) === 0) sample();
            yield chunk;
          }
        })(),
      ).pipe(req);
    });
    expect(status).toBe(200);
    const get = await fetch(await presign(new GetObjectCommand({ Bucket: BUCKET, Key: 'big' })));
    let received = 0;
    let sampledAt = 0;
    for await (const part of get.body as unknown as AsyncIterable<Uint8Array>) {
      received += part.length;
      if (received - sampledAt >= 16 * 1024 * 1024) {
        sampledAt = received;
        sample();
      }
    }
    expect(received).toBe(size);
    // Both ends of both transfers run in this process: an object held once would put 100 MiB above baseline.
    expect(peak).toBeLessThan(64 * 1024 * 1024);
  });
});
