import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SNSClient } from '@aws-sdk/client-sns';
import * as z from 'zod/mini';
import type { EbbConfig } from '../../protocol/config';
import type { MobilePushService, WebPushService } from '../core/push-wake';
import { LambdaEnv } from '../lambda-env';
import { SnsMobilePush } from './sns-push';
import { parseVapidKeys, type VapidKeys } from './vapid-keys';
import { MAX_WAKE_TTL_SECONDS, WebPushSender, fetchTransport } from './web-push';

/** The push services of the wake-up sender on AWS, from the environment infra/push.ts sets (ARCH §6.13). */

const Env = z.object({
  [LambdaEnv.vapidSecret]: z.string().check(z.minLength(1)),
  [LambdaEnv.vapidSubject]: z.string().check(z.regex(/^(mailto:|https:)/)),
  [LambdaEnv.apnsApplication]: z.optional(z.string().check(z.regex(/^arn:[\w-]+:sns:/))),
  [LambdaEnv.fcmApplication]: z.optional(z.string().check(z.regex(/^arn:[\w-]+:sns:/))),
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
  const parsed = Env.safeParse(env);
  if (!parsed.success) throw new Error(`invalid Lambda environment: ${parsed.error.issues.map((i) => i.path.join('.')).join(', ')}`);
  const secretId = parsed.data[LambdaEnv.vapidSecret];
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
    webPush: new WebPushSender({ vapidKeys, subject: parsed.data[LambdaEnv.vapidSubject], ttlSeconds, transport: fetchTransport }),
    mobilePush: new SnsMobilePush(
      new SNSClient({}),
      { apns: parsed.data[LambdaEnv.apnsApplication], fcm: parsed.data[LambdaEnv.fcmApplication] },
      ttlSeconds,
    ),
  };
}
