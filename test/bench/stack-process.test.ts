import { connect } from 'node:net';
import { startStackProcess } from '../../bench/stack-process';

/** Whether a process with this id still exists (signal 0 checks without sending anything). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Whether something accepts TCP connections on the URL's port. */
function listening(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port), hostname);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('the local stack in its own process (bench section 10)', () => {
  it('reports a listening URL from another process and leaves no process behind on stop', async () => {
    const stack = await startStackProcess();
    try {
      try {
        expect(stack.url).toMatch(/^ws:\/\/127\.0\.0\.1:\d+$/);
        expect(stack.pid).not.toBe(process.pid);
        expect(alive(stack.pid)).toBe(true);
        expect(await listening(stack.url)).toBe(true);
      } finally {
        await stack.stop();
      }
      expect(alive(stack.pid)).toBe(false);
      expect(await listening(stack.url)).toBe(false);
      await stack.stop(); // a second stop is a no-op
    } finally {
      // Should stop() ever leave it running, the failure must not leave the process (and this worker) behind.
      if (alive(stack.pid)) process.kill(stack.pid, 'SIGKILL');
    }
  }, 60_000);
});
