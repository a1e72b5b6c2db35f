import { jsonLogger } from '../../lambdas/adapters/logger';
import { CANARY_MARKER, lineProblems } from '../global/log-capture';

function capture() {
  const lines: string[] = [];
  return { lines, logger: jsonLogger({ functionName: 'send', traceId: () => 'Root=1-abc' }, 'info', (l) => lines.push(l)) };
}

describe('handler logs', () => {
  it('write the Powertools shape with allowed fields only', () => {
    const { lines, logger } = capture();
    logger.info('send', { messageId: 'm1', bytes: 120, code: 'OK' });
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({
      level: 'INFO',
      message: 'send',
      service: 'ebb',
      function_name: 'send',
      xray_trace_id: 'Root=1-abc',
      messageId: 'm1',
      bytes: 120,
      code: 'OK',
    });
    expect(typeof line.timestamp).toBe('string');
    expect(lineProblems(lines[0]!)).toEqual([]);
  });

  it('drop fields outside the allowlist, and withhold long or structured values of allowed ones', () => {
    const { lines, logger } = capture();
    const ciphertext = 'A'.repeat(500);
    logger.error('route failed', {
      body: `${CANARY_MARKER} plaintext`,
      ciphertext,
      frankKey: 'k'.repeat(43),
      reason: ciphertext,
      error: { stack: 'at x.ts:1' },
    });
    expect(lines[0]).not.toContain(CANARY_MARKER);
    expect(lines[0]).not.toContain('AAAAAAAAAA');
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(Object.keys(line).sort()).toEqual(['error', 'function_name', 'level', 'message', 'reason', 'service', 'timestamp', 'xray_trace_id']);
    expect(line.reason).toBe('[500 chars withheld]');
    expect(line.error).toBe('[object withheld]');
  });

  it('are checked after the run for plaintexts, key-shaped values and unlisted fields', () => {
    expect(lineProblems(`{"message":"x","reason":"${CANARY_MARKER}"}`)).toEqual(['contains a test plaintext']);
    expect(lineProblems('{"message":"x","body":"hi"}')).toEqual(['field body is not an allowed log field']);
    expect(lineProblems(`{"message":"x","userId":"${'a'.repeat(43)}"}`)).toEqual(['field userId holds a key-shaped value']);
    expect(lineProblems('not json')).toEqual(['is not JSON']);
  });
});
