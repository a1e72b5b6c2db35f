import { EbbClient, MemoryStore, type EbbClientOptions, type KeyStore } from '../../client-sdk/src';
import { startLocalStack, type LocalStack, type LocalStackOptions } from '../../local';
import type { EbbConfigInput } from '../../protocol';

/**
 * Every local client connects from 127.0.0.1 and test clocks mostly stand still, so suites that are not
 * about rate limits lift them; test/integration/rate-limits.test.ts keeps them low on purpose.
 */
export const UNTHROTTLED: NonNullable<EbbConfigInput['rateLimits']> = {
  sendPerMinute: 100_000,
  sendCopiesPerMinute: 100_000,
  connectPerMinute: 100_000,
  bundlePerMinute: 100_000,
  registerPerMinute: 100_000,
  reportPerMinute: 100_000,
  connectFailuresPerMinute: 100_000,
  framesPerSecond: 10_000,
  frameBurst: 100_000,
  usernameSetPerMinute: 100_000,
  usernameLookupPerMinute: 100_000,
  keysPublishPerMinute: 100_000,
  bundlePerPairPerHour: 100_000,
  attachmentUploadPerMinute: 100_000,
  attachmentDownloadPerMinute: 100_000,
};

/**
 * One local stack for the suite (unthrottled) and SDK clients that are closed after each test:
 * `const env = sdkSuite(); … const alice = await env.connected();`. `clientOptions` apply to every client
 * (give the stack's `now` to both when the suite moves a clock).
 */
export function sdkSuite(options: LocalStackOptions = {}, clientOptions: Partial<EbbClientOptions> = {}) {
  let stack: LocalStack | undefined;
  const clients: EbbClient[] = [];
  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, ...options, config: { rateLimits: UNTHROTTLED, ...options.config } });
  });
  const closeAll = async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
  };
  afterEach(closeAll);
  afterAll(() => stack?.stop());
  return {
    /** Closes every client made so far (before a test removes their FileStore directories, say). */
    closeAll,
    get stack(): LocalStack {
      if (!stack) throw new Error('sdkSuite: the stack starts in beforeAll');
      return stack;
    },
    /** A client on `store` (a new identity by default), not connected yet. */
    async client(store: KeyStore = new MemoryStore()): Promise<EbbClient> {
      const client = await EbbClient.create({ url: this.stack.url, store, timeoutMs: 10_000, ...clientOptions });
      clients.push(client);
      return client;
    },
    /** A new identity, connected (registered, prekeys published, queue drained). */
    async connected(): Promise<EbbClient> {
      const client = await this.client();
      await client.connect();
      return client;
    },
  };
}
