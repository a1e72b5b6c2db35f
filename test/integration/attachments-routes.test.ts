import { randomBytes } from 'node:crypto';
import { maxAttachmentObjectBytes, toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { Handlers, ScheduledHandlers, type HandlerSpec } from '../../lambdas/routes';
import { connectUrl, makeIdentity, registerFrame, type TestIdentity } from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { UNTHROTTLED } from '../support/local-stack';

/**
 * Issue #16 §2, §3: the attachment routes through the local stack and the raw protocol, and what the local
 * S3 endpoint then does with the URLs they sign, as S3 would.
 */

const MAX_FILE = 64 * 1024;
/** 10:30 UTC, so lifetime classes and S3's midnight rounding are what the ARCH example says. */
const START = Date.UTC(2031, 0, 15, 10, 30);
const clock = { t: START, now: () => clock.t };
let stack: LocalStack;
const sockets: RawSocket[] = [];

beforeAll(async () => {
  stack = await startLocalStack({
    port: 0,
    now: clock.now,
    sweepIntervalMs: 3_600_000,
    config: {
      maxAttachmentBytes: MAX_FILE,
      rateLimits: { ...UNTHROTTLED, attachmentUploadPerMinute: 4, attachmentDownloadPerMinute: 6 },
    },
  });
});
afterEach(async () => {
  await Promise.all(sockets.splice(0).map((s) => s.close()));
  // A full minute later every bucket is full again.
  clock.t += 120_000;
});
afterAll(() => stack?.stop());

async function open(id: TestIdentity, target: LocalStack = stack): Promise<RawSocket> {
  const socket = await RawSocket.open(connectUrl(target.url, id, { ts: clock.t }));
  sockets.push(socket);
  return socket;
}

async function member(target: LocalStack = stack): Promise<{ id: TestIdentity; socket: RawSocket }> {
  const id = makeIdentity();
  const socket = await open(id, target);
  expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result' });
  return { id, socket };
}

/** A PUT as the SDK makes it: with the headers the URL signs (S3's conditional write, `if-none-match: *`). */
const put = (url: string, body: Uint8Array, headers: Record<string, string> = { 'if-none-match': '*' }) =>
  fetch(url, { method: 'PUT', body: body as Uint8Array<ArrayBuffer>, headers });
const get = (url: string) => fetch(url);
const bytes = (n: number) => new Uint8Array(randomBytes(n));
const objectKeys = (target: LocalStack = stack) => target.s3.objects(target.s3Bucket).map((o) => o.key);

async function upload(socket: RawSocket, body: Uint8Array, fields: Record<string, unknown> = {}) {
  const answer = await socket.request({ action: 'attachment.upload', size: body.length, ...fields });
  expect(answer).toMatchObject({ type: 'result' });
  const stored = await put(String(answer.url), body);
  expect(stored.status).toBe(200);
  return answer;
}

describe('GIVEN two registered users', () => {
  it('uploads through a presigned PUT and another user downloads the same bytes through a presigned GET', async () => {
    const [alice, bob] = [await member(), await member()];
    const body = bytes(40_000);
    const answer = await alice.socket.request({ action: 'attachment.upload', size: body.length });
    expect(answer).toEqual({
      type: 'result',
      rid: expect.any(String),
      id: expect.stringMatching(/^30\/[A-Za-z0-9_-]{22}$/),
      url: expect.stringMatching(new RegExp(`^${stack.s3Endpoint}/${stack.s3Bucket}/`)),
      expiresAt: clock.t + 600_000,
      headers: { 'if-none-match': '*' },
    });
    const url = new URL(String(answer.url));
    // Signed for this length, by a credential of the upload route's own, for ten minutes; no checksum of an empty body.
    expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('content-length;host;if-none-match');
    expect(url.searchParams.get('X-Amz-Expires')).toBe('600');
    expect(url.searchParams.has('x-amz-checksum-crc32')).toBe(false);
    expect(url.pathname).not.toContain(alice.id.uid);
    expect((await put(String(answer.url), body)).status).toBe(200);
    expect(objectKeys()).toContain(answer.id);

    const download = await bob.socket.request({ action: 'attachment.download', id: answer.id });
    expect(download).toMatchObject({ type: 'result', expiresAt: clock.t + 600_000 });
    const fetched = await get(String(download.url));
    expect(fetched.status).toBe(200);
    expect(new Uint8Array(await fetched.arrayBuffer())).toEqual(body);
  });

  it('answers a short-lived message with a short class, which the lifecycle expires at the right midnight', async () => {
    const { id: who, socket } = await member();
    const answer = await upload(socket, bytes(100), { expiresInSeconds: 3600 });
    expect(String(answer.id).startsWith('1/')).toBe(true);
    // Uploaded 10:3x on the 15th, class 1: S3 expires it at midnight starting the 17th.
    clock.t = Date.UTC(2031, 0, 17) - 1;
    await stack.sweep();
    expect(objectKeys()).toContain(answer.id);
    clock.t = Date.UTC(2031, 0, 17);
    await stack.sweep();
    expect(objectKeys()).not.toContain(answer.id);
    // A download asked for now meets an object that is gone: 404, which the SDK reports as NOT_FOUND.
    clock.t = Date.UTC(2031, 0, 17) + 1000;
    // The gateway closed the old connection two days ago (its two-hour limit runs on the stack's clock).
    const later = await open(who);
    const again = await later.request({ action: 'attachment.download', id: answer.id });
    const gone = await get(String(again.url));
    expect(gone.status).toBe(404);
    expect(await gone.text()).toContain('<Code>NoSuchKey</Code>');
  });

  it('presigns a GET for an id no one uploaded, which storage answers 404', async () => {
    const { socket } = await member();
    const answer = await socket.request({ action: 'attachment.download', id: `7/${toBase64Url(bytes(16))}` });
    expect(answer).toMatchObject({ type: 'result' });
    expect((await get(String(answer.url))).status).toBe(404);
  });

  it('refuses a declared size over the limit with PAYLOAD_TOO_LARGE and signs nothing; the largest allowed is signed', async () => {
    const { socket } = await member();
    const limit = maxAttachmentObjectBytes(MAX_FILE);
    const refused = await socket.request({ action: 'attachment.upload', size: limit + 1 });
    expect(refused).toEqual({ type: 'error', rid: expect.any(String), code: 'PAYLOAD_TOO_LARGE', message: expect.any(String), retryable: false });
    const allowed = await socket.request({ action: 'attachment.upload', size: limit });
    expect(allowed).toMatchObject({ type: 'result' });
    expect((await put(String(allowed.url), bytes(limit))).status).toBe(200);
  });

  it('refuses malformed frames with BAD_REQUEST: no size, a fractional size, an id that is a path', async () => {
    const { socket } = await member();
    for (const frame of [
      { action: 'attachment.upload' },
      { action: 'attachment.upload', size: 10.5 },
      { action: 'attachment.download', id: `7/../${toBase64Url(bytes(16))}` },
      { action: 'attachment.download', id: `${stack.s3Bucket}/x` },
    ]) {
      expect(await socket.request(frame)).toMatchObject({ type: 'error', code: 'BAD_REQUEST' });
    }
  });

  it('lets storage refuse more bytes, fewer bytes, a GET on the PUT URL and a URL pointed at another key', async () => {
    const { socket } = await member();
    const answer = await socket.request({ action: 'attachment.upload', size: 1000 });
    const url = String(answer.url);
    expect((await put(url, bytes(1001))).status).toBe(403);
    expect((await put(url, bytes(999))).status).toBe(403);
    expect((await get(url)).status).toBe(403);
    const elsewhere = url.replace(String(answer.id), `30/${toBase64Url(bytes(16))}`);
    expect((await put(elsewhere, bytes(1000))).status).toBe(403);
    expect(objectKeys()).not.toContain(answer.id);
    expect((await put(url, bytes(1000))).status).toBe(200);
  });

  it('lets storage refuse a replayed URL: the object uploaded first stays, whoever holds the URL', async () => {
    const { socket } = await member();
    const first = bytes(700);
    const answer = await socket.request({ action: 'attachment.upload', size: first.length });
    const url = String(answer.url);
    // Without the signed header the signature does not match; with it, the key already holds an object.
    expect((await put(url, first, {})).status).toBe(403);
    expect((await put(url, first)).status).toBe(200);
    const replay = await put(url, bytes(700));
    expect(replay.status).toBe(412);
    expect(await replay.text()).toContain('<Code>PreconditionFailed</Code>');
    const download = await socket.request({ action: 'attachment.download', id: answer.id });
    expect(new Uint8Array(await (await get(String(download.url))).arrayBuffer())).toEqual(first);
  });

  it('lets storage refuse a URL used after its ten minutes', async () => {
    const { socket } = await member();
    const body = bytes(500);
    const answer = await socket.request({ action: 'attachment.upload', size: body.length });
    const download = await socket.request({ action: 'attachment.download', id: answer.id });
    clock.t += 600_001;
    const late = await put(String(answer.url), body);
    expect(late.status).toBe(403);
    expect(await late.text()).toContain('Request has expired');
    expect((await get(String(download.url))).status).toBe(403);
    expect(objectKeys()).not.toContain(answer.id);
  });

  it('answers uploads past attachmentUploadPerMinute and downloads past attachmentDownloadPerMinute with RATE_LIMITED', async () => {
    const { socket } = await member();
    for (let i = 0; i < 4; i++) expect(await socket.request({ action: 'attachment.upload', size: 1 })).toMatchObject({ type: 'result' });
    const refused = await socket.request({ action: 'attachment.upload', size: 1 });
    expect(refused).toMatchObject({ type: 'error', code: 'RATE_LIMITED', retryable: true });
    // The seconds to the end of the minute's window the stack's clock stands in.
    expect(refused.retryAfterSeconds).toBe(Math.max(1, Math.ceil((60_000 - (clock.t % 60_000)) / 1000)));
    const id = `3/${toBase64Url(bytes(16))}`;
    for (let i = 0; i < 6; i++) expect(await socket.request({ action: 'attachment.download', id })).toMatchObject({ type: 'result' });
    expect(await socket.request({ action: 'attachment.download', id })).toMatchObject({ type: 'error', code: 'RATE_LIMITED' });
    // Another user's windows are their own.
    const other = await member();
    expect(await other.socket.request({ action: 'attachment.upload', size: 1 })).toMatchObject({ type: 'result' });
  });

  it('refuses an unregistered identity (FORBIDDEN) and a suspended account (ACCOUNT_SUSPENDED), uploads and downloads alike', async () => {
    const stranger = await open(makeIdentity());
    const id = `3/${toBase64Url(bytes(16))}`;
    expect(await stranger.request({ action: 'attachment.upload', size: 10 })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
    expect(await stranger.request({ action: 'attachment.download', id })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });

    const { id: who } = await member();
    expect(await stack.ports.accounts.suspend(who.uid, 'abuse', clock.t)).toBe(true);
    const suspended = await open(who);
    expect(await suspended.request({ action: 'attachment.upload', size: 10 })).toMatchObject({ type: 'error', code: 'ACCOUNT_SUSPENDED' });
    expect(await suspended.request({ action: 'attachment.download', id })).toMatchObject({ type: 'error', code: 'ACCOUNT_SUSPENDED' });
  });

  it('refuses a deleted account: no new uploads once account.delete ran', async () => {
    const { socket } = await member();
    expect(await socket.request({ action: 'account.delete' })).toMatchObject({ type: 'result', deleted: true });
    expect(await socket.request({ action: 'attachment.upload', size: 10 })).toMatchObject({ type: 'error', code: 'FORBIDDEN' });
  });
});

describe('GIVEN the sunset', () => {
  const T0 = Date.UTC(2031, 5, 1, 12);
  const sunsetClock = { t: T0, now: () => sunsetClock.t };
  let sunset: LocalStack;
  beforeAll(async () => {
    sunset = await startLocalStack({
      port: 0,
      now: sunsetClock.now,
      sweepIntervalMs: 3_600_000,
      lifecycleIntervalMs: 3_600_000,
      config: {
        rateLimits: UNTHROTTLED,
        sunset: { readOnlyAt: '2031-06-02T00:00:00Z', shutdownAt: '2031-06-03T00:00:00Z', purgeAt: '2031-06-04T00:00:00Z' },
      },
    });
  });
  afterAll(() => sunset?.stop());

  it('uploads until read-only, downloads until shut-down, and the purge deletes every object', async () => {
    const open2 = async () => {
      const id = makeIdentity();
      const socket = await RawSocket.open(connectUrl(sunset.url, id, { ts: sunsetClock.t }));
      sockets.push(socket);
      expect(await socket.request(registerFrame(id))).toMatchObject({ type: 'result' });
      return { id, socket };
    };
    const { id: alice, socket } = await open2();
    const uploaded: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await socket.request({ action: 'attachment.upload', size: 64 });
      expect((await put(String(answer.url), bytes(64))).status).toBe(200);
      uploaded.push(String(answer.id));
    }
    expect(objectKeys(sunset).sort()).toEqual([...uploaded].sort());

    sunsetClock.t = Date.parse('2031-06-02T00:00:00Z');
    // Twelve hours on: the gateway's two-hour limit closed the first connection.
    const readOnly = await RawSocket.open(connectUrl(sunset.url, alice, { ts: sunsetClock.t }));
    sockets.push(readOnly);
    expect(await readOnly.request({ action: 'attachment.upload', size: 64 })).toMatchObject({ type: 'error', code: 'SERVICE_READ_ONLY' });
    const download = await readOnly.request({ action: 'attachment.download', id: uploaded[0] });
    expect(download).toMatchObject({ type: 'result' });
    expect((await get(String(download.url))).status).toBe(200);

    sunsetClock.t = Date.parse('2031-06-03T00:00:00Z');
    await sunset.lifecycleTick();
    const late = await RawSocket.open(connectUrl(sunset.url, alice, { ts: sunsetClock.t }));
    sockets.push(late);
    expect(await late.request({ action: 'attachment.download', id: uploaded[0] })).toMatchObject({ type: 'error', code: 'SERVICE_SHUT_DOWN' });
    expect(await late.request({ action: 'attachment.upload', size: 64 })).toMatchObject({ type: 'error', code: 'SERVICE_SHUT_DOWN' });

    sunsetClock.t = Date.parse('2031-06-04T00:00:00Z');
    await sunset.lifecycleTick();
    expect(objectKeys(sunset)).toEqual([]);
  });
});

describe('GIVEN a download route granted PutObject instead of GetObject', () => {
  it('signs a GET that storage refuses: a URL carries no more than its signer may do', async () => {
    const withheld: HandlerSpec[] = [
      ...Handlers.map((spec) => (spec.entry === 'attachment-download' ? { ...spec, attachments: ['s3:PutObject' as const] } : spec)),
      ...ScheduledHandlers,
    ];
    const narrow = await startLocalStack({ port: 0, now: clock.now, handlers: withheld, config: { rateLimits: UNTHROTTLED } });
    try {
      const { socket } = await member(narrow);
      const answer = await socket.request({ action: 'attachment.upload', size: 8 });
      expect((await put(String(answer.url), bytes(8))).status).toBe(200);
      const download = await socket.request({ action: 'attachment.download', id: answer.id });
      const refused = await get(String(download.url));
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('<Code>AccessDenied</Code>');
    } finally {
      await narrow.stop();
    }
  });
});
