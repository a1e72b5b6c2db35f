import { createHash } from 'node:crypto';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import {
  ATTACHMENT_CHUNK_BYTES,
  ATTACHMENT_HEADER_BYTES,
  AttachmentOpener,
  AttachmentSealer,
  attachmentChunkCount,
  attachmentCiphertextLength,
  newAttachmentKey,
} from '../../client-sdk/src/crypto/attachment';
import { nobleSha256, nodeSha256 } from '../../client-sdk/src/crypto/sha256-stream';
import { attachmentPlaintext } from './attachment-vectors';
import { hex, loadVectors, toHex } from './vectors';

const CHUNK = ATTACHMENT_CHUNK_BYTES;
const BOX = CHUNK + nacl.secretbox.overheadLength;

/** The whole object, its boxes and digest, for `data` under `key`. */
function seal(data: Uint8Array, key = newAttachmentKey(), prefix?: Uint8Array): { object: Uint8Array; digest: Uint8Array; key: Uint8Array } {
  const sealer = new AttachmentSealer(key, data.length, prefix);
  const parts = [sealer.header()];
  for (let start = 0; !sealer.done; start += CHUNK) parts.push(sealer.seal(data.subarray(start, Math.min(data.length, start + CHUNK))));
  return { object: new Uint8Array(Buffer.concat(parts)), digest: sealer.digest(), key };
}

/** What the opener hands out for `object` pushed in `pieces` bytes at a time, and whether it finished clean. */
function open(
  key: Uint8Array,
  size: number,
  digest: Uint8Array,
  object: Uint8Array,
  pieces = 7919,
): { chunks: Uint8Array[]; ok: boolean; failedAt: number | null } {
  const opener = new AttachmentOpener(key, size, digest);
  const chunks: Uint8Array[] = [];
  for (let offset = 0; offset < object.length; offset += pieces) {
    const out = opener.push(object.subarray(offset, offset + pieces));
    if (!out) return { chunks, ok: false, failedAt: opener.chunksOpened };
    chunks.push(...out);
  }
  return { chunks, ok: opener.finish(), failedAt: null };
}

function random(size: number): Uint8Array {
  return nacl.randomBytes(size);
}

/** Every chunk handed out is the original's chunk at the same index: altered bytes never come out. */
function expectOnlyOriginalChunks(chunks: Uint8Array[], data: Uint8Array): void {
  chunks.forEach((chunk, i) => expect(toHex(chunk)).toBe(toHex(data.subarray(i * CHUNK, i * CHUNK + chunk.length))));
}

describe('attachment encryption', () => {
  it.each([
    ['an empty file', 0],
    ['one byte', 1],
    ['one byte short of a chunk', CHUNK - 1],
    ['exactly one chunk', CHUNK],
    ['one byte over a chunk', CHUNK + 1],
    ['three chunks and a bit', 3 * CHUNK + 5],
  ])('round-trips %s, in pieces of any length', (_, size) => {
    const data = random(size);
    const { object, digest, key } = seal(data);
    expect(object.length).toBe(attachmentCiphertextLength(size));
    for (const pieces of [1 + (size % 13), 4096, BOX, BOX + 1, object.length + 1]) {
      const { chunks, ok } = open(key, size, digest, object, pieces);
      expect(ok).toBe(true);
      expect(toHex(Buffer.concat(chunks))).toBe(toHex(data));
    }
  });

  it('the digest is SHA-256 of the whole stored object', () => {
    const { object, digest } = seal(random(CHUNK + 10));
    expect(toHex(digest)).toBe(createHash('sha256').update(object).digest('hex'));
  });

  it('an empty file is one empty final chunk; a file of exactly one chunk is one chunk, not a chunk and an empty one', () => {
    expect(attachmentChunkCount(0)).toBe(1);
    expect(attachmentChunkCount(CHUNK)).toBe(1);
    expect(attachmentChunkCount(CHUNK + 1)).toBe(2);
    expect(seal(new Uint8Array(0)).object.length).toBe(ATTACHMENT_HEADER_BYTES + nacl.secretbox.overheadLength);
  });

  it('a flipped bit anywhere fails at the chunk that holds it, and nothing altered comes out', () => {
    const data = random(3 * CHUNK + 77);
    const { object, digest, key } = seal(data);
    fc.assert(
      fc.property(fc.integer({ min: 0, max: object.length - 1 }), fc.integer({ min: 0, max: 7 }), (at, bit) => {
        const tampered = object.slice();
        tampered[at]! ^= 1 << bit;
        const { chunks, ok, failedAt } = open(key, data.length, digest, tampered);
        expect(ok).toBe(false);
        expectOnlyOriginalChunks(chunks, data);
        // A bit in the header changes every nonce: the first chunk fails. In box i, chunk i fails.
        const expectedAt = at < ATTACHMENT_HEADER_BYTES ? 0 : Math.floor((at - ATTACHMENT_HEADER_BYTES) / BOX);
        expect(failedAt).toBe(expectedAt);
      }),
      { numRuns: 60 },
    );
  });

  it('a truncated object is refused: cut inside a box, at a box boundary, or missing its final chunk', () => {
    const data = random(2 * CHUNK + 100);
    const { object, digest, key } = seal(data);
    for (const cut of [object.length - 1, ATTACHMENT_HEADER_BYTES + 2 * BOX, ATTACHMENT_HEADER_BYTES + BOX, ATTACHMENT_HEADER_BYTES, 5, 0]) {
      const { chunks, ok } = open(key, data.length, digest, object.subarray(0, cut));
      expect(ok).toBe(false);
      expectOnlyOriginalChunks(chunks, data);
    }
  });

  it('a file cut at a chunk boundary cannot pass as a shorter file: its last box lacks the final flag', () => {
    const data = random(2 * CHUNK);
    const { object, key } = seal(data);
    const firstChunkOnly = object.subarray(0, ATTACHMENT_HEADER_BYTES + BOX);
    const claimed = createHash('sha256').update(firstChunkOnly).digest();
    // Even a digest made for the shorter object (as a server could compute) does not help: the box is not final.
    const { chunks, ok, failedAt } = open(key, CHUNK, claimed, firstChunkOnly);
    expect(ok).toBe(false);
    expect(failedAt).toBe(0);
    expect(chunks).toEqual([]);
  });

  it('reordered chunks are refused at the first one out of place', () => {
    const data = random(3 * CHUNK + 9);
    const { object, digest, key } = seal(data);
    const box = (i: number) => object.subarray(ATTACHMENT_HEADER_BYTES + i * BOX, ATTACHMENT_HEADER_BYTES + (i + 1) * BOX);
    const swapped = Buffer.concat([
      object.subarray(0, ATTACHMENT_HEADER_BYTES),
      box(0),
      box(2),
      box(1),
      object.subarray(ATTACHMENT_HEADER_BYTES + 3 * BOX),
    ]);
    const { chunks, ok, failedAt } = open(key, data.length, digest, swapped);
    expect(ok).toBe(false);
    expect(failedAt).toBe(1);
    expectOnlyOriginalChunks(chunks, data);
  });

  it('extra bytes after the final chunk are refused', () => {
    const data = random(CHUNK + 1);
    const { object, digest, key } = seal(data);
    expect(open(key, data.length, digest, Buffer.concat([object, new Uint8Array(1)])).ok).toBe(false);
  });

  it('a wrong key opens nothing', () => {
    const data = random(CHUNK + 1);
    const { object, digest } = seal(data);
    const { chunks, ok, failedAt } = open(newAttachmentKey(), data.length, digest, object);
    expect(ok).toBe(false);
    expect(failedAt).toBe(0);
    expect(chunks).toEqual([]);
  });

  it('a wrong digest fails at the end, and a wrong size fails where the boxes stop fitting', () => {
    const data = random(CHUNK + 1);
    const { object, digest, key } = seal(data);
    const wrong = digest.slice();
    wrong[0]! ^= 1;
    expect(open(key, data.length, wrong, object).ok).toBe(false);
    expect(open(key, data.length + 1, digest, object).ok).toBe(false);
    expect(open(key, data.length - 1, digest, object).ok).toBe(false);
  });

  it('the same key and prefix seal the same file to the same object (a retried upload), a fresh key to another', () => {
    const data = random(CHUNK + 3);
    const key = newAttachmentKey();
    const prefix = nacl.randomBytes(19);
    expect(toHex(seal(data, key, prefix).object)).toBe(toHex(seal(data, key, prefix).object));
    expect(toHex(seal(data, key).object)).not.toBe(toHex(seal(data, key).object));
  });

  it('refuses wrong inputs by throwing, naming them', () => {
    expect(() => new AttachmentSealer(new Uint8Array(31), 1)).toThrow('key: expected 32 bytes');
    expect(() => new AttachmentSealer(newAttachmentKey(), -1)).toThrow('size');
    expect(() => new AttachmentSealer(newAttachmentKey(), 1, new Uint8Array(16))).toThrow('prefix: expected 19 bytes');
    expect(() => new AttachmentOpener(newAttachmentKey(), 1, new Uint8Array(31))).toThrow('digest: expected 32 bytes');
    const sealer = new AttachmentSealer(newAttachmentKey(), CHUNK + 1);
    expect(() => sealer.seal(new Uint8Array(CHUNK - 1))).toThrow('chunk 0: expected 65536 bytes');
    expect(() => sealer.digest()).toThrow('not every chunk');
  });

  describe('known-answer transcript (test/vectors/attachment-transcript.json)', () => {
    interface Vector {
      name: string;
      size: number;
      key: string;
      prefix: string;
      header: string;
      boxes: string[];
      digest: string;
    }
    const { tests } = loadVectors<Vector>('attachment-transcript.json');

    it.each(tests.map((t) => [t.name, t] as const))('%s seals to the recorded bytes and opens again', (_, t) => {
      const data = attachmentPlaintext(t.size);
      const sealer = new AttachmentSealer(hex(t.key), t.size, hex(t.prefix));
      expect(toHex(sealer.header())).toBe(t.header);
      const boxes: Uint8Array[] = [];
      for (let start = 0; !sealer.done; start += CHUNK) boxes.push(sealer.seal(data.subarray(start, Math.min(t.size, start + CHUNK))));
      expect(boxes.map((b) => (b.length <= 200 ? toHex(b) : `${toHex(b.subarray(0, 32))}..${toHex(b.subarray(b.length - 32))}`))).toEqual(t.boxes);
      expect(toHex(sealer.digest())).toBe(t.digest);
      const { chunks, ok } = open(hex(t.key), t.size, hex(t.digest), Buffer.concat([sealer.header(), ...boxes]));
      expect(ok).toBe(true);
      expect(toHex(Buffer.concat(chunks))).toBe(toHex(data));
    });

    it('the nonce layout is prefix ‖ u32be(index) ‖ final flag, as ARCH §8.10 specifies', () => {
      const t = tests.find((v) => v.size === 0)!;
      const nonce = Buffer.concat([hex(t.prefix), Buffer.from([0, 0, 0, 0, 1])]);
      expect(toHex(nacl.secretbox(new Uint8Array(0), nonce, hex(t.key)))).toBe(t.boxes[0]);
    });
  });
  describe("Node's native SHA-256 and the arrays the sealer and opener reuse", () => {
    const node = nodeSha256((algorithm) => createHash(algorithm));

    it('both SHA-256s agree, fed in pieces and from a copy of the state', () => {
      const data = random(3 * CHUNK + 7);
      const [a, b] = [nobleSha256(), node()];
      for (const h of [a, b]) {
        h.update(data.subarray(0, 1000));
        h.update(data.subarray(1000));
      }
      const [ca, cb] = [a.clone(), b.clone()];
      ca.update(data);
      cb.update(data);
      expect(toHex(b.digest())).toBe(toHex(a.digest()));
      expect(toHex(cb.digest())).toBe(toHex(ca.digest()));
      expect(toHex(node().digest())).toBe(toHex(nobleSha256().digest()));
    });

    it("a sealer and an opener on Node's SHA-256 make and accept the same object and digest, and refuse a wrong one", () => {
      const data = random(2 * CHUNK + 3);
      const key = newAttachmentKey();
      const prefix = nacl.randomBytes(19);
      const reference = seal(data, key, prefix);
      const sealer = new AttachmentSealer(key, data.length, prefix, { sha256: node });
      const parts = [sealer.header()];
      for (let start = 0; !sealer.done; start += CHUNK) parts.push(sealer.seal(data.subarray(start, Math.min(data.length, start + CHUNK))));
      expect(toHex(Buffer.concat(parts))).toBe(toHex(reference.object));
      expect(toHex(sealer.digest())).toBe(toHex(reference.digest));

      const opener = new AttachmentOpener(key, data.length, reference.digest, { sha256: node });
      expect(toHex(Buffer.concat(opener.push(reference.object)!))).toBe(toHex(data));
      expect(opener.finish()).toBe(true);
      const wrong = reference.digest.slice();
      wrong[31]! ^= 1;
      const refused = new AttachmentOpener(key, data.length, wrong, { sha256: node });
      expect(refused.push(reference.object)).not.toBeNull();
      expect(refused.finish()).toBe(false);
    });

    it("boxes and chunks handed out are the caller's: sealing or opening the next one leaves them as they were", () => {
      const data = random(3 * CHUNK + 11);
      const key = newAttachmentKey();
      const sealer = new AttachmentSealer(key, data.length);
      const boxes: Uint8Array[] = [];
      const copies: string[] = [];
      for (let start = 0; !sealer.done; start += CHUNK) {
        const box = sealer.seal(data.subarray(start, Math.min(data.length, start + CHUNK)));
        boxes.push(box);
        copies.push(toHex(box));
      }
      expect(boxes.map(toHex)).toEqual(copies);
      const opener = new AttachmentOpener(key, data.length, sealer.digest());
      const chunks: Uint8Array[] = [];
      // One box at a time, so each push opens into the same reused array.
      const object = Buffer.concat([sealer.header(), ...boxes]);
      for (let offset = 0; offset < object.length; offset += BOX) chunks.push(...opener.push(object.subarray(offset, offset + BOX))!);
      expect(opener.finish()).toBe(true);
      expectOnlyOriginalChunks(chunks, data);
      expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(data.length);
    });

    it('an abandoned opener opens nothing more and does not finish', () => {
      const data = random(2 * CHUNK + 1);
      const { object, digest, key } = seal(data);
      const opener = new AttachmentOpener(key, data.length, digest);
      expect(opener.push(object.subarray(0, ATTACHMENT_HEADER_BYTES + BOX))).toHaveLength(1);
      opener.abandon();
      expect(opener.push(object.subarray(ATTACHMENT_HEADER_BYTES + BOX))).toBeNull();
      expect(opener.finish()).toBe(false);
    });

    it('pushEach hands out the same chunks as views, and nothing after the object is found altered', () => {
      const data = random(3 * CHUNK + 5);
      const { object, digest, key } = seal(data);
      const whole = new Uint8Array(data.length);
      let at = 0;
      const opener = new AttachmentOpener(key, data.length, digest);
      for (let offset = 0; offset < object.length; offset += 5000) {
        expect(opener.pushEach(object.subarray(offset, offset + 5000), (chunk) => (whole.set(chunk, at), (at += chunk.length)))).toBe(true);
      }
      expect(opener.finish()).toBe(true);
      expect(toHex(whole)).toBe(toHex(data));

      const tampered = object.slice();
      tampered[ATTACHMENT_HEADER_BYTES + BOX + 9]! ^= 1;
      const seen: Uint8Array[] = [];
      const refusing = new AttachmentOpener(key, data.length, digest);
      expect(refusing.pushEach(tampered, (chunk) => seen.push(chunk.slice()))).toBe(false);
      expect(refusing.pushEach(object.subarray(0, 10), (chunk) => seen.push(chunk.slice()))).toBe(false);
      expect(refusing.finish()).toBe(false);
      expect(seen.length).toBe(1);
      expectOnlyOriginalChunks(seen, data);
    });
  });
});
