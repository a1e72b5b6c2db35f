/**
 * Async tasks run one after another per key: a task starts once every earlier task on its key has settled,
 * fulfilled or rejected, and each caller gets its own task's outcome. Tasks on different keys run
 * concurrently. A key with nothing pending holds no memory.
 */
export class KeyedQueue<K = string> {
  /** Per key, the last task's outcome with its rejection dropped: what the next task waits on. */
  private readonly tails = new Map<K, Promise<unknown>>();

  run<T>(key: K, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    const next = previous.then(task, task);
    const tail = next.catch(() => undefined);
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return next;
  }

  /** Resolves once every task queued so far, on every key, has settled. */
  async idle(): Promise<void> {
    await Promise.all([...this.tails.values()]);
  }
}
