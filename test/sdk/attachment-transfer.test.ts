import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import nacl from 'tweetnacl';
import { downloadAttachment, downloadAttachmentTo } from '../../client-sdk/src/attachments/download';
import type { AttachmentRoutes, Fetch } from '../../client-sdk/src/attachments/routes';
import { UPLOAD_ATTEMPTS, checkAttachments, uploadAttachments } from '../../client-sdk/src/attachments/upload';
import { ATTACHMENT_CHUNK_BYTES, attachmentCiphertextLength } from '../../client-sdk/src/crypto/attachment';
import { EbbError } from '../../client-sdk/src/errors';
import { loadNodeHttp } from '../../client-sdk/src/load-module';
import { nodePut } from '../../client-sdk/src/attachments/node-put';
import type { AttachmentRef } from '../../protocol/attachment-ref';

/** A bucket on node:http: PUT stores a body of exactly the declared length, GET serves it, 404 otherwise. */
class FakeBucket {
  readonly objects = new Map<string, Buffer>();
  readonly requests: string[] = [];
  private server!: Server;
  base = '';
  private next = 0;

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      const parts: Buffer[] = [];
      req.on('data', (d: Buffer) => parts.push(d));
      req.on('end', () => {
        const key = req.url!.slice(1);
        if (req.method === 'PUT') {
          const body = Buffer.concat(parts);
          if (Number(req.headers['content-length']) !== body.length) return void res.writeHead(400).end();
          this.objects.set(key, body);
          return void res.writeHead(200).end();
        }
        const object = this.objects.get(key);
        if (!object) return void res.writeHead(404).end();
        res.writeHead(200, { 'content-length': object.length }).end(object);
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  stop(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Routes that presign by naming a fresh object; `sizes` records each declared size. */
  routes(sizes: number[] = []): AttachmentRoutes & { uploads: number } {
    const routes = {
      uploads: 0,
      presignUpload: async (size: number) => {
        routes.uploads++;
        sizes.push(size);
        const id = `30/${String(this.next++).padStart(22, 'a')}`;
        return { id, url: `${this.base}/${id}` };
      },
      presignDownload: async (id: string) => ({ url: `${this.base}/${id}` }),
    };
    return routes;
  }
}

const noSleep = () => Promise.resolve();
let bucket: FakeBucket;

beforeEach(async () => {
  bucket = new FakeBucket();
  await bucket.start();
});
afterEach(() => bucket.stop());

async function upload(data: Uint8Array | Blob, options: { fetch?: Fetch; onProgress?: (s: number, t: number) => void } = {}) {
  const routes = bucket.routes();
  const [ref] = await uploadAttachments([{ name: 'f.bin', type: 'application/octet-stream', data }], { routes, sleep: noSleep, ...options });
  return { ref: ref!, routes };
}

describe('attachment upload and download against a bucket', () => {
  it('round-trips 3 MiB with progress that only goes forward and ends at the total; the bucket holds ciphertext only', async () => {
    const data = nacl.randomBytes(3 * 1024 * 1024 + 5);
    const sent: number[] = [];
    const sizes: number[] = [];
    const routes = bucket.routes(sizes);
    const [ref] = await uploadAttachments([{ name: 'f.bin', type: 'application/octet-stream', data }], {
      routes,
      onProgress: (s, t) => {
        expect(t).toBe(data.length);
        sent.push(s);
      },
    });
    expect(sizes).toEqual([attachmentCiphertextLength(data.length)]);
    expect(sent[0]).toBe(0);
    expect(sent.at(-1)).toBe(data.length);
    expect(sent.length).toBeGreaterThan(10);
    for (let i = 1; i < sent.length; i++) expect(sent[i]!).toBeGreaterThan(sent[i - 1]!);
    const stored = bucket.objects.get(ref!.id)!;
    expect(stored.indexOf(Buffer.from(data.subarray(0, 64)))).toBe(-1);

    const received: number[] = [];
    const back = await downloadAttachment(ref!, { routes, onProgress: (r) => received.push(r) });
    expect(Buffer.from(back).equals(Buffer.from(data))).toBe(true);
    expect(received.at(-1)).toBe(data.length);
  });

  it('uploads a Blob a chunk at a time, and an empty file', async () => {
    const data = nacl.randomBytes(2 * ATTACHMENT_CHUNK_BYTES + 1);
    const { ref, routes } = await upload(new Blob([data as BlobPart]));
    expect(Buffer.from(await downloadAttachment(ref, { routes })).equals(Buffer.from(data))).toBe(true);
    const empty = await upload(new Uint8Array(0));
    expect(await downloadAttachment(empty.ref, { routes: empty.routes })).toEqual(new Uint8Array(0));
  });

  it('retries a failed PUT with a new URL, and the object it finally stores opens', async () => {
    let failures = 0;
    const flaky: Fetch = async (url, init) => {
      if (init?.method === 'PUT' && failures++ < 2) {
        if (failures === 1) throw new TypeError('fetch failed');
        return new Response(null, { status: 503 });
      }
      return fetch(url, init);
    };
    const data = nacl.randomBytes(100_000);
    const { ref, routes } = await upload(data, { fetch: flaky });
    expect(routes.uploads).toBe(3);
    expect(Buffer.from(await downloadAttachment(ref, { routes })).equals(Buffer.from(data))).toBe(true);
  });

  it('gives up after every attempt failed, with a typed error', async () => {
    const down: Fetch = async () => new Response(null, { status: 500 });
    const routes = bucket.routes();
    const err = await uploadAttachments([{ name: 'f', type: 'a/b', data: new Uint8Array(10) }], { routes, fetch: down, sleep: noSleep }).catch(
      (e: unknown) => e,
    );
    expect(EbbError.is(err, 'INTERNAL')).toBe(true);
    expect(err).toMatchObject({ reason: 'attachment-upload', retryable: true });
    expect(routes.uploads).toBe(UPLOAD_ATTEMPTS);
  });

  it('does not retry a PUT the bucket refuses for good (400)', async () => {
    const refused: Fetch = async () => new Response(null, { status: 400 });
    const routes = bucket.routes();
    await expect(
      uploadAttachments([{ name: 'f', type: 'a/b', data: new Uint8Array(10) }], { routes, fetch: refused, sleep: noSleep }),
    ).rejects.toMatchObject({
      reason: 'attachment-upload',
    });
    expect(routes.uploads).toBe(1);
  });

  it('a flipped byte in the stored object fails the download as an integrity error, and no altered byte is written', async () => {
    const data = nacl.randomBytes(3 * ATTACHMENT_CHUNK_BYTES);
    const { ref, routes } = await upload(data);
    const stored = bucket.objects.get(ref.id)!;
    stored[stored.length - 100]! ^= 0x40;
    const written: Uint8Array[] = [];
    const err = await downloadAttachmentTo(ref, (c) => void written.push(c.slice()), { routes }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INTERNAL', reason: 'attachment-integrity', retryable: false });
    // The chunks before the altered one were authentic; the altered one never came out.
    expect(written.length).toBe(2);
    expect(Buffer.concat(written).equals(Buffer.from(data.subarray(0, 2 * ATTACHMENT_CHUNK_BYTES)))).toBe(true);
    await expect(downloadAttachment(ref, { routes })).rejects.toMatchObject({ reason: 'attachment-integrity' });
  });

  it('a truncated object, or one swapped for another, fails the download as an integrity error', async () => {
    const { ref, routes } = await upload(nacl.randomBytes(ATTACHMENT_CHUNK_BYTES + 10));
    const other = await upload(nacl.randomBytes(ATTACHMENT_CHUNK_BYTES + 10));
    const stored = bucket.objects.get(ref.id)!;
    bucket.objects.set(ref.id, stored.subarray(0, stored.length - 1));
    await expect(downloadAttachment(ref, { routes })).rejects.toMatchObject({ reason: 'attachment-integrity' });
    bucket.objects.set(ref.id, bucket.objects.get(other.ref.id)!);
    await expect(downloadAttachment(ref, { routes })).rejects.toMatchObject({ reason: 'attachment-integrity' });
  });

  it('an unknown or expired object is NOT_FOUND', async () => {
    const { ref, routes } = await upload(nacl.randomBytes(10));
    bucket.objects.delete(ref.id);
    await expect(downloadAttachment(ref, { routes })).rejects.toMatchObject({ code: 'NOT_FOUND', retryable: false });
  });

  it("passes the presign route's refusal through (NOT_FOUND, RATE_LIMITED…)", async () => {
    const ref: AttachmentRef = { id: `30/${'a'.repeat(22)}`, key: new Uint8Array(32), digest: new Uint8Array(32), size: 1, name: 'f', type: 'a/b' };
    const routes: AttachmentRoutes = {
      presignUpload: () => Promise.reject(new Error('unused')),
      presignDownload: () => Promise.reject(new EbbError('NOT_FOUND', 'no such attachment')),
    };
    await expect(downloadAttachment(ref, { routes })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe("nodePut (Node's upload transport)", () => {
  const MiB = 2 ** 20;
  /** A body of `total` bytes in 64 KiB pieces, counting what was asked for. */
  const counted = (total: number) => {
    const piece = new Uint8Array(ATTACHMENT_CHUNK_BYTES);
    const state = { produced: 0 };
    const next = async () => {
      if (state.produced >= total) return null;
      state.produced += piece.length;
      return piece;
    };
    return { state, next };
  };
  /** A server whose handler is `handle`, for the one test. */
  const serve = async (handle: Parameters<typeof createServer>[1]) => {
    const server = createServer(handle);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/x` };
  };

  it('seals ahead of a bucket that reads nothing by a bounded amount, and stops when it answers early (412)', async () => {
    const total = 64 * MiB;
    const body = counted(total);
    const { server, url } = await serve((_req, res) => {
      // Reads none of the body: only the socket's buffers and the transport's run-ahead can take pieces.
      setTimeout(() => res.writeHead(412, { connection: 'close' }).end(), 300);
    });
    try {
      const node = (await loadNodeHttp())!;
      await expect(nodePut(node, url, {}, total, body.next)).resolves.toBe(412);
      // The kernel's loopback buffers hold a few MiB at most; an unbounded run-ahead would seal all 64.
      expect(body.state.produced).toBeLessThan(total / 2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rejects, and stops asking for pieces, when the bucket drops the connection mid-body', async () => {
    const total = 64 * MiB;
    const body = counted(total);
    const { server, url } = await serve((req) => {
      let seen = 0;
      req.on('data', (d: Buffer) => {
        seen += d.length;
        if (seen >= MiB) req.socket.destroy();
      });
    });
    try {
      const node = (await loadNodeHttp())!;
      await expect(nodePut(node, url, {}, total, body.next)).rejects.toThrow();
      const produced = body.state.produced;
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(body.state.produced).toBe(produced);
      expect(produced).toBeLessThan(total / 2);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('checkAttachments', () => {
  const file = { name: 'a.txt', type: 'text/plain', data: new Uint8Array(10) };
  it('refuses a file over the limit as PAYLOAD_TOO_LARGE, a file at it passes', () => {
    expect(() => checkAttachments([file], 9)).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(checkAttachments([file], 10)).toHaveLength(1);
  });
  it.each([
    ['not an array', file],
    ['eleven files', Array.from({ length: 11 }, () => file)],
    ['a missing name', [{ ...file, name: undefined }]],
    ['a name of 256 characters', [{ ...file, name: 'x'.repeat(256) }]],
    ['a type without a subtype', [{ ...file, type: 'text' }]],
    ['data that is a string', [{ ...file, data: 'hello' }]],
  ])('refuses %s as BAD_REQUEST', (_, attachments) => {
    expect(() => checkAttachments(attachments, 1e9)).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
  });
});
