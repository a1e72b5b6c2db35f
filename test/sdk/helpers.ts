import { EbbClient, type EbbClientOptions } from '../../client-sdk/src';
import type { FakeServer } from './fake-server';

/** Fast reconnects so tests do not wait on production backoff. */
export const FAST_RECONNECT = { baseDelayMs: 5, maxDelayMs: 50 } as const;

export async function clientFor(server: FakeServer, options: Partial<EbbClientOptions> = {}): Promise<EbbClient> {
  return EbbClient.create({ url: server.url, reconnect: FAST_RECONNECT, ...options });
}

export async function connected(server: FakeServer, options: Partial<EbbClientOptions> = {}): Promise<EbbClient> {
  const client = await clientFor(server, options);
  await client.connect();
  return client;
}

export { inbox } from '../support/sdk';

export async function waitFor(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('waitFor: condition not met in time');
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The rejection of `promise`, failing the test if it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
