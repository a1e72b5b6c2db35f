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
