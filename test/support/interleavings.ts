/**
 * A cooperative scheduler for race tests on the core with memory ports: every port call of an operation
 * waits for its turn, and `choices` say which waiting operation goes next. Memory ports finish within
 * microtasks, so once a macrotask has passed every running operation is either done or waiting at its
 * next port call: each turn is one port call, atomic, as one DynamoDB request is.
 */
export class Interleaving {
  private readonly waiting: { op: number; go: () => void }[] = [];
  /** How many operations were waiting at each decision, in order. */
  readonly options: number[] = [];

  constructor(private readonly choices: readonly number[]) {}

  /** `target` with each method call made to wait for operation `op`'s turn first. */
  gate<T extends object>(target: T, op: number): T {
    return new Proxy(target, {
      get: (object, property, receiver) => {
        const value: unknown = Reflect.get(object, property, receiver);
        if (typeof value !== 'function') return value;
        return async (...args: unknown[]) => {
          await new Promise<void>((go) => this.waiting.push({ op, go }));
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      },
    });
  }

  /** Runs the operations to their end, one port call at a time in the chosen order. */
  async run<R>(operations: readonly (() => Promise<R>)[]): Promise<PromiseSettledResult<R>[]> {
    const all = Promise.allSettled(operations.map((operation) => operation()));
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (this.waiting.length === 0) break;
      this.waiting.sort((a, b) => a.op - b.op);
      const pick = (this.choices[this.options.length] ?? 0) % this.waiting.length;
      this.options.push(this.waiting.length);
      this.waiting.splice(pick, 1)[0]!.go();
    }
    return all;
  }
}

/**
 * Calls `run` once per interleaving of the operations it runs, depth first (choices are
 * counted like an odometer over the decisions each run met); returns how many ran.
 */
export async function everyInterleaving(run: (interleaving: Interleaving) => Promise<void>, limit = 50_000): Promise<number> {
  let choices: number[] = [];
  for (let runs = 1; ; runs++) {
    const interleaving = new Interleaving(choices);
    await run(interleaving);
    const used = interleaving.options.map((_, i) => choices[i] ?? 0);
    let k = used.length - 1;
    while (k >= 0 && used[k]! + 1 >= interleaving.options[k]!) k--;
    if (k < 0 || runs >= limit) return runs;
    choices = [...used.slice(0, k), used[k]! + 1];
  }
}

/** `count` choices from a seeded generator (xorshift), for sampling interleavings too many to enumerate. */
export function randomChoices(seed: number, count: number): number[] {
  let x = seed | 1;
  return Array.from({ length: count }, () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % 1024;
  });
}
