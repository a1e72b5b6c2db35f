import { Limits } from '../../protocol/limits';
import { badRequest } from './errors';
import { DEFAULT_PREKEY_POLICY, type PrekeyPolicy } from './session/prekeys';
import type { KeyStore } from './store/key-store';
import { MemoryStore } from './store/memory-store';
import { MAX_RECEIPT_WAIT_MS, RECEIPT_WAIT_MS } from './session/receipts';
import { type BackoffOptions, DEFAULT_BACKOFF } from './transport/backoff';
import type { WebSocketConstructor } from './transport/websocket';

export interface EbbClientOptions {
  /** The service's WebSocket URL, e.g. `wss://…/prod` or `ws://127.0.0.1:8787`. */
  readonly url: string;
  /** Where the identity and everything else that must survive a restart is kept. @default new MemoryStore() */
  readonly store?: KeyStore;
  /** Clock in ms since the epoch, for connect timestamps and expiry. @default Date.now */
  readonly now?: () => number;
  /**
   * This client's device number, when the app wants it checked: the store decides it (1 for the device that
   * created the account, the linked device's own number otherwise), and another value is refused. @default the store's
   */
  readonly device?: number;
  /**
   * Whether to send delivery and read receipts to those who write to this account (ARCH §8.6). Receipts
   * from others are received either way, and read state is synced to this account's other devices either way.
   * @default true
   */
  readonly receipts?: boolean;
  /**
   * How long, at most, a delivery or read receipt waits for a message this device sends to the same user: it
   * then rides inside that message (end-to-end encrypted like it), and so does the ack of the message it
   * confirms, costing no frame of its own (ARCH §8.6). A receipt with no message to ride goes alone once the
   * wait is over, with the others queued by then. 0 sends each batch as soon as it is made. Read state for
   * this account's other devices waits as long.
   * @default 1500
   */
  readonly receiptWaitMs?: number;
  /** WebSocket implementation. @default globalThis.WebSocket, else the `ws` package */
  readonly WebSocket?: WebSocketConstructor;
  /** What attachments are uploaded and downloaded with (ARCH §8.10). @default globalThis.fetch */
  readonly fetch?: (url: string, init?: RequestInit) => Promise<Response>;
  /** How long a request (or connect()) may take, reconnects included. @default 30000 */
  readonly timeoutMs?: number;
  /** Reconnect backoff. @default { baseDelayMs: 250, maxDelayMs: 30000 } */
  readonly reconnect?: BackoffOptions;
  /** How often a new signed prekey is published (checked on each connect). @default 7 days */
  readonly signedPrekeyRotationMs?: number;
  /**
   * How long a replaced signed prekey still opens first messages sent before the rotation; keep it
   * at least the service's retention. @default 30 days
   */
  readonly signedPrekeyGraceMs?: number;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Options after defaults and checks. */
export interface Settings {
  readonly url: string;
  readonly store: KeyStore;
  readonly now: () => number;
  readonly device: number;
  readonly WebSocket: WebSocketConstructor | undefined;
  readonly timeoutMs: number;
  readonly backoff: Required<BackoffOptions>;
  readonly prekeyPolicy: PrekeyPolicy;
  readonly receipts: boolean;
  readonly receiptWaitMs: number;
  readonly fetch: ((url: string, init?: RequestInit) => Promise<Response>) | undefined;
}

/** Applies defaults and checks every option. @throws EbbError BAD_REQUEST naming the offending option. */
export function resolveOptions(options: EbbClientOptions): Settings {
  if (typeof options !== 'object' || options === null) throw badRequest('options: must be an object');
  let protocol: string;
  try {
    protocol = new URL(options.url).protocol;
  } catch {
    throw badRequest('url: must be a ws:// or wss:// URL');
  }
  if (protocol !== 'ws:' && protocol !== 'wss:') throw badRequest('url: must be a ws:// or wss:// URL');
  const device = options.device ?? 1;
  if (!Number.isInteger(device) || device < 1 || device > Limits.maxDevice)
    throw badRequest(`device: must be a whole number from 1 to ${Limits.maxDevice}`);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0)) throw badRequest('timeoutMs: must be positive');
  const backoff = { ...DEFAULT_BACKOFF, ...options.reconnect };
  if (!(backoff.baseDelayMs > 0) || !(backoff.maxDelayMs >= backoff.baseDelayMs)) throw badRequest('reconnect: need 0 < baseDelayMs <= maxDelayMs');
  const rotationMs = options.signedPrekeyRotationMs ?? DEFAULT_PREKEY_POLICY.rotationMs;
  const graceMs = options.signedPrekeyGraceMs ?? DEFAULT_PREKEY_POLICY.graceMs;
  if (!(rotationMs > 0)) throw badRequest('signedPrekeyRotationMs: must be positive');
  if (!(graceMs >= 0)) throw badRequest('signedPrekeyGraceMs: must not be negative');
  if (options.now !== undefined && typeof options.now !== 'function') throw badRequest('now: must be a function');
  if (options.WebSocket !== undefined && typeof options.WebSocket !== 'function') throw badRequest('WebSocket: must be a constructor');
  if (options.receipts !== undefined && typeof options.receipts !== 'boolean') throw badRequest('receipts: must be a boolean');
  const receiptWaitMs = options.receiptWaitMs ?? RECEIPT_WAIT_MS;
  if (typeof receiptWaitMs !== 'number' || !(receiptWaitMs >= 0 && receiptWaitMs <= MAX_RECEIPT_WAIT_MS))
    throw badRequest(`receiptWaitMs: must be from 0 to ${MAX_RECEIPT_WAIT_MS}`);
  if (options.fetch !== undefined && typeof options.fetch !== 'function') throw badRequest('fetch: must be a function');
  return {
    url: options.url,
    store: options.store ?? new MemoryStore(),
    now: options.now ?? Date.now,
    device,
    WebSocket: options.WebSocket,
    timeoutMs,
    backoff,
    prekeyPolicy: { rotationMs, graceMs },
    receipts: options.receipts ?? true,
    receiptWaitMs,
    fetch: options.fetch,
  };
}
