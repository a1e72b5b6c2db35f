import { fork, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

/** The local stack running in a child process: its WebSocket URL, and how to stop it. */
export interface StackProcess {
  /** `ws://127.0.0.1:<port>`: point `EbbClient.create({ url })` here. */
  readonly url: string;
  /** The child's process id (tests check it is gone after `stop`). */
  readonly pid: number;
  /** Stops the stack and waits for the child to exit; kills it if it has not within `stopTimeoutMs`. Idempotent. */
  stop(): Promise<void>;
}

export interface StackProcessOptions {
  /** How long the child may take to start the stack and report its URL. @default 60_000 */
  readonly readyTimeoutMs?: number;
  /** How long `stop()` waits for a clean exit before SIGKILL. @default 10_000 */
  readonly stopTimeoutMs?: number;
}

/**
 * The local stack (API, handlers, dynalite, the S3 endpoint), unthrottled, in a process of its own
 * (`bench/stack-child.ts` under tsx), for a section whose client-side figures must not include the server's
 * work: on AWS, S3 does not run on the client's CPU, nor count in its memory. The child stops with the stack
 * when told, when this process exits, or when the IPC channel closes; a failed start kills it.
 */
export async function startStackProcess(options: StackProcessOptions = {}): Promise<StackProcess> {
  const root = join(__dirname, '..');
  const child = fork(join(__dirname, 'stack-child.ts'), [], {
    cwd: root,
    // tsx's loader, resolved from the repository, whether the bench itself runs under tsx or ts-jest.
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // process.exit() in the bench skips every finally: the child goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    process.removeListener('exit', killOnExit);
  };

  let url: string;
  try {
    url = await readyUrl(child, options.readyTimeoutMs ?? 60_000);
  } catch (error) {
    await kill();
    throw error;
  }
  let stopped: Promise<void> | undefined;
  return {
    url,
    pid: child.pid!,
    stop() {
      stopped ??= (async () => {
        if (child.connected) child.send('stop');
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), options.stopTimeoutMs ?? 10_000)));
        await Promise.race([exited, late]);
        clearTimeout(timer);
        await kill();
      })();
      return stopped;
    },
  };
}

/** The URL the child reports, or an error when it fails, exits or stays silent for `timeoutMs`. */
function readyUrl(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const done = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
      child.off('error', onError);
    };
    const onMessage = (message: unknown) => {
      const m = message as { url?: unknown; error?: unknown } | null;
      done();
      if (typeof m?.url === 'string') resolve(m.url);
      else reject(new Error(`bench: the stack process failed to start (${typeof m?.error === 'string' ? m.error : 'no reason given'})`));
    };
    const onExit = (code: number | null, signal: string | null) => {
      done();
      reject(new Error(`bench: the stack process exited before it was ready (${signal ?? `code ${code}`})`));
    };
    const onError = (error: Error) => {
      done();
      reject(new Error(`bench: the stack process could not be started (${error.message})`));
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`bench: the stack process was not ready within ${timeoutMs} ms`));
    }, timeoutMs);
    child.on('message', onMessage);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}
