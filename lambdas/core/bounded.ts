/**
 * Runs `run` over `items` with at most `limit` calls in flight: one request cannot open thousands of
 * DynamoDB requests or sockets at once. Rejects with the first failure, after the calls in flight settle.
 */
export async function forEachBounded<T>(items: readonly T[], limit: number, run: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await run(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** `forEachBounded` keeping each result at its item's index. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  const indexed = items.map((item, index) => ({ item, index }));
  await forEachBounded(indexed, limit, async ({ item, index }) => {
    results[index] = await run(item);
  });
  return results;
}

export type Settled<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: unknown };

export function valueOf<T>(outcome: Settled<T>): T {
  if (!outcome.ok) throw outcome.error;
  return outcome.value;
}

/** `Promise.allSettled` as results that narrow: every request of a round trip ends before any is judged. */
export async function settleAll<T extends readonly unknown[]>(promises: { readonly [K in keyof T]: Promise<T[K]> }): Promise<{
  [K in keyof T]: Settled<T[K]>;
}> {
  const outcomes = await Promise.allSettled(promises as readonly Promise<unknown>[]);
  return outcomes.map((o) => (o.status === 'fulfilled' ? { ok: true, value: o.value } : { ok: false, error: o.reason })) as {
    [K in keyof T]: Settled<T[K]>;
  };
}
