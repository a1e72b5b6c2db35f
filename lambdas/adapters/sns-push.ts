import {
  CreatePlatformEndpointCommand,
  DeleteEndpointCommand,
  EndpointDisabledException,
  InvalidParameterException,
  NotFoundException,
  PublishCommand,
  type MessageAttributeValue,
  type SNSClient,
} from '@aws-sdk/client-sns';
import type { MobilePushService, NativePushTarget, PushResult } from '../core/push-wake';

/**
 * APNs and FCM wake-ups through SNS mobile push (ARCH §6.13): one SNS platform application per configured
 * platform, a platform endpoint per device token, and a content-free publish to it — an APNs background push
 * (`content-available`, no alert) or an FCM data-only message. The platform's credentials stay in SNS.
 */

/** The platform applications of this deployment, by platform; a platform without one is off. */
export type PlatformApplications = Readonly<Partial<Record<NativePushTarget['platform'], string>>>;

/** Endpoint ARNs by token this container has created, so a warm function skips CreatePlatformEndpoint. */
const ENDPOINT_CACHE_SIZE = 1000;

export class SnsMobilePush implements MobilePushService {
  private readonly endpoints = new Map<string, string>();

  constructor(
    private readonly sns: SNSClient,
    private readonly applications: PlatformApplications,
    /** How long the platform may hold a wake-up for a device that is off, in seconds. */
    private readonly ttlSeconds: number,
  ) {}

  async send(target: NativePushTarget): Promise<PushResult> {
    const application = this.applications[target.platform];
    if (!application) return 'off';
    const cacheKey = `${target.platform}\n${target.token}`;
    let endpointArn = this.endpoints.get(cacheKey);
    if (!endpointArn) {
      try {
        // Idempotent: the same token (with no attributes set) answers the endpoint it made before, even a disabled one.
        const created = await this.sns.send(new CreatePlatformEndpointCommand({ PlatformApplicationArn: application, Token: target.token }));
        endpointArn = created.EndpointArn;
      } catch (error) {
        // SNS refuses a token the platform cannot take (malformed, wrong platform): it will never be pushed to.
        return error instanceof InvalidParameterException ? 'expired' : 'failed';
      }
      if (!endpointArn) return 'failed';
      this.remember(cacheKey, endpointArn);
    }
    try {
      await this.sns.send(new PublishCommand({ TargetArn: endpointArn, MessageStructure: 'json', ...wakeMessage(target.platform, this.ttlSeconds) }));
      return 'sent';
    } catch (error) {
      if (error instanceof EndpointDisabledException) {
        // APNs or FCM told SNS the token is no longer valid (the app was removed, the token rotated).
        this.endpoints.delete(cacheKey);
        await this.sns.send(new DeleteEndpointCommand({ EndpointArn: endpointArn })).catch(() => undefined);
        return 'expired';
      }
      if (error instanceof NotFoundException) {
        // The endpoint went away after it was cached (deleted for an earlier expiry): make it again on the retry.
        this.endpoints.delete(cacheKey);
        return 'failed';
      }
      return error instanceof InvalidParameterException ? 'rejected' : 'failed';
    }
  }

  private remember(key: string, arn: string): void {
    if (this.endpoints.size >= ENDPOINT_CACHE_SIZE) this.endpoints.delete(this.endpoints.keys().next().value!);
    this.endpoints.set(key, arn);
  }
}

/**
 * The publish of one wake-up: the same bytes for every device of a platform. `default` is what SNS requires of
 * a JSON message structure; the platform key is what the device gets.
 */
export function wakeMessage(
  platform: NativePushTarget['platform'],
  ttlSeconds: number,
): { Message: string; MessageAttributes: Record<string, MessageAttributeValue> } {
  const attribute = (value: string): MessageAttributeValue => ({ DataType: 'String', StringValue: value });
  if (platform === 'apns') {
    // A background push: wakes the app to fetch, shows nothing, and must be sent at priority 5.
    const aps = JSON.stringify({ aps: { 'content-available': 1 } });
    return {
      Message: JSON.stringify({ default: 'wake', APNS: aps, APNS_SANDBOX: aps }),
      MessageAttributes: {
        'AWS.SNS.MOBILE.APNS.PUSH_TYPE': attribute('background'),
        'AWS.SNS.MOBILE.APNS.PRIORITY': attribute('5'),
        'AWS.SNS.MOBILE.APNS.TTL': attribute(String(ttlSeconds)),
      },
    };
  }
  // FCM HTTP v1, data only: the app's messaging service handles it and no notification is drawn by the system.
  const message = { data: { t: 'wake' }, android: { priority: 'high', ttl: `${ttlSeconds}s` } };
  return {
    Message: JSON.stringify({ default: 'wake', GCM: JSON.stringify({ fcmV1Message: { message } }) }),
    MessageAttributes: { 'AWS.SNS.MOBILE.FCM.TTL': attribute(String(ttlSeconds)) },
  };
}
