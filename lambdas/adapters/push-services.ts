import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import * as v from 'valibot';
import type { EbbConfig } from '../../protocol/config';
import type { MobilePushService, WebPushService } from '../core/push-wake';
import { SnsMobilePush } from './sns-push';
import { parseVapidKeys, type VapidKeys } from './vapid-keys';
import { MAX_WAKE_TTL_SECONDS, WebPushSender, fetchTransport } from './web-push';

/** The push services of the wake-up sender on AWS, from the environment infra/push.ts sets (ARCH §6.13). */

/**
 * Environment only the wake-up sender reads, beside `LambdaEnv`: apart from it so that the routes, which bundle
 * `LambdaEnv`, do not carry these names.
 */
export const PushSenderEnv = {
  /** ARN of the Secrets Manager secret holding the VAPID key pair; only the sender reads it. */
  vapidSecret: 'EBB_VAPID_SECRET',
  /** The VAPID `sub` claim the sender signs: `push.vapidSubject`, or the deployment's https URL. */
  vapidSubject: 'EBB_VAPID_SUBJECT',
  /** ARNs of the SNS platform applications for APNs and FCM, set only for the platforms the operator configured. */
  apnsApplication: 'EBB_PUSH_APNS_APPLICATION',
  fcmApplication: 'EBB_PUSH_FCM_APPLICATION',
} as const;

const Env = v.object({
  [PushSenderEnv.vapidSecret]: v.pipe(v.string(), v.minLength(1)),
  [PushSenderEnv.vapidSubject]: v.pipe(v.string(), v.regex(/^(mailto:|https:)/)),
  [PushSenderEnv.apnsApplication]: v.optional(v.pipe(v.string(), v.regex(/^arn:[\w-]+:sns:/))),
  [PushSenderEnv.fcmApplication]: v.optional(v.pipe(v.string(), v.regex(/^arn:[\w-]+:sns:/))),
});

export interface PushServices {
  readonly webPush: WebPushService;
  readonly mobilePush: MobilePushService;
}

/**
 * How long a push service may hold a wake-up for a device that is off: as long as the message it announces may
 * wait in the queue (`retentionDays`), within the four weeks the services allow.
 */
export function wakeTtlSeconds(config: EbbConfig): number {
  return Math.min(config.retentionDays * 86_400, MAX_WAKE_TTL_SECONDS);
}

/**
 * The services, built once per cold start; the VAPID key pair is read from Secrets Manager on first use and kept
 * (it never changes: a new pair would orphan every browser subscription).
 * @throws Error naming the environment variable at fault.
 */
export function pushServicesFromEnv(config: EbbConfig, env: NodeJS.ProcessEnv = process.env): PushServices {
  const parsed = v.safeParse(Env, env);
  if (!parsed.success)
    throw new Error(`invalid Lambda environment: ${parsed.issues.map((i) => (i.path ?? []).map((p) => String(p.key)).join('.')).join(', ')}`);
  const secretId = parsed.output[PushSenderEnv.vapidSecret];
  const secrets = new SecretsManagerClient({});
  let keys: Promise<VapidKeys> | undefined;
  const vapidKeys = () =>
    (keys ??= secrets
      .send(new GetSecretValueCommand({ SecretId: secretId }))
      .then((out) => parseVapidKeys(out.SecretString ?? ''))
      .catch((error: unknown) => {
        keys = undefined;
        throw error;
      }));
  const ttlSeconds = wakeTtlSeconds(config);
  return {
    webPush: new WebPushSender({ vapidKeys, subject: parsed.output[PushSenderEnv.vapidSubject], ttlSeconds, transport: fetchTransport }),
    mobilePush: new SnsMobilePush(
      new SNSClient({}),
      { apns: parsed.output[PushSenderEnv.apnsApplication], fcm: parsed.output[PushSenderEnv.fcmApplication] },
      ttlSeconds,
    ),
  };
}
