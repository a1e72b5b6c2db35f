import { createECDH, randomBytes } from 'node:crypto';
import type { NativePushToken, WebPushSubscription } from '../../protocol/push';

/**
 * Push subscriptions as devices make them: a Web Push one with a fresh P-256 key pair and auth secret (RFC 8291
 * §3.2), as `PushSubscription.toJSON()` gives it, and native APNs and FCM tokens.
 */

/** A browser's subscription at `endpoint` (a made-up push service path unless given). */
export function webPushSubscription(endpoint = `https://fcm.googleapis.com/fcm/send/${randomBytes(24).toString('base64url')}`): WebPushSubscription {
  const ecdh = createECDH('prime256v1');
  ecdh.generateKeys();
  return { endpoint, keys: { p256dh: ecdh.getPublicKey().toString('base64url'), auth: randomBytes(16).toString('base64url') } };
}

/** An APNs device token: 32 random bytes in hex. */
export function apnsToken(): NativePushToken {
  return { platform: 'apns', token: randomBytes(32).toString('hex') };
}

/** An FCM registration token of the usual shape. */
export function fcmToken(): NativePushToken {
  return { platform: 'fcm', token: `${randomBytes(16).toString('base64url')}:APA91b${randomBytes(96).toString('base64url')}` };
}
