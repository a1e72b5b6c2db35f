/**
 * The entry of the local stack's own process (`startStackProcess` in stack-process.ts): the stack on a free
 * port with the bench's unthrottled limits. It sends `{ url }` over the IPC channel once listening, and stops
 * the stack and exits on `'stop'`, or when the channel closes (the bench ended or died), so it never outlives
 * the bench.
 */
import { startLocalStack, type LocalStack } from '../local';
import { UNTHROTTLED } from './stack';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

let stack: LocalStack | undefined;
let stopping = false;

function stop(): void {
  if (stopping) return;
  stopping = true;
  if (!stack) process.exit(0);
  void stack.stop().finally(() => process.exit(0));
}

async function main(): Promise<void> {
  if (!process.send) throw new Error('bench: stack-child.ts runs under startStackProcess, with an IPC channel');
  // Before the stack starts: a bench gone while it starts must not leave it running.
  process.on('message', (message) => message === 'stop' && stop());
  process.once('disconnect', stop);
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED }, sweepIntervalMs: 60_000 });
  if (stopping) return void stack.stop().finally(() => process.exit(0));
  process.send({ url: stack.url });
}

main().catch((error: unknown) => {
  // The error's name and message only: never a stack trace.
  const reason = error instanceof Error ? `${error.name}: ${error.message}` : 'unknown';
  if (process.connected) process.send?.({ error: reason });
  process.exit(1);
});
