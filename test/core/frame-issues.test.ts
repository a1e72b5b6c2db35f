/**
 * The BAD_REQUEST message a malformed frame gets (protocol/issues.ts over valibot's issues): the path and
 * what is wrong, one line per issue, never the value sent; and string lengths in code points
 * (protocol/chars.ts), as the protocol has always counted them.
 */
import * as v from 'valibot';
import { AckFrame, HelloFrame, ReportFrame, SendFrame } from '../../protocol/frames';
import { describeIssues } from '../../protocol/issues';
import { Rid } from '../../protocol/fields';
import { codePointLength } from '../../protocol/chars';
import { resolveConfig } from '../../protocol/config';

/** The message a route would answer `body` with, or 'valid'. */
function messageFor(schema: v.GenericSchema, body: unknown): string {
  const parsed = v.safeParse(schema, body);
  return parsed.success ? 'valid' : describeIssues(parsed.issues);
}

const SECRET = 'do-not-echo-this-value';

describe('GIVEN a malformed frame', () => {
  test('WHEN a field has the wrong type or is missing THEN the message names the path and what it must be', () => {
    expect(messageFor(HelloFrame, { action: 'hello', rid: 5 })).toBe('rid: must be a string');
    expect(messageFor(HelloFrame, { action: 'hello' })).toBe('rid: is required');
    expect(messageFor(HelloFrame, 'hello')).toBe('(frame): must be an object');
    expect(messageFor(AckFrame, { action: 'ack', rid: 'r', messages: {} })).toBe('messages: must be an array');
  });

  test('WHEN numbers and lengths are out of range THEN the message gives the bound', () => {
    const send = { action: 'send', rid: 'r', id: 'A'.repeat(16), to: 'A'.repeat(32), messages: [] as unknown[] };
    expect(messageFor(SendFrame, send)).toBe('messages: must have at least 1 items');
    expect(messageFor(SendFrame, { ...send, messages: [{ device: 1.5, ciphertext: 'AAAA', commitment: 'A'.repeat(43) }] })).toContain(
      'messages.0.device: must be a whole number',
    );
    expect(
      messageFor(SendFrame, { ...send, expiresInSeconds: 0, messages: [{ device: 1, ciphertext: 'AAAA', commitment: 'A'.repeat(43) }] }),
    ).toContain('expiresInSeconds: must be at least 1');
    expect(messageFor(HelloFrame, { action: 'hello', rid: '' })).toBe('rid: must have at least 1 characters');
  });

  test('WHEN a literal or enumerated field is wrong THEN the message lists the allowed values, not the one sent', () => {
    expect(messageFor(HelloFrame, { action: SECRET, rid: 'r' })).toBe('action: must be one of "hello"');
    const report = messageFor(ReportFrame, { action: 'report', rid: 'r', content: { kind: SECRET } });
    expect(report).toContain('content.kind: must be one of "text", "bytes"');
    expect(report).not.toContain(SECRET);
  });

  test('WHEN a value fails a pattern or a refinement THEN the schema’s own words are used and the value never appears', () => {
    const message = messageFor(SendFrame, {
      action: 'send',
      rid: 'r',
      id: `${SECRET}!!!!`,
      to: `${SECRET}${SECRET}`,
      messages: [{ device: 1, ciphertext: `${SECRET}+`, commitment: 'A'.repeat(43) }],
    });
    expect(message).toContain('id: must be base64url without padding');
    expect(message).not.toContain(SECRET);
  });
});

describe('GIVEN a config with a key it does not know', () => {
  test('WHEN it is resolved THEN the error names the key and the object holding it', () => {
    expect(() => resolveConfig({ rateLimits: { sendPerMinit: 5 } })).toThrow('ebb.rateLimits: unknown key sendPerMinit');
  });
});

describe('GIVEN string lengths', () => {
  test('WHEN a rid holds characters outside the BMP THEN each counts once, as a code point', () => {
    const emoji = '\u{1F600}';
    expect(codePointLength(emoji.repeat(64))).toBe(64);
    expect(v.safeParse(Rid, emoji.repeat(64)).success).toBe(true);
    expect(v.safeParse(Rid, emoji.repeat(65)).success).toBe(false);
    expect(v.safeParse(Rid, 'a'.repeat(65)).success).toBe(false);
    // A lone surrogate is one code point too.
    expect(codePointLength('\uD800a\uDC00')).toBe(3);
  });
});
