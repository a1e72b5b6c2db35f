import { EbbError } from '../client-sdk/src';
import { duration, failure } from './format';

export interface RecoveryOptions {
  /** First wait before connecting again after the client stopped, before jitter. @default 1000 */
  readonly baseDelayMs?: number;
  /** Longest wait between attempts. @default 60000 */
  readonly maxDelayMs?: number;
  /** Wait between attempts while the account is suspended: only an operator can lift it. @default 60000 */
  readonly suspendedRetryMs?: number;
}

const DEFAULTS: Required<RecoveryOptions> = { baseDelayMs: 1000, maxDelayMs: 60_000, suspendedRetryMs: 60_000 };

/** Refusals no retry can change: the chat stays up for /export and notices, and stops connecting. */
const FINAL = new Set(['SERVICE_SHUT_DOWN', 'SIGNUPS_CLOSED', 'BAD_REQUEST']);

type Outage = 'lost' | 'suspended';

/**
 * Brings the chat back when the client has stopped reconnecting by itself (the SDK retries dropped
 * connections, but stops on a refusal such as ACCOUNT_SUSPENDED or repeated UNAUTHORIZED): connects
 * again with backoff, or every `suspendedRetryMs` while suspended, says once what is going on, and
 * once when chatting works again.
 */
export class Recovery {
  private readonly options: Required<RecoveryOptions>;
  private outage: Outage | undefined;
  private failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly connect: () => Promise<void>,
    private readonly print: (text: string) => void,
    options: RecoveryOptions = {},
    private readonly random: () => number = Math.random,
  ) {
    this.options = { ...DEFAULTS, ...options };
  }

  /** The client stopped, or a connect was refused with `error`: try again later, unless nothing can change it. */
  failed(error: unknown): void {
    if (this.stopped) return;
    const code = EbbError.is(error) ? error.code : 'INTERNAL';
    if (FINAL.has(code)) {
      this.outage = undefined;
      this.print(`not reconnecting: ${failure(error)}`);
      return;
    }
    const outage: Outage = code === 'ACCOUNT_SUSPENDED' ? 'suspended' : 'lost';
    if (outage !== this.outage) {
      this.print(
        outage === 'suspended'
          ? `your account is suspended by the operator of this service: trying again every ${duration(Math.round(this.options.suspendedRetryMs / 1000))}; chatting resumes once it is lifted`
          : `connection lost (${failure(error)}): reconnecting`,
      );
      this.outage = outage;
      this.failures = 0;
    }
    this.schedule(outage === 'suspended' ? this.options.suspendedRetryMs : this.backoff());
  }

  /** Cancels the next attempt; used when the chat closes. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private schedule(delayMs: number): void {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.attempt(), delayMs);
    // A wait for the next attempt must not keep a finished chat process alive.
    this.timer.unref();
  }

  private async attempt(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.connect();
    } catch (error) {
      this.failed(error);
      return;
    }
    if (this.stopped) return;
    this.print(this.outage === 'suspended' ? 'your account is no longer suspended: connected again' : 'connected again');
    this.outage = undefined;
    this.failures = 0;
  }

  /** Exponential, capped, half of it random: many chats dropped together do not return in step. */
  private backoff(): number {
    const ceiling = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** Math.min(this.failures++, 30));
    return ceiling / 2 + this.random() * (ceiling / 2);
  }
}
