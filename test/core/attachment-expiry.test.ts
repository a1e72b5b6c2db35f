import fc from 'fast-check';
import {
  ATTACHMENT_URL_SECONDS,
  DAY_MS,
  attachmentExpiresAt,
  attachmentLifecycleRules,
  lifetimeClassDays,
  s3ExpiryAt,
} from '../../lambdas/core/attachment-expiry';

const RANDOM = 'AAAAAAAAAAAAAAAAAAAAAA';
const at = (iso: string) => Date.parse(iso);

describe('GIVEN S3 lifecycle expiry', () => {
  test('THEN the days are added to the upload time and rounded up to the next midnight UTC', () => {
    expect(s3ExpiryAt(at('2027-01-15T10:30:00Z'), 3)).toBe(at('2027-01-19T00:00:00Z'));
    expect(s3ExpiryAt(at('2027-01-15T00:00:00Z'), 3)).toBe(at('2027-01-18T00:00:00Z'));
    expect(s3ExpiryAt(at('2027-01-15T23:59:59Z'), 1)).toBe(at('2027-01-17T00:00:00Z'));
  });

  test('THEN the rules are one per class and a bucket-wide retention rule that also aborts stale multipart uploads', () => {
    expect(attachmentLifecycleRules(3)).toEqual([
      { id: 'class-1', prefix: '1/', days: 1 },
      { id: 'class-2', prefix: '2/', days: 2 },
      { id: 'class-3', prefix: '3/', days: 3 },
      { id: 'retention', prefix: '', days: 3, abortIncompleteMultipartUploadDays: 1 },
    ]);
    expect(attachmentLifecycleRules(365)).toHaveLength(366);
  });

  test('THEN an object expires under its class, and under the retention rule when it has none or a longer one', () => {
    const created = at('2027-01-15T10:30:00Z');
    expect(attachmentExpiresAt(`2/${RANDOM}`, created, 30)).toBe(at('2027-01-18T00:00:00Z'));
    expect(attachmentExpiresAt(`90/${RANDOM}`, created, 30)).toBe(at('2027-02-15T00:00:00Z'));
    expect(attachmentExpiresAt('stray-object', created, 30)).toBe(at('2027-02-15T00:00:00Z'));
  });
});

describe('GIVEN an upload presigned for a message lifetime', () => {
  test('THEN a whole-retention message gets the retention class', () => {
    expect(lifetimeClassDays(at('2027-01-15T10:30:00Z'), undefined, 30)).toBe(30);
    expect(lifetimeClassDays(at('2027-01-15T10:30:00Z'), 90 * 86400, 30)).toBe(30);
  });

  test('THEN the midnight rounding is counted: a 36-hour message presigned at 10:30 needs one day, at 23:00 two', () => {
    expect(lifetimeClassDays(at('2027-01-15T10:30:00Z'), 36 * 3600, 30)).toBe(1);
    expect(lifetimeClassDays(at('2027-01-15T23:00:00Z'), 36 * 3600, 30)).toBe(2);
  });

  test('THEN the object outlives its message (sent within the URL lifetime) and is gone within a day after it, or within two days of upload', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: at('2027-01-01T00:00:00Z'), max: at('2030-01-01T00:00:00Z') }),
        fc.integer({ min: 1, max: 400 * 86400 }),
        fc.integer({ min: 1, max: 365 }),
        (now, expiresInSeconds, retentionDays) => {
          const days = lifetimeClassDays(now, expiresInSeconds, retentionDays);
          expect(days).toBeGreaterThanOrEqual(1);
          expect(days).toBeLessThanOrEqual(retentionDays);
          const gone = attachmentExpiresAt(`${days}/${RANDOM}`, now, retentionDays);
          const lifetime = Math.min(expiresInSeconds * 1000, retentionDays * DAY_MS);
          const messageExpires = now + lifetime + ATTACHMENT_URL_SECONDS * 1000;
          // At most retentionDays after upload, to S3's midnight.
          expect(gone).toBeLessThanOrEqual(s3ExpiryAt(now, retentionDays));
          // Kept while the message lives, unless retention cuts both short.
          if (days < retentionDays) expect(gone).toBeGreaterThanOrEqual(messageExpires);
          // Gone within a day after the message, or at S3's shortest (one day, to midnight).
          expect(gone).toBeLessThanOrEqual(Math.max(messageExpires + DAY_MS, s3ExpiryAt(now, 1)));
        },
      ),
    );
  });
});
