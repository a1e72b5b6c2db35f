import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { Browser } from 'playwright-core';
import { startLocalStack, type LocalStack } from '../../local';
import { LOCAL_AWS } from '../../local/dynamo';
import { serveWebChat } from '../../local/web';
import { launchChromium } from '../support/chromium';

/**
 * The web chat's page and the local S3 endpoint in Debian's chromium: the page's CSP lets it reach the
 * endpoint, the bucket's CORS lets it PUT and GET with presigned URLs (a preflighted PUT), and a page of
 * another origin is refused by the browser.
 */
jest.setTimeout(60_000);

let browser: Browser;
let stack: LocalStack;
let pageUrl: string;
beforeAll(async () => {
  browser = await launchChromium();
  stack = await startLocalStack({ port: 0 });
  pageUrl = await serveWebChat(stack.gateway, [stack.s3Endpoint]);
});
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

async function urls(key: string, size: number): Promise<{ put: string; get: string }> {
  const uploader = stack.s3.credentials.issue({ name: 'upload', grants: [{ bucket: stack.s3Bucket, actions: ['s3:PutObject'] }] });
  const reader = stack.s3.credentials.issue({ name: 'download', grants: [{ bucket: stack.s3Bucket, actions: ['s3:GetObject', 's3:ListBucket'] }] });
  const client = (credentials: typeof uploader) =>
    new S3Client({
      endpoint: stack.s3Endpoint,
      forcePathStyle: true,
      region: LOCAL_AWS.region,
      credentials,
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
  return {
    put: await getSignedUrl(client(uploader), new PutObjectCommand({ Bucket: stack.s3Bucket, Key: key, ContentLength: size }), { expiresIn: 300 }),
    get: await getSignedUrl(client(reader), new GetObjectCommand({ Bucket: stack.s3Bucket, Key: key }), { expiresIn: 300 }),
  };
}

/** In the page: PUT the bytes, GET them back; a refusal by the browser is reported as its message. */
const transfer = ({ put, get, bytes }: { put: string; get: string; bytes: number[] }) =>
  (async () => {
    try {
      const stored = await fetch(put, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': 'application/octet-stream' } });
      const fetched = await fetch(get);
      return {
        put: stored.status,
        get: fetched.status,
        etag: fetched.headers.get('etag'),
        bytes: Array.from(new Uint8Array(await fetched.arrayBuffer())),
      };
    } catch (error) {
      return { refused: String(error) };
    }
  })();

it('the web chat page uploads and downloads with presigned URLs across origins', async () => {
  const page = await browser.newPage();
  await page.goto(pageUrl);
  const csp = (await fetch(pageUrl)).headers.get('content-security-policy') ?? '';
  expect(csp).toContain(`connect-src 'self' ${stack.s3Endpoint}`);
  const bytes = [0, 1, 2, 250, 255];
  const result = await page.evaluate(transfer, { ...(await urls('web/1', bytes.length)), bytes });
  expect(result).toMatchObject({ put: 200, get: 200, bytes });
  expect((result as { etag: string }).etag).toMatch(/^"[0-9a-f]{32}"$/);
  await page.close();
});

it('a page from an origin the bucket does not allow is refused by the browser, and nothing is stored', async () => {
  const page = await browser.newPage();
  await page.goto('data:text/html,<p>elsewhere</p>');
  const result = await page.evaluate(transfer, { ...(await urls('web/2', 3)), bytes: [1, 2, 3] });
  expect(result).toMatchObject({ refused: expect.stringContaining('Failed to fetch') });
  expect(stack.s3.objects(stack.s3Bucket).map((o) => o.key)).not.toContain('web/2');
  await page.close();
});
