/** Timing helpers shared by the bench sections. Pure except for the clock. */

/**
 * Rates of `a` and `b` (calls per second), measured in alternating slices of `sliceMs` over `seconds`
 * in all, after a short warm-up of each. Interleaving makes both see the same machine load, so their
 * ratio holds on a busy machine where two separate measurements would not.
 */
export function interleavedRates(seconds: number, a: () => unknown, b: () => unknown, sliceMs = 50): { a: number; b: number } {
  const warm = Math.min(200, seconds * 100);
  for (const op of [a, b]) {
    const until = performance.now() + warm;
    while (performance.now() < until) op();
  }
  const totals = { a: { calls: 0, ms: 0 }, b: { calls: 0, ms: 0 } };
  const deadline = performance.now() + seconds * 1000;
  while (performance.now() < deadline) {
    for (const [name, op] of [
      ['a', a],
      ['b', b],
    ] as const) {
      const started = performance.now();
      const until = started + sliceMs;
      let calls = 0;
      let now = started;
      while (now < until) {
        op();
        calls++;
        now = performance.now();
      }
      totals[name].calls += calls;
      totals[name].ms += now - started;
    }
  }
  return { a: (totals.a.calls * 1000) / totals.a.ms, b: (totals.b.calls * 1000) / totals.b.ms };
}

/** The q-quantile (0..1) of sorted values, nearest-rank; NaN when empty. */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export function round(n: number, digits = 1): number {
  if (!Number.isFinite(n)) return n;
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

export function median(values: readonly number[]): number {
  return quantile(
    [...values].sort((x, y) => x - y),
    0.5,
  );
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Samples `process.memoryUsage().rss` every `everyMs` until stopped; `stop` returns the peak in bytes (again on later calls). */
export function sampleRss(everyMs = 50): { stop(): number } {
  let peak = process.memoryUsage().rss;
  let timer: NodeJS.Timeout | undefined = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), everyMs);
  return {
    stop() {
      if (timer) peak = Math.max(peak, process.memoryUsage().rss);
      clearInterval(timer);
      timer = undefined;
      return peak;
    },
  };
}
