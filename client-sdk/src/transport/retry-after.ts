import { EbbError } from '../errors';

/**
 * Runs `attempt` again after each RATE_LIMITED answer, waiting the `retryAfterSeconds` the server gave,
 * for as long as the wait still ends within `timeoutMs` of the first attempt. Only for idempotent requests.
 * @throws the last RATE_LIMITED EbbError once waiting would overrun `timeoutMs`; any other error at once.
 */
export async function retryingRateLimited<T>(attempt: () => Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (!EbbError.is(error, 'RATE_LIMITED') || error.retryAfterSeconds === undefined) throw error;
      const waitMs = error.retryAfterSeconds * 1000;
      if (Date.now() + waitMs > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
    }
  }
}
