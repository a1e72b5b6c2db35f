import { maxAttachmentObjectBytes } from '../../protocol/attachments';
import { presignDownload, presignUpload } from '../../lambdas/core/attachments';
import { Refusal } from '../../lambdas/core/refusal';
import { makeIdentity, registerFrame } from '../support/identity';
import { register } from '../../lambdas/core/accounts';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';
import type { EbbConfigInput } from '../../protocol';

const T0 = Date.parse('2027-01-15T10:30:00Z');
const RANDOM_ID = /^(\d+)\/[A-Za-z0-9_-]{22}$/;

async function registered(w: MemoryWorld) {
  const id = makeIdentity();
  const caller = callerOf(id);
  await register(w.ports, caller, registerFrame(id, 'r') as never);
  return caller;
}

async function refusal(promise: Promise<unknown>): Promise<Refusal> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Refusal);
  return error as Refusal;
}

const upload = (size: number, expiresInSeconds?: number) => ({
  action: 'attachment.upload' as const,
  rid: 'u',
  size,
  ...(expiresInSeconds !== undefined && { expiresInSeconds }),
});
const download = (id: string) => ({ action: 'attachment.download' as const, rid: 'd', id });

describe('GIVEN attachment.upload', () => {
  const config: EbbConfigInput = { maxAttachmentBytes: 1_000_000, retentionDays: 30 };

  it('presigns a PUT of exactly the declared size under a fresh random id in the retention class, for ten minutes', async () => {
    const w = memoryWorld(config, T0);
    const caller = await registered(w);
    const first = await presignUpload(w.ports, caller, upload(4096));
    const second = await presignUpload(w.ports, caller, upload(4096));
    expect(first.id).toMatch(RANDOM_ID);
    expect(first.id.startsWith('30/')).toBe(true);
    expect(first.id).not.toBe(second.id);
    expect(first.expiresAt).toBe(T0 + 600_000);
    expect(w.attachments.presigned[0]).toEqual({ method: 'PUT', key: first.id, size: 4096, expiresInSeconds: 600 });
    expect(first.url).toBe(`https://attachments.invalid/${first.id}?put=4096`);
  });

  it('names no user and no time in the id', async () => {
    const w = memoryWorld(config, T0);
    const caller = await registered(w);
    const { id } = await presignUpload(w.ports, caller, upload(10));
    expect(id).not.toContain(caller.userId.slice(0, 8));
    expect(id).not.toContain(String(T0).slice(0, 6));
  });

  it('puts a short-lived message in a short class', async () => {
    const w = memoryWorld(config, T0);
    const caller = await registered(w);
    expect((await presignUpload(w.ports, caller, upload(10, 3600))).id.startsWith('1/')).toBe(true);
    expect((await presignUpload(w.ports, caller, upload(10, 7 * 86400))).id.startsWith('7/')).toBe(true);
    expect((await presignUpload(w.ports, caller, upload(10, 365 * 86400))).id.startsWith('30/')).toBe(true);
  });

  it('accepts the ciphertext of the largest file, and refuses one byte more with PAYLOAD_TOO_LARGE before anything is signed', async () => {
    const w = memoryWorld(config, T0);
    const caller = await registered(w);
    const limit = maxAttachmentObjectBytes(1_000_000);
    await presignUpload(w.ports, caller, upload(limit));
    const refused = await refusal(presignUpload(w.ports, caller, upload(limit + 1)));
    expect(refused.code).toBe('PAYLOAD_TOO_LARGE');
    expect(w.attachments.presigned).toHaveLength(1);
  });

  it('refuses from read-only on, an unregistered or suspended caller, and past the rate, signing nothing', async () => {
    const w = memoryWorld({ ...config, rateLimits: { attachmentUploadPerMinute: 2 }, sunset: { readOnlyAt: '2027-02-01T00:00:00Z' } }, T0);
    const caller = await registered(w);
    expect((await refusal(presignUpload(w.ports, callerOf(makeIdentity()), upload(10)))).code).toBe('FORBIDDEN');
    await presignUpload(w.ports, caller, upload(10));
    await presignUpload(w.ports, caller, upload(10));
    const limited = await refusal(presignUpload(w.ports, caller, upload(10)));
    expect(limited).toMatchObject({ code: 'RATE_LIMITED', retryAfterSeconds: expect.any(Number) });
    w.clock.t += 60_000;
    await w.accounts.suspend(caller.userId, 'abuse', w.clock.t);
    expect((await refusal(presignUpload(w.ports, caller, upload(10)))).code).toBe('ACCOUNT_SUSPENDED');
    await w.accounts.unsuspend(caller.userId);
    w.clock.t = Date.parse('2027-02-01T00:00:00Z');
    expect((await refusal(presignUpload(w.ports, caller, upload(10)))).code).toBe('SERVICE_READ_ONLY');
    expect(w.attachments.presigned).toHaveLength(2);
  });
});

describe('GIVEN attachment.download', () => {
  it('presigns a GET of the id for ten minutes, without asking whether it exists', async () => {
    const w = memoryWorld({}, T0);
    const caller = await registered(w);
    const id = `7/${'B'.repeat(22)}`;
    expect(await presignDownload(w.ports, caller, download(id))).toEqual({ url: `https://attachments.invalid/${id}?get`, expiresAt: T0 + 600_000 });
    expect(w.attachments.presigned).toEqual([{ method: 'GET', key: id, expiresInSeconds: 600 }]);
  });

  it('is answered in read-only, and refused at shutdown, for an unregistered or suspended caller, and past the rate', async () => {
    const sunset = { readOnlyAt: '2027-02-01T00:00:00Z', shutdownAt: '2027-03-01T00:00:00Z' };
    const w = memoryWorld({ rateLimits: { attachmentDownloadPerMinute: 1 }, sunset }, T0);
    const caller = await registered(w);
    const id = `7/${'B'.repeat(22)}`;
    expect((await refusal(presignDownload(w.ports, callerOf(makeIdentity()), download(id)))).code).toBe('FORBIDDEN');
    w.clock.t = Date.parse(sunset.readOnlyAt);
    await presignDownload(w.ports, caller, download(id));
    expect((await refusal(presignDownload(w.ports, caller, download(id)))).code).toBe('RATE_LIMITED');
    w.clock.t += 60_000;
    await w.accounts.suspend(caller.userId, 'abuse', w.clock.t);
    expect((await refusal(presignDownload(w.ports, caller, download(id)))).code).toBe('ACCOUNT_SUSPENDED');
    await w.accounts.unsuspend(caller.userId);
    w.clock.t = Date.parse(sunset.shutdownAt);
    expect((await refusal(presignDownload(w.ports, caller, download(id)))).code).toBe('SERVICE_SHUT_DOWN');
    expect(w.attachments.presigned).toHaveLength(1);
  });
});
