import { generateRequestDetails } from 'web-push';
import type { PushResult, WebPushService, WebPushTarget } from '../core/push-wake';
import type { VapidKeys } from './vapid-keys';

/**
 * Web Push wake-ups (RFC 8030) through the `web-push` library, which encrypts the payload (RFC 8291,
 * `aes128gcm`) and signs the VAPID JWT (RFC 8292). The library only builds the request here; it is posted with
 * `fetch`, so the same code reaches a push service over https and the local stack's receiver over http, and a
 * slow service is cut off by a deadline (the library's own sender speaks https only).
 */

/**
 * Every wake-up carries these bytes and nothing else, encrypted to the subscription. A constant says nothing of
 * sender, content or count, and its ciphertext is the same length every time; unlike an empty body it lets the
 * service worker tell an ebb wake-up from another push of its origin. (ARCH §6.13)
 */
export const WAKE_PAYLOAD = '{"t":"wake"}';

/**
 * RFC 8030 §5.4 `Topic`: a push service keeps only the newest message of a topic for a subscription, so wake-ups
 * waiting for a device that is off collapse into one. It is the same for every device and says nothing.
 */
export const WAKE_TOPIC = 'ebb-wake';

/** The longest a push service is asked to hold a wake-up (RFC 8030 §5.2 `TTL`): four weeks, as the services allow. */
export const MAX_WAKE_TTL_SECONDS = 28 * 24 * 3600;

/** How a built request is posted: `fetch` in production; tests record what would have gone out. */
export type PushTransport = (
  endpoint: string,
  init: { method: 'POST'; headers: Record<string, string>; body: Uint8Array | null },
) => Promise<{ status: number }>;

export interface WebPushSenderOptions {
  /** The VAPID key pair, loaded once and cached by the caller. */
  readonly vapidKeys: () => Promise<VapidKeys>;
  /** VAPID `sub` (RFC 8292 §2.1): `mailto:` or `https:`. */
  readonly subject: string;
  /** How long the push service may hold a wake-up for a device that is off, in seconds. */
  readonly ttlSeconds: number;
  /** @default fetch with a 10-second deadline */
  readonly transport?: PushTransport;
}

export class WebPushSender implements WebPushService {
  private readonly transport: PushTransport;

  constructor(private readonly options: WebPushSenderOptions) {
    this.transport = options.transport ?? fetchTransport;
  }

  async send(subscription: WebPushTarget): Promise<PushResult> {
    const { publicKey, privateKey } = await this.options.vapidKeys();
    let request: ReturnType<typeof generateRequestDetails>;
    try {
      request = generateRequestDetails({ endpoint: subscription.endpoint, keys: { ...subscription.keys } }, WAKE_PAYLOAD, {
        vapidDetails: { subject: this.options.subject, publicKey, privateKey },
        TTL: this.options.ttlSeconds,
        urgency: 'high',
        topic: WAKE_TOPIC,
        contentEncoding: 'aes128gcm',
      });
    } catch {
      // The library refuses a subscription it cannot encrypt to (a bad p256dh or auth): no push will ever reach it.
      return 'expired';
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) headers[name] = String(value);
    let status: number;
    try {
      ({ status } = await this.transport(request.endpoint, { method: 'POST', headers, body: request.body }));
    } catch {
      return 'failed';
    }
    return resultOfStatus(status);
  }
}

/**
 * RFC 8030 §5: 201 Created; RFC 8030 §7.3 and the services' practice: 404 and 410 mean the subscription is gone.
 * 429 and 5xx may pass; any other 4xx (a refused VAPID key, a malformed request) will not, and is dropped.
 */
export function resultOfStatus(status: number): PushResult {
  if (status >= 200 && status < 300) return 'sent';
  if (status === 404 || status === 410) return 'expired';
  if (status === 429 || status >= 500) return 'failed';
  return status >= 400 ? 'rejected' : 'failed';
}

const DEADLINE_MS = 10_000;

/** Posts with `fetch`, refusing redirects, within a 10-second deadline. */
export const fetchTransport: PushTransport = async (endpoint, init) => {
  const response = await fetch(endpoint, {
    method: init.method,
    headers: init.headers,
    // A copy into a fresh ArrayBuffer: the DOM typing of fetch takes no view of a possibly shared buffer.
    body: init.body === null ? null : new Uint8Array(init.body).buffer,
    redirect: 'error',
    signal: AbortSignal.timeout(DEADLINE_MS),
  });
  // The body is the service's diagnostic text; it is not read, so it is never logged.
  await response.body?.cancel();
  return { status: response.status };
};
