import { EbbError } from '../../client-sdk/src';
import { backoffDelay } from '../../client-sdk/src/transport/backoff';
import { splitSend } from '../../client-sdk/src/session/frame-split';
import { Emitter } from '../../client-sdk/src/events';

describe('backoff', () => {
  const options = { baseDelayMs: 250, maxDelayMs: 30_000 };
  it('grows exponentially with jitter, up to the cap', () => {
    expect(backoffDelay(0, options, 0, () => 0)).toBe(125);
    expect(backoffDelay(0, options, 0, () => 1)).toBe(250);
    expect(backoffDelay(3, options, 0, () => 1)).toBe(2000);
    expect(backoffDelay(50, options, 0, () => 1)).toBe(30_000);
    expect(backoffDelay(50, options, 0, () => 0)).toBe(15_000);
  });
  it('waits at least as long as the server asks', () => {
    expect(backoffDelay(0, options, 5000, () => 0)).toBe(5000);
  });
});

describe('splitSend', () => {
  const base = { id: 'i'.repeat(22), to: 't'.repeat(32) };
  const commitment = 'k'.repeat(43);
  const message = (device: number, size: number) => ({ device, ciphertext: 'c'.repeat(size), commitment });

  it('keeps one frame when everything fits', () => {
    expect(splitSend(base, [message(1, 100), message(2, 100)], 32768, 16)).toHaveLength(1);
  });
  it('splits by size and by device count, keeping order', () => {
    const messages = Array.from({ length: 10 }, (_, i) => message(i + 1, 10_000));
    const frames = splitSend(base, messages, 32768, 16);
    expect(frames.map((f) => f.messages.length)).toEqual([3, 3, 3, 1]);
    expect(frames.flatMap((f) => f.messages)).toEqual(messages);
    for (const f of frames) expect(JSON.stringify({ action: 'send', rid: 'r'.repeat(64), ...f }).length).toBeLessThan(32768);
    expect(
      splitSend(
        base,
        messages.map((m) => ({ ...m, ciphertext: 'x' })),
        32768,
        4,
      ).map((f) => f.messages.length),
    ).toEqual([4, 4, 2]);
  });
  it('throws when one ciphertext cannot fit', () => {
    expect(() => splitSend(base, [message(1, 40_000)], 32768, 16)).toThrow(TypeError);
  });
});

describe('EbbError', () => {
  it('narrows by code and defaults retryability from the protocol', () => {
    const err: unknown = new EbbError('RATE_LIMITED', 'slow down', { retryAfterSeconds: 3 });
    expect(EbbError.is(err)).toBe(true);
    expect(EbbError.is(err, 'RATE_LIMITED')).toBe(true);
    expect(EbbError.is(err, 'INTERNAL')).toBe(false);
    expect(EbbError.is(new Error('x'))).toBe(false);
    expect(new EbbError('NOT_FOUND', 'x').retryable).toBe(false);
    expect(new EbbError('INTERNAL', 'x').retryable).toBe(true);
    // An EbbError from another copy of the SDK still counts.
    const foreign = Object.assign(new Error('x'), { name: 'EbbError', code: 'FORBIDDEN', retryable: false });
    expect(EbbError.is(foreign, 'FORBIDDEN')).toBe(true);
  });
});

describe('Emitter', () => {
  afterEach(() => jest.useRealTimers());

  it('isolates a throwing listener from the others and rethrows its error asynchronously', () => {
    jest.useFakeTimers();
    const emitter = new Emitter<{ tick: number }>();
    const seen: number[] = [];
    emitter.on('tick', () => {
      throw new Error('app bug');
    });
    const off = emitter.on('tick', (n) => seen.push(n));
    emitter.emit('tick', 1);
    off();
    emitter.emit('tick', 2);
    expect(seen).toEqual([1]);
    expect(() => jest.runOnlyPendingTimers()).toThrow('app bug');
  });
});
