import type { Logger } from './ports';

/**
 * Sending push wake-ups (ARCH §6.13): the function behind the wake-up queue reads the token of each device it
 * is asked to wake and hands one content-free push to the service that token belongs to. It never learns why
 * the device is woken: the queue message names the device and nothing else.
 */

/**
 * Receives of one wake-up before the queue moves it to its dead-letter queue: a push service down for the
 * visibility timeout times this (15 minutes on AWS) is an incident, not a blip. infra/push.ts and the local event
 * source both use it.
 */
export const WAKEUP_MAX_RECEIVES = 5;

/** What one wake-up queue message carries: the device to wake. No sender, no message, no count. */
export interface WakeupAddress {
  readonly userId: string;
  readonly device: number;
}

/** A browser's Web Push subscription (`PushSubscription.toJSON()`, RFC 8030 §5 endpoint with RFC 8291 keys). */
export interface WebPushTarget {
  readonly endpoint: string;
  readonly keys: { readonly p256dh: string; readonly auth: string };
}

/** A native app's device token, delivered through the SNS platform application of its platform. */
export interface NativePushTarget {
  readonly platform: 'apns' | 'fcm';
  readonly token: string;
}

export type PushTarget = WebPushTarget | NativePushTarget;

/**
 * What a push service made of one wake-up:
 * - `sent`: accepted;
 * - `expired`: the service says the token is gone (Web Push 404/410, SNS `EndpointDisabled`) or it can never be
 *   used (a token SNS refuses as invalid): the token is removed;
 * - `rejected`: refused for a reason a retry will not change (another 4xx): dropped, the token kept;
 * - `failed`: may work later (5xx, 429, a network error): SQS retries it, then the dead-letter queue;
 * - `off`: the token's platform is not configured in this deployment: dropped.
 */
export type PushResult = 'sent' | 'expired' | 'rejected' | 'failed' | 'off';

export interface WebPushService {
  send(subscription: WebPushTarget): Promise<PushResult>;
}

export interface MobilePushService {
  send(target: NativePushTarget): Promise<PushResult>;
}

/** The part of the push-token store the sender uses. */
export interface WakeupTokens {
  get(address: WakeupAddress): Promise<PushTarget | undefined>;
  /** Removes the device's token only while it is still `only`: one registered since the push stays. */
  remove(address: WakeupAddress, only: PushTarget): Promise<unknown>;
}

export interface WakeupPorts {
  readonly pushTokens: WakeupTokens;
  readonly webPush: WebPushService;
  readonly mobilePush: MobilePushService;
  readonly logger: Logger;
}

/** One queue record: its id (for `batchItemFailures`) and the address, or undefined when its body did not parse. */
export interface WakeupRecord {
  readonly id: string;
  readonly address: WakeupAddress | undefined;
}

/** What became of one record; `none` is a device with no token (unregistered since it was queued). */
export type WakeupOutcome = PushResult | 'none' | 'malformed';

export interface WakeupBatchOutcome {
  /** Ids of the records SQS must deliver again: a push or a token read or removal that may work later. */
  readonly failed: readonly string[];
  readonly counts: Readonly<Record<WakeupOutcome, number>>;
}

export function isWebPushTarget(target: PushTarget): target is WebPushTarget {
  return 'endpoint' in target;
}

/**
 * Wakes the device of every record, all at once (a batch is at most ten). A record fails, and SQS delivers it
 * again, only when trying again may help; an expired token is removed and its record succeeds. A malformed
 * record can only come from a fault in ebb's own enqueuing, and no retry mends it: it is dropped and logged.
 * Logs counts only: an address with a time would say who was written to, and tokens are identifiers.
 */
export async function deliverWakeups(ports: WakeupPorts, records: readonly WakeupRecord[]): Promise<WakeupBatchOutcome> {
  const counts: Record<WakeupOutcome, number> = { sent: 0, expired: 0, rejected: 0, failed: 0, off: 0, none: 0, malformed: 0 };
  const failed: string[] = [];
  await Promise.all(
    records.map(async (record) => {
      const outcome = await wake(ports, record.address);
      counts[outcome]++;
      if (outcome === 'failed') failed.push(record.id);
    }),
  );
  // Counts only, under the logger's existing names: notified = pushed, gone = expired and removed, failed = handed
  // back for a retry, skipped = no subscription any more or a platform that is off.
  const fields = {
    devices: records.length,
    notified: counts.sent,
    gone: counts.expired,
    rejected: counts.rejected,
    failed: counts.failed,
    skipped: counts.off + counts.none,
  };
  if (counts.malformed > 0) ports.logger.error('push wake-ups: malformed records dropped', { devices: counts.malformed });
  if (counts.failed > 0) ports.logger.warn('push wake-ups: some will be retried', fields);
  else ports.logger.info('push wake-ups', fields);
  return { failed, counts };
}

async function wake(ports: WakeupPorts, address: WakeupAddress | undefined): Promise<WakeupOutcome> {
  if (!address) return 'malformed';
  let target: PushTarget | undefined;
  try {
    target = await ports.pushTokens.get(address);
  } catch {
    return 'failed';
  }
  if (!target) return 'none';
  let result: PushResult;
  try {
    result = isWebPushTarget(target) ? await ports.webPush.send(target) : await ports.mobilePush.send(target);
  } catch {
    // The adapters answer every service outcome; a throw is a fault of ours or of the network: try again later.
    return 'failed';
  }
  if (result !== 'expired') return result;
  try {
    await ports.pushTokens.remove(address, target);
  } catch {
    // The retry pushes again, hears `expired` again, and removes the token then.
    return 'failed';
  }
  return 'expired';
}
