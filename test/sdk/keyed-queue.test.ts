import { KeyedQueue } from '../../client-sdk/src/keyed-queue';

/** A task that records when it starts and ends, and settles only when told. */
function gate(log: string[], name: string) {
  let settle!: (ok: boolean) => void;
  const done = new Promise<boolean>((resolve) => (settle = resolve));
  const task = async () => {
    log.push(`${name} start`);
    const ok = await done;
    log.push(`${name} end`);
    if (!ok) throw new Error(`${name} failed`);
    return name;
  };
  return { task, succeed: () => settle(true), fail: () => settle(false) };
}

const settled = () => new Promise((resolve) => setImmediate(resolve));

describe('GIVEN a keyed queue', () => {
  test('WHEN two tasks share a key THEN the second starts only after the first has settled', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const [a, b] = [gate(log, 'a'), gate(log, 'b')];
    const results = [queue.run('k', a.task), queue.run('k', b.task)];
    await settled();
    expect(log).toEqual(['a start']);
    a.succeed();
    await settled();
    expect(log).toEqual(['a start', 'a end', 'b start']);
    b.succeed();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b']);
  });

  test('WHEN a task fails THEN its caller gets the failure and the next task on the key still runs', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const [a, b] = [gate(log, 'a'), gate(log, 'b')];
    const first = queue.run('k', a.task);
    const second = queue.run('k', b.task);
    a.fail();
    await expect(first).rejects.toThrow('a failed');
    b.succeed();
    await expect(second).resolves.toBe('b');
    expect(log).toEqual(['a start', 'a end', 'b start', 'b end']);
  });

  test('WHEN tasks have different keys THEN they run at the same time', async () => {
    const queue = new KeyedQueue<object>();
    const log: string[] = [];
    const [a, b] = [gate(log, 'a'), gate(log, 'b')];
    const results = [queue.run({}, a.task), queue.run({}, b.task)];
    await settled();
    expect(log).toEqual(['a start', 'b start']);
    b.succeed();
    a.succeed();
    await expect(Promise.all(results)).resolves.toEqual(['a', 'b']);
  });

  test('WHEN a key has nothing pending THEN a new task on it starts at once', async () => {
    const queue = new KeyedQueue();
    await queue.run('k', async () => 'first');
    const log: string[] = [];
    const c = gate(log, 'c');
    const result = queue.run('k', c.task);
    await settled();
    expect(log).toEqual(['c start']);
    c.succeed();
    await expect(result).resolves.toBe('c');
  });

  test('WHEN idle() is awaited THEN it resolves once every task queued so far, on every key, has settled, failures included', async () => {
    const queue = new KeyedQueue();
    const log: string[] = [];
    const [a, b, c] = [gate(log, 'a'), gate(log, 'b'), gate(log, 'c')];
    void queue.run('k', a.task);
    void queue.run('k', b.task).catch(() => undefined);
    void queue.run('other', c.task);
    let idle = false;
    void queue.idle().then(() => (idle = true));
    a.succeed();
    c.succeed();
    await settled();
    expect(idle).toBe(false);
    b.fail();
    await settled();
    expect(idle).toBe(true);
    await expect(new KeyedQueue().idle()).resolves.toBeUndefined();
  });
});
