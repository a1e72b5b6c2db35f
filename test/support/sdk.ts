import { EbbError, type EbbClient, type ReceivedMessage } from '../../client-sdk/src';

/** Every message `client` hands to the app from now on, in order. */
export function inbox(client: EbbClient): ReceivedMessage[] {
  const received: ReceivedMessage[] = [];
  client.on('message', (m) => received.push(m));
  return received;
}

/** Polls `condition` every 10 ms; fails naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The EbbError code `promise` rejects with; fails if it resolves or rejects with anything else. */
export async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!EbbError.is(error)) throw new Error(`expected an EbbError, got ${String(error)}`);
  return error.code;
}
