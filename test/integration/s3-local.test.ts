import { createHash } from 'node:crypto';
import { connect } from 'node:net';
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { startLocalStack, type LocalStack } from '../../local';
import { LOCAL_AWS } from '../../local/dynamo';
import type { S3Credentials, S3Grant } from '../../local/s3';

/**
 * The local S3-compatible endpoint, through the clients ebb uses on AWS: URLs presigned by
 * `@aws-sdk/s3-request-presigner` and used with fetch as the SDK uploads, and `@aws-sdk/client-s3`
 * for what the operator's tools do. Every refusal is the one S3 answers, on the stack's clock.
 */

/** 10:30 UTC: objects created now expire at a midnight UTC, as S3's lifecycle rounds. */
const START = Date.UTC(2031, 0, 15, 10, 30);
let now = START;
/** An origin the operator configured in `webOrigins`. */
const WEB_ORIGIN = 'https://chat.example.org';
let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack({ port: 0, now: () => now, sweepIntervalMs: 3_600_000, config: { retentionDays: 30, webOrigins: [WEB_ORIGIN] } });
});
afterAll(() => stack.stop());
beforeEach(() => {
  now = START;
});

let principals = 0;
/** A credential holding exactly `grants` on the stack's bucket (the whole bucket unless a prefix is given). */
function credential(actions: S3Grant['actions'], prefix?: string): S3Credentials {
  return stack.s3.credentials.issue({ name: `test-${++principals}`, grants: [{ bucket: stack.s3Bucket, actions, prefix }] });
}

/** How the server presigns (the stack's clock given as `signingDate`), path-style, no default checksum of an empty body. */
function client(credentials: S3Credentials, options: { checksums?: 'WHEN_REQUIRED' | 'WHEN_SUPPORTED' } = {}): S3Client {
  return new S3Client({
    endpoint: stack.s3Endpoint,
    forcePathStyle: true,
    region: LOCAL_AWS.region,
    credentials,
    requestChecksumCalculation: options.checksums ?? 'WHEN_REQUIRED',
    // Header-signed requests carry the client's time, which S3 holds to its own clock: the stack's here.
    systemClockOffset: now - Date.now(),
    maxAttempts: 1,
  });
}

function presignPut(credentials: S3Credentials, key: string, size: number, extra: { tagging?: string; expiresIn?: number } = {}) {
  const command = new PutObjectCommand({ Bucket: stack.s3Bucket, Key: key, ContentLength: size, Tagging: extra.tagging });
  return getSignedUrl(client(credentials), command, { expiresIn: extra.expiresIn ?? 300, signingDate: new Date(now) });
}

function presignGet(credentials: S3Credentials, key: string, expiresIn = 300) {
  return getSignedUrl(client(credentials), new GetObjectCommand({ Bucket: stack.s3Bucket, Key: key }), { expiresIn, signingDate: new Date(now) });
}

/** The status and S3 error code (or body) of an answer. */
async function outcome(response: Response): Promise<{ status: number; code?: string; message?: string; body: Buffer }> {
  const body = Buffer.from(await response.arrayBuffer());
  const text = body.toString('utf8');
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1];
  const message = /<Message>([^<]*)<\/Message>/.exec(text)?.[1];
  return { status: response.status, code, message, body };
}

const put = (url: string, body: Buffer | string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'PUT', body: typeof body === 'string' ? body : new Uint8Array(body), headers });

function bytes(n: number, seed = 1): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

let keys = 0;
const newKey = (prefix = 'a/') => `${prefix}${++keys}-${createHash('sha256').update(String(keys)).digest('hex').slice(0, 16)}`;

describe('GIVEN the local stack', () => {
  it('returns its S3 endpoint on loopback and the bucket it created', async () => {
    expect(stack.s3Endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const admin = client(LOCAL_AWS.credentials);
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: stack.s3Bucket }));
    expect(listed.KeyCount).toBe(0);
  });
});

describe('GIVEN presigned URLs from @aws-sdk/s3-request-presigner', () => {
  const uploader = () => credential(['s3:PutObject'], 'a/');
  const reader = () => credential(['s3:GetObject', 's3:ListBucket'], 'a/');

  it('WHEN a signed PUT then a signed GET run THEN the same bytes come back, with S3 ETag and length', async () => {
    const key = newKey();
    const data = bytes(70_000);
    const stored = await put(await presignPut(uploader(), key, data.length), data);
    expect(stored.status).toBe(200);
    expect(stored.headers.get('etag')).toBe(`"${createHash('md5').update(data).digest('hex')}"`);

    const fetched = await fetch(await presignGet(reader(), key));
    expect(fetched.status).toBe(200);
    expect(fetched.headers.get('content-length')).toBe(String(data.length));
    expect(Buffer.from(await fetched.arrayBuffer()).equals(data)).toBe(true);
  });

  it('WHEN a GET asks for a byte range THEN S3 answers 206 with those bytes', async () => {
    const key = newKey();
    const data = bytes(1000, 7);
    await put(await presignPut(uploader(), key, data.length), data);
    const fetched = await fetch(await presignGet(reader(), key), { headers: { range: 'bytes=100-199' } });
    expect(fetched.status).toBe(206);
    expect(fetched.headers.get('content-range')).toBe('bytes 100-199/1000');
    expect(Buffer.from(await fetched.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);
  });

  it('WHEN the URL was signed with a wrong secret THEN 403 SignatureDoesNotMatch and nothing is stored', async () => {
    const real = uploader();
    const key = newKey();
    const url = await presignPut({ accessKeyId: real.accessKeyId, secretAccessKey: 'not-the-secret' }, key, 5);
    expect(await outcome(await put(url, 'hello'))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).not.toContain(key);
  });

  it.each([
    ['another key', (u: URL) => (u.pathname = u.pathname.replace(/[^/]+$/, 'other'))],
    ['a longer expiry', (u: URL) => u.searchParams.set('X-Amz-Expires', '604800')],
    [
      'a later date',
      (u: URL) =>
        u.searchParams.set(
          'X-Amz-Date',
          u.searchParams
            .get('X-Amz-Date')!
            .replace(/Z$/, '')
            .replace(/\d{2}$/, '59') + 'Z',
        ),
    ],
    ['no signed content-length', (u: URL) => u.searchParams.set('X-Amz-SignedHeaders', 'host')],
    ['an added tag', (u: URL) => u.searchParams.set('x-amz-tagging', 'expiry=never')],
    ['one signature digit changed', (u: URL) => u.searchParams.set('X-Amz-Signature', flipHex(u.searchParams.get('X-Amz-Signature')!))],
  ])('WHEN the URL is tampered with (%s) THEN 403 SignatureDoesNotMatch', async (_, tamper) => {
    const url = new URL(await presignPut(uploader(), newKey(), 5));
    tamper(url);
    expect(await outcome(await put(url.toString(), 'hello'))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
  });

  it('WHEN the stack clock passes X-Amz-Expires THEN 403 AccessDenied "Request has expired", for PUT and GET', async () => {
    const key = newKey();
    const putUrl = await presignPut(uploader(), key, 5, { expiresIn: 60 });
    const getUrl = await presignGet(reader(), key, 60);
    now += 60_000;
    expect((await put(putUrl, 'hello')).status).toBe(200);
    now += 1_000;
    expect(await outcome(await put(putUrl, 'hello'))).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Request has expired' });
    expect(await outcome(await fetch(getUrl))).toMatchObject({ status: 403, code: 'AccessDenied', message: 'Request has expired' });
  });

  it('WHEN a body longer than the signed length is sent THEN it is refused and nothing is stored', async () => {
    const key = newKey();
    const url = await presignPut(uploader(), key, 1024);
    expect(await outcome(await put(url, bytes(1025)))).toMatchObject({ status: 403, code: 'SignatureDoesNotMatch' });
    // A client that declares the signed length and sends more: at most the signed bytes are stored (the
    // rest is not a request: the connection is answered 400 and closed, before or after the PUT completes).
    expect([200, 400]).toContain((await rawPut(url, 1024, bytes(4096))).status);
    await new Promise((r) => setTimeout(r, 50));
    const stored = stack.s3.objects(stack.s3Bucket).find((o) => o.key === key);
    expect(stored === undefined || stored.size === 1024).toBe(true);
  });

  it('WHEN a body shorter than the signed length ends the connection THEN nothing is stored', async () => {
    const key = newKey();
    const url = await presignPut(uploader(), key, 1024);
    await rawPut(url, 1024, bytes(100), { endEarly: true }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 50));
    expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).not.toContain(key);
  });

  it('WHEN an unsigned x-amz header rides along THEN 403 AccessDenied, as S3 refuses unsigned x-amz headers', async () => {
    const url = await presignPut(uploader(), newKey(), 5);
    expect(await outcome(await put(url, 'hello', { 'x-amz-tagging': 'expiry=never' }))).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('WHEN a key was never stored THEN 404 NoSuchKey for a reader that may list, 403 AccessDenied for one that may not', async () => {
    const key = newKey();
    expect(await outcome(await fetch(await presignGet(reader(), key)))).toMatchObject({ status: 404, code: 'NoSuchKey' });
    const getOnly = credential(['s3:GetObject'], 'a/');
    expect(await outcome(await fetch(await presignGet(getOnly, key)))).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('WHEN the presigner used its default checksum (an empty body CRC32) THEN the upload is refused BadDigest, as S3 refuses it', async () => {
    const command = new PutObjectCommand({ Bucket: stack.s3Bucket, Key: newKey(), ContentLength: 5 });
    const url = await getSignedUrl(client(uploader(), { checksums: 'WHEN_SUPPORTED' }), command, { expiresIn: 300, signingDate: new Date(now) });
    expect(url).toContain('x-amz-checksum-crc32=');
    expect(await outcome(await put(url, 'hello'))).toMatchObject({ status: 400, code: 'BadDigest' });
  });
});

describe('GIVEN credentials each holding one grant, as the Lambdas roles do', () => {
  it.each([
    ['an upload credential signs a GET', () => presignGet(credential(['s3:PutObject'], 'a/'), 'a/x'), 'GET'],
    ['a download credential signs a PUT', () => presignPut(credential(['s3:GetObject', 's3:ListBucket'], 'a/'), 'a/x', 5), 'PUT'],
    ['an upload credential signs a PUT outside its prefix', () => presignPut(credential(['s3:PutObject'], 'a/'), 'b/x', 5), 'PUT'],
    [
      'an upload credential without PutObjectTagging signs a tagged PUT',
      () => presignPut(credential(['s3:PutObject'], 'a/'), 'a/x', 5, { tagging: 'k=v' }),
      'PUT',
    ],
  ])('WHEN %s THEN 403 AccessDenied', async (_, sign, method) => {
    const url = await sign();
    const answer = method === 'PUT' ? await put(url, 'hello') : await fetch(url);
    expect(await outcome(answer)).toMatchObject({ status: 403, code: 'AccessDenied' });
  });

  it('WHEN the upload credential may also tag THEN a tagged PUT is stored with its tag', async () => {
    const key = newKey();
    const url = await presignPut(credential(['s3:PutObject', 's3:PutObjectTagging'], 'a/'), key, 5, { tagging: 'expiry=7' });
    expect((await put(url, 'hello')).status).toBe(200);
    expect(
      stack.s3
        .objects(stack.s3Bucket)
        .find((o) => o.key === key)
        ?.tags.get('expiry'),
    ).toBe('7');
  });

  it('WHEN a request is unsigned, or signed by a key the stack never issued, or names another bucket THEN S3 refuses it', async () => {
    expect(await outcome(await fetch(`${stack.s3Endpoint}/${stack.s3Bucket}/a/x`))).toMatchObject({ status: 403, code: 'AccessDenied' });
    const stranger = await presignGet({ accessKeyId: 'AKIASTRANGER', secretAccessKey: 'x' }, 'a/x');
    expect(await outcome(await fetch(stranger))).toMatchObject({ status: 403, code: 'InvalidAccessKeyId' });
    const other = await getSignedUrl(client(LOCAL_AWS.credentials), new GetObjectCommand({ Bucket: 'no-such-bucket', Key: 'x' }), {
      signingDate: new Date(now),
    });
    expect(await outcome(await fetch(other))).toMatchObject({ status: 404, code: 'NoSuchBucket' });
  });

  it('WHEN the S3 client signs with a region the stack does not use THEN the credential scope is refused', async () => {
    const wrong = new S3Client({
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      region: 'eu-west-1',
      credentials: LOCAL_AWS.credentials,
      maxAttempts: 1,
    });
    await expect(wrong.send(new ListObjectsV2Command({ Bucket: stack.s3Bucket }))).rejects.toMatchObject({ name: 'AuthorizationHeaderMalformed' });
  });
});

describe('GIVEN the operator credential (the fixed local keys) and @aws-sdk/client-s3', () => {
  it('lists, heads and deletes objects in batches, as the purge and stats do; a deleted key is then NoSuchKey', async () => {
    const admin = client(LOCAL_AWS.credentials, { checksums: 'WHEN_SUPPORTED' });
    const prefix = `purge-${++keys}/`;
    for (let i = 0; i < 3; i++) await admin.send(new PutObjectCommand({ Bucket: stack.s3Bucket, Key: `${prefix}${i}`, Body: bytes(10 + i) }));
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: stack.s3Bucket, Prefix: prefix, MaxKeys: 2 }));
    expect(listed.Contents?.map((o) => [o.Key, o.Size])).toEqual([
      [`${prefix}0`, 10],
      [`${prefix}1`, 11],
    ]);
    expect(listed.IsTruncated).toBe(true);
    const rest = await admin.send(
      new ListObjectsV2Command({ Bucket: stack.s3Bucket, Prefix: prefix, ContinuationToken: listed.NextContinuationToken }),
    );
    expect(rest.Contents?.map((o) => o.Key)).toEqual([`${prefix}2`]);
    expect((await admin.send(new HeadObjectCommand({ Bucket: stack.s3Bucket, Key: `${prefix}2` }))).ContentLength).toBe(12);

    const deleted = await admin.send(
      new DeleteObjectsCommand({ Bucket: stack.s3Bucket, Delete: { Objects: [0, 1, 2].map((i) => ({ Key: `${prefix}${i}` })) } }),
    );
    expect(deleted.Deleted).toHaveLength(3);
    expect((await admin.send(new ListObjectsV2Command({ Bucket: stack.s3Bucket, Prefix: prefix }))).KeyCount).toBe(0);
    await expect(admin.send(new GetObjectCommand({ Bucket: stack.s3Bucket, Key: `${prefix}0` }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    await expect(admin.send(new HeadObjectCommand({ Bucket: stack.s3Bucket, Key: `${prefix}0` }))).rejects.toMatchObject({ name: 'NotFound' });
  });

  it('WHEN a batch delete names keys outside the credential grant THEN those are refused one by one and kept', async () => {
    const admin = client(LOCAL_AWS.credentials);
    await admin.send(new PutObjectCommand({ Bucket: stack.s3Bucket, Key: 'keep/1', Body: 'x' }));
    await admin.send(new PutObjectCommand({ Bucket: stack.s3Bucket, Key: 'a/drop', Body: 'x' }));
    const purger = client(credential(['s3:DeleteObject'], 'a/'));
    const result = await purger.send(
      new DeleteObjectsCommand({ Bucket: stack.s3Bucket, Delete: { Objects: [{ Key: 'keep/1' }, { Key: 'a/drop' }] } }),
    );
    expect(result.Deleted?.map((d) => d.Key)).toEqual(['a/drop']);
    expect(result.Errors?.map((e) => [e.Key, e.Code])).toEqual([['keep/1', 'AccessDenied']]);
    expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).toContain('keep/1');
  });

  it('WHEN a header-signed body does not match its x-amz-content-sha256 THEN XAmzContentSHA256Mismatch and nothing is stored', async () => {
    const admin = client(LOCAL_AWS.credentials);
    admin.middlewareStack.add(
      (next) => async (args) => {
        const request = args.request as { body: unknown };
        request.body = Buffer.from('hellO');
        return next(args);
      },
      { step: 'finalizeRequest', priority: 'low', name: 'swapBodyAfterSigning' },
    );
    const key = newKey('mismatch/');
    const error = await admin.send(new PutObjectCommand({ Bucket: stack.s3Bucket, Key: key, Body: 'hello' })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S3ServiceException);
    expect((error as S3ServiceException).name).toBe('XAmzContentSHA256Mismatch');
    expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).not.toContain(key);
  });
});

describe('GIVEN the bucket lifecycle: a rule per lifetime class, retentionDays for every object, and rules keyed on tags', () => {
  it('WHEN the stack clock passes retentionDays (rounded up to midnight UTC) THEN the object reads as gone and the sweep deletes it', async () => {
    // The operator's client is made after each move of the clock, which it signs with.
    const admin = () => client(LOCAL_AWS.credentials);
    const key = newKey('retention/');
    await admin().send(new PutObjectCommand({ Bucket: stack.s3Bucket, Key: key, Body: 'old' }));
    // Created 2031-01-15 10:30 UTC, 30 days: expires 2031-02-15 00:00 UTC.
    now = Date.UTC(2031, 1, 14, 23, 59, 59);
    expect(await stack.sweep()).toBe(0);
    expect((await admin().send(new HeadObjectCommand({ Bucket: stack.s3Bucket, Key: key }))).ContentLength).toBe(3);
    now = Date.UTC(2031, 1, 15);
    await expect(admin().send(new HeadObjectCommand({ Bucket: stack.s3Bucket, Key: key }))).rejects.toMatchObject({ name: 'NotFound' });
    expect(await stack.sweep()).toBeGreaterThanOrEqual(1);
    expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).not.toContain(key);
  });

  it('WHEN an id names a lifetime class (`<d>/…`, ARCH §6.12) THEN its object expires d days after upload, rounded up to midnight UTC', async () => {
    const admin = () => client(LOCAL_AWS.credentials);
    const oneDay = `1/${'A'.repeat(22)}`;
    const sevenDays = `7/${'B'.repeat(22)}`;
    for (const key of [oneDay, sevenDays]) await admin().send(new PutObjectCommand({ Bucket: stack.s3Bucket, Key: key, Body: 'x' }));
    // Uploaded 2031-01-15 10:30 UTC: class 1 expires 2031-01-17 00:00, class 7 on 2031-01-23 00:00.
    now = Date.UTC(2031, 0, 16, 23, 59, 59);
    expect(await stack.s3.sweep()).toBe(0);
    now = Date.UTC(2031, 0, 17);
    expect(await stack.s3.sweep()).toBe(1);
    const left = stack.s3.objects(stack.s3Bucket).map((o) => o.key);
    expect(left).toContain(sevenDays);
    expect(left).not.toContain(oneDay);
    now = Date.UTC(2031, 0, 23);
    expect(await stack.s3.sweep()).toBe(1);
    expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).not.toContain(sevenDays);
  });

  it('WHEN a rule keys on a tag THEN only tagged objects expire early', async () => {
    const rules = stack.s3.lifecycleOf(stack.s3Bucket);
    stack.s3.setLifecycle(stack.s3Bucket, [...rules, { id: 'short', expirationDays: 1, tags: { expiry: '1d' } }]);
    try {
      const admin = client(LOCAL_AWS.credentials);
      const tagged = newKey('tagged/');
      const plain = newKey('tagged/');
      await admin.send(new PutObjectCommand({ Bucket: stack.s3Bucket, Key: tagged, Body: 't', Tagging: 'expiry=1d' }));
      await admin.send(new PutObjectCommand({ Bucket: stack.s3Bucket, Key: plain, Body: 'p' }));
      now = Date.UTC(2031, 0, 17);
      expect(await stack.s3.sweep()).toBe(1);
      expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).toEqual(expect.arrayContaining([plain]));
      expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).not.toContain(tagged);
    } finally {
      stack.s3.setLifecycle(stack.s3Bucket, rules);
    }
  });
});

describe('GIVEN CORS for the web chat the stack serves and the configured webOrigins', () => {
  const origin = () => `http://127.0.0.1:${new URL(stack.url).port}`;

  it('WHEN the web chat preflights a PUT THEN S3 allows it; another origin is refused', async () => {
    const target = `${stack.s3Endpoint}/${stack.s3Bucket}/a/x`;
    const preflight = (from: string) =>
      fetch(target, {
        method: 'OPTIONS',
        headers: { origin: from, 'access-control-request-method': 'PUT', 'access-control-request-headers': 'content-type' },
      });
    const allowed = await preflight(origin());
    expect(allowed.status).toBe(200);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(origin());
    expect(allowed.headers.get('access-control-allow-methods')).toContain('PUT');
    expect((await preflight(WEB_ORIGIN)).headers.get('access-control-allow-origin')).toBe(WEB_ORIGIN);
    expect(await outcome(await preflight('https://evil.example'))).toMatchObject({ status: 403, code: 'AccessForbidden' });
  });

  it('WHEN the web chat GETs THEN the answer carries CORS headers, errors included', async () => {
    const url = await presignGet(credential(['s3:GetObject', 's3:ListBucket'], 'a/'), newKey());
    const answer = await fetch(url, { headers: { origin: origin() } });
    expect(answer.status).toBe(404);
    expect(answer.headers.get('access-control-allow-origin')).toBe(origin());
    const stranger = await fetch(url, { headers: { origin: 'https://evil.example' } });
    expect(stranger.headers.get('access-control-allow-origin')).toBeNull();
  });
});

it('stop() closes the S3 endpoint and removes what it stored', async () => {
  const own = await startLocalStack({ port: 0 });
  const endpoint = own.s3Endpoint;
  await own.stop();
  await expect(fetch(`${endpoint}/${own.s3Bucket}/x`)).rejects.toThrow();
});

/** A PUT over a raw socket that declares `declared` bytes and writes `body` (or part of it and hangs up). */
function rawPut(url: string, declared: number, body: Buffer, options: { endEarly?: boolean } = {}): Promise<{ status: number }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(target.port), target.hostname, () => {
      socket.write(`PUT ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Length: ${declared}\r\n\r\n`);
      if (options.endEarly) {
        socket.write(body, () => setTimeout(() => socket.destroy(), 20));
        return;
      }
      socket.write(body);
    });
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1];
      if (status) {
        resolve({ status: Number(status) });
        socket.destroy();
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error('closed without an answer')));
  });
}

function flipHex(hex: string): string {
  return (hex[0] === '0' ? '1' : '0') + hex.slice(1);
}
