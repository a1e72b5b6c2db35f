import { readFileSync, writeFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import nacl from 'tweetnacl';
import { EbbClient, EbbError, MemoryStore, type ReceivedMessage, type SentMessage } from '../../client-sdk/src';
import { DynamoReports, documentClient } from '../../lambdas/adapters/dynamodb';
import { LOCAL_AWS } from '../../local/dynamo';
import { sdkSuite } from '../support/local-stack';
import { inbox, until } from '../support/sdk';

const MiB = 2 ** 20;
const DAY = 86_400_000;

/** A shared clock for the stack and every client, ahead of real time by `offset`: attachments expire without sleeping. */
const clock = { offset: 0, now: () => Date.now() + clock.offset };

/** Every request the SDK makes with fetch (attachments only), and failures to inject into the next PUTs. */
const http = { requests: [] as string[], failPuts: 0, failWith: 'network' as 'network' | 503 };
const countingFetch = async (url: string, init?: RequestInit): Promise<Response> => {
  http.requests.push(`${init?.method ?? 'GET'} ${new URL(url).pathname}`);
  if (init?.method === 'PUT' && http.failPuts > 0) {
    http.failPuts--;
    await (init.body as ReadableStream | undefined)?.cancel?.();
    if (http.failWith === 'network') throw new TypeError('fetch failed');
    return new Response(null, { status: 503 });
  }
  return fetch(url, init);
};

const env = sdkSuite(
  { now: clock.now, config: { maxAttachmentBytes: 8 * MiB, maxDevicesPerAccount: 3 } },
  { now: clock.now, fetch: countingFetch, reconnect: { baseDelayMs: 20, maxDelayMs: 200 }, timeoutMs: 20_000 },
);
beforeEach(() => {
  http.requests = [];
  http.failPuts = 0;
});

const stored = () => env.stack.s3.objects(env.stack.s3Bucket);

async function pair(): Promise<{ alice: EbbClient; bob: EbbClient; bobInbox: ReceivedMessage[] }> {
  const alice = await env.connected();
  const bob = await env.connected();
  return { alice, bob, bobInbox: inbox(bob) };
}

async function received(messages: ReceivedMessage[], count = 1): Promise<ReceivedMessage> {
  await until(() => messages.length >= count, 'the message to arrive', 15_000);
  return messages[count - 1]!;
}

describe('attachments through the local stack', () => {
  it('round-trips a few MiB with progress both ways; the bucket holds ciphertext of the encrypted length only', async () => {
    const { alice, bob, bobInbox } = await pair();
    const photo = nacl.randomBytes(3 * MiB + 123);
    const note = nacl.randomBytes(1000);
    const progress: [number, number][] = [];
    await alice.send(bob.userId, 'the cat', {
      attachments: [
        { name: 'cat.jpg', type: 'image/jpeg', data: photo },
        { name: 'note.ogg', type: 'audio/ogg', data: new Blob([note as BlobPart]) },
      ],
      onProgress: (sent, total) => progress.push([sent, total]),
    });
    const total = photo.length + note.length;
    expect(progress[0]).toEqual([0, total]);
    expect(progress.at(-1)).toEqual([total, total]);
    for (let i = 1; i < progress.length; i++) expect(progress[i]![0]).toBeGreaterThan(progress[i - 1]![0]);

    const message = await received(bobInbox);
    expect(message.text).toBe('the cat');
    expect(message.attachments!.map(({ name, type, size }) => ({ name, type, size }))).toEqual([
      { name: 'cat.jpg', type: 'image/jpeg', size: photo.length },
      { name: 'note.ogg', type: 'audio/ogg', size: note.length },
    ]);
    // What the app sees of an attachment: no key or digest among its fields.
    expect(Object.keys(message.attachments![0]!).sort()).toEqual(['id', 'name', 'size', 'type']);

    const got: number[] = [];
    const bytes = await message.attachments![0]!.download({ onProgress: (n, t) => (expect(t).toBe(photo.length), got.push(n)) });
    expect(Buffer.from(bytes).equals(Buffer.from(photo))).toBe(true);
    expect(got.at(-1)).toBe(photo.length);
    const chunks: Uint8Array[] = [];
    await message.attachments![1]!.downloadTo((c) => void chunks.push(c));
    expect(Buffer.concat(chunks).equals(Buffer.from(note))).toBe(true);

    // The bucket: two objects named by the routes, each a little longer than its file, no plaintext in either.
    const objects = stored().filter((o) => message.attachments!.some((a) => a.id === o.key));
    expect(objects.map((o) => o.size).sort((a, b) => a - b)).toEqual([note.length + 20 + 16, photo.length + 20 + 49 * 16]);
    const object = readFileSync(objects.find((o) => o.size > MiB)!.file);
    expect(object.indexOf(Buffer.from(photo.subarray(1000, 1064)))).toBe(-1);
  });

  it("a sender's other device gets the attachments in its sent copy, and can download them", async () => {
    const { alice, bob, bobInbox } = await pair();
    const laptop = await env.client(new MemoryStore());
    const { code, linked } = await laptop.startLink();
    await alice.approveLink(code, { name: 'laptop' });
    await linked;
    await laptop.connect();
    const sent: SentMessage[] = [];
    laptop.on('sent', (s) => sent.push(s));
    const file = nacl.randomBytes(70_000);
    await alice.send(bob.userId, 'for you', { attachments: [{ name: 'a.bin', type: 'application/octet-stream', data: file }] });
    await received(bobInbox);
    await until(() => sent.length === 1, 'the sent copy on the laptop', 15_000);
    expect(sent[0]!.attachments![0]).toMatchObject({ name: 'a.bin', size: file.length });
    expect(Buffer.from(await sent[0]!.attachments![0]!.download()).equals(Buffer.from(file))).toBe(true);
  });

  it('over the limit: PAYLOAD_TOO_LARGE before any byte is uploaded, and no message is sent', async () => {
    const { alice, bob, bobInbox } = await pair();
    const before = stored().length;
    const err = await alice
      .send(bob.userId, 'too big', {
        attachments: [
          { name: 'ok.txt', type: 'text/plain', data: new Uint8Array(10) },
          { name: 'big.bin', type: 'application/octet-stream', data: new Uint8Array(8 * MiB + 1) },
        ],
      })
      .catch((e: unknown) => e);
    expect(EbbError.is(err, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect(http.requests).toEqual([]);
    expect(stored().length).toBe(before);
    await alice.send(bob.userId, 'after');
    expect((await received(bobInbox)).text).toBe('after');
  });

  it('a malformed attachment list is BAD_REQUEST, and nothing is uploaded or sent', async () => {
    const { alice, bob } = await pair();
    const attachments = Array.from({ length: 11 }, (_, i) => ({ name: `${i}.txt`, type: 'text/plain', data: new Uint8Array(1) }));
    for (const bad of [
      attachments,
      [{ name: '', type: 'text/plain', data: new Uint8Array(1) }],
      [{ name: 'x', type: 'nope', data: new Uint8Array(1) }],
    ]) {
      await expect(alice.send(bob.userId, 'x', { attachments: bad })).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect(http.requests).toEqual([]);
  });

  it('a flipped byte in the stored object: the download fails with an integrity error and returns nothing', async () => {
    const { alice, bob, bobInbox } = await pair();
    const file = nacl.randomBytes(200_000);
    await alice.send(bob.userId, 'x', { attachments: [{ name: 'f.bin', type: 'application/octet-stream', data: file }] });
    const [attachment] = (await received(bobInbox)).attachments!;
    const object = stored().find((o) => o.key === attachment!.id)!;
    const bytes = readFileSync(object.file);
    bytes[bytes.length - 500]! ^= 0x01;
    writeFileSync(object.file, bytes);
    const err = await attachment!.download().catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INTERNAL', reason: 'attachment-integrity', retryable: false });
    expect(String((err as Error).message)).toContain('integrity');
  });

  it('an unknown attachment and an expired one are NOT_FOUND', async () => {
    const { alice, bob, bobInbox } = await pair();
    await alice.send(bob.userId, 'short-lived', {
      expiresInSeconds: 3600,
      attachments: [{ name: 'f.bin', type: 'application/octet-stream', data: new Uint8Array(5000) }],
    });
    const message = await received(bobInbox);
    const [attachment] = message.attachments!;
    // Unknown: the same reference, as an app keeps it in its history (JSON), with another object id.
    const saved = JSON.parse(JSON.stringify(attachment)) as Record<string, unknown>;
    expect(saved).toMatchObject({ id: attachment!.id, name: 'f.bin' });
    const unknown = bob.attachment({ ...saved, id: `1/${'Q'.repeat(22)}` });
    expect(await unknown.download().catch((e: unknown) => (e as EbbError).code)).toBe('NOT_FOUND');
    expect(() => bob.attachment({ ...saved, key: 'short' })).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    // The reference as saved still downloads, through any client.
    expect((await bob.attachment(saved).download()).length).toBe(5000);

    // Expired: the bucket's lifecycle removes it within a day after the message's hour is up.
    clock.offset += 2 * DAY + 60_000;
    await env.stack.s3.sweep();
    expect(stored().some((o) => o.key === attachment!.id)).toBe(false);
    const err = await attachment!.download().catch((e: unknown) => e);
    expect(EbbError.is(err, 'NOT_FOUND')).toBe(true);
  });

  it('a failed upload is retried with backoff and the message goes out once', async () => {
    const { alice, bob, bobInbox } = await pair();
    http.failPuts = 2;
    http.failWith = 'network';
    const file = nacl.randomBytes(150_000);
    await alice.send(bob.userId, 'eventually', { attachments: [{ name: 'f.bin', type: 'application/octet-stream', data: file }] });
    expect(http.requests.filter((r) => r.startsWith('PUT'))).toHaveLength(3);
    const message = await received(bobInbox);
    expect(Buffer.from(await message.attachments![0]!.download()).equals(Buffer.from(file))).toBe(true);
    await new Promise((r) => setTimeout(r, 200));
    expect(bobInbox).toHaveLength(1);
  });

  it('an upload that fails every attempt rejects with a typed error and sends no message', async () => {
    const { alice, bob, bobInbox } = await pair();
    http.failPuts = 100;
    http.failWith = 503;
    const err = await alice
      .send(bob.userId, 'never', { attachments: [{ name: 'f.bin', type: 'application/octet-stream', data: new Uint8Array(1000) }] })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INTERNAL', reason: 'attachment-upload', retryable: true });
    expect((err as EbbError).messageId).toBeDefined();
    http.failPuts = 0;
    await alice.send(bob.userId, 'the next one');
    expect((await received(bobInbox)).text).toBe('the next one');
    expect(bobInbox[0]!.attachments).toBeUndefined();
  });

  it('sendToGroup carries attachments to every member, who download them; a report of the group message verifies', async () => {
    const alice = await env.connected();
    const bob = await env.connected();
    const carol = await env.connected();
    const [bobInbox, carolInbox] = [inbox(bob), inbox(carol)];
    const group = await alice.createGroup({ name: 'photos', members: [bob.userId, carol.userId] });
    await until(() => bob.group(group.id) !== undefined && carol.group(group.id) !== undefined, 'the members to learn the group', 15_000);
    const file = nacl.randomBytes(150_000);
    const progress: number[] = [];
    await alice.sendToGroup(group.id, 'for the album', {
      attachments: [{ name: 'album.jpg', type: 'image/jpeg', data: file }],
      onProgress: (sent) => progress.push(sent),
    });
    expect(progress.at(-1)).toBe(file.length);
    for (const messages of [bobInbox, carolInbox]) {
      await until(() => messages.some((m) => m.group === group.id), 'the group message', 15_000);
      const message = messages.find((m) => m.group === group.id)!;
      expect(message.attachments!.map(({ name, size }) => ({ name, size }))).toEqual([{ name: 'album.jpg', size: file.length }]);
      expect(Buffer.from(await message.attachments![0]!.download()).equals(Buffer.from(file))).toBe(true);
    }
    const reported = bobInbox.find((m) => m.group === group.id)!;
    await expect(bob.report(reported, 'not for the album')).resolves.toMatchObject({ duplicate: false });
    await expect(
      alice.sendToGroup(
        // Another well-formed id: the first character carries six whole bits (the last of an id may carry fewer).
        group.id.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
        'x',
        { attachments: [{ name: 'f', type: 'a/b', data: new Uint8Array(1) }] },
      ),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('an archive keeps the attachment references of the messages it keeps, not the files', async () => {
    const { alice, bob, bobInbox } = await pair();
    const file = nacl.randomBytes(300_000);
    await alice.send(bob.userId, 'keep this', { attachments: [{ name: 'big.bin', type: 'application/octet-stream', data: file }] });
    const [attachment] = (await received(bobInbox)).attachments!;
    const passphrase = 'correct horse battery staple';
    const archive = await bob.exportArchive(passphrase);
    expect(archive.length).toBeLessThan(file.length / 2);
    const store = new MemoryStore();
    await (await EbbClient.importArchive(archive, passphrase, { url: env.stack.url, store })).close();
    const kept = await Promise.all(
      (await store.list('reportable/')).map(async (key) => JSON.parse((await store.get(key))!) as { attachments?: unknown[] }),
    );
    const saved = JSON.parse(JSON.stringify(attachment)) as Record<string, unknown>;
    expect(kept.flatMap((r) => r.attachments ?? [])).toEqual([saved]);
  });

  it('a report of a message with attachments verifies, and the operator gets the references to fetch and check', async () => {
    const { alice, bob, bobInbox } = await pair();
    await alice.send(bob.userId, 'look at this', { attachments: [{ name: 'bad.jpg', type: 'image/jpeg', data: nacl.randomBytes(4000) }] });
    const message = await received(bobInbox);
    const { reportId } = await bob.report(message, 'abuse in a picture');
    const record = await new DynamoReports(
      documentClient(new DynamoDBClient({ endpoint: env.stack.dynamodbEndpoint, ...LOCAL_AWS })),
      env.stack.tables.reports,
    ).get(reportId);
    expect(record!.attachments).toHaveLength(1);
    expect(record!.attachments![0]).toMatchObject({ id: message.attachments![0]!.id, name: 'bad.jpg', type: 'image/jpeg', size: 4000 });
  });
});
