import * as v from 'valibot';
import { AttachmentDownloadFrame, AttachmentUploadFrame } from '../../protocol/frames';
import { attachmentClassDays, maxAttachmentObjectBytes } from '../../protocol/attachments';
import { Limits } from '../../protocol/limits';
import { ResultSchemas } from '../../protocol/server-frames';

const RANDOM = 'AAAAAAAAAAAAAAAAAAAAAA';

describe('GIVEN attachment ids', () => {
  test.each([`1/${RANDOM}`, `30/${RANDOM}`, `365/${RANDOM}`, `7/abcdefghijklmnopqr-_09`])('THEN %s is one, naming its class', (id) => {
    expect(v.safeParse(AttachmentDownloadFrame, { action: 'attachment.download', rid: 'r', id }).success).toBe(true);
    expect(attachmentClassDays(id)).toBe(Number(id.split('/')[0]));
  });

  test.each([
    ['class 0', `0/${RANDOM}`],
    ['a leading zero', `07/${RANDOM}`],
    ['a class past 365 days', `366/${RANDOM}`],
    ['no class', RANDOM],
    ['a short random part', `7/${RANDOM.slice(1)}`],
    ['a long random part', `7/${RANDOM}A`],
    ['a path', `7/../${RANDOM}`],
    ['a second segment', `7/${RANDOM}/x`],
    ['padding', `7/${RANDOM.slice(2)}==`],
    ['a query', `7/${RANDOM}?x`],
  ])('WHEN it has %s THEN it is refused', (_label, id) => {
    expect(v.safeParse(AttachmentDownloadFrame, { action: 'attachment.download', rid: 'r', id }).success).toBe(false);
    expect(attachmentClassDays(id)).toBeUndefined();
  });
});

describe('GIVEN attachment.upload frames', () => {
  const frame = (fields: Record<string, unknown>) => v.safeParse(AttachmentUploadFrame, { action: 'attachment.upload', rid: 'r', ...fields });

  test('THEN a size from 1 byte to the ciphertext of the largest file allowed is accepted, with or without a lifetime', () => {
    expect(frame({ size: 1 }).success).toBe(true);
    expect(frame({ size: maxAttachmentObjectBytes(Limits.attachmentBytesCeiling), expiresInSeconds: 60 }).success).toBe(true);
  });

  test.each([
    ['no size', {}],
    ['a size of 0', { size: 0 }],
    ['a fractional size', { size: 1.5 }],
    ['a size as text', { size: '1024' }],
    ['a size past the protocol ceiling', { size: maxAttachmentObjectBytes(Limits.attachmentBytesCeiling) + 1 }],
    ['a lifetime of 0', { size: 1, expiresInSeconds: 0 }],
    ['a lifetime past a year', { size: 1, expiresInSeconds: 365 * 86400 + 1 }],
  ])('WHEN it has %s THEN it is refused', (_label, fields) => {
    expect(frame(fields).success).toBe(false);
  });

  test('THEN the largest ciphertext still fits one S3 PUT (5 GiB)', () => {
    expect(maxAttachmentObjectBytes(Limits.attachmentBytesCeiling)).toBeLessThanOrEqual(5 * 1024 ** 3);
  });

  test('THEN a 100 MiB file in 64 KiB chunks, each with a 16-byte tag and a 24-byte header, fits the bound', () => {
    const file = 100 * 1024 * 1024;
    expect(file + Math.ceil(file / 65536) * 16 + 24).toBeLessThanOrEqual(maxAttachmentObjectBytes(file));
    expect(maxAttachmentObjectBytes(file)).toBeLessThan(file * 1.01);
  });
});

describe('GIVEN the answers', () => {
  test('THEN an upload answer needs an id, a URL and its expiry; headers are optional', () => {
    const answer = { id: `30/${RANDOM}`, url: 'http://127.0.0.1:9000/ebb/30/x?X-Amz-Signature=ab', expiresAt: 1 };
    expect(v.safeParse(ResultSchemas['attachment.upload'], answer).success).toBe(true);
    expect(v.safeParse(ResultSchemas['attachment.upload'], { ...answer, headers: { 'x-amz-meta-a': 'b' } }).success).toBe(true);
    expect(v.safeParse(ResultSchemas['attachment.upload'], { ...answer, url: 'not a url' }).success).toBe(false);
    expect(v.safeParse(ResultSchemas['attachment.download'], { url: answer.url, expiresAt: 1 }).success).toBe(true);
  });
});
