import * as v from 'valibot';
import { maxChars } from './chars';
import { bytes } from './fields';
import { Limits } from './limits';

/**
 * A device's push subscription (ARCH §6.13), as `push.register` carries it: a browser's Web Push subscription
 * (`PushSubscription.toJSON()`, RFC 8030 / RFC 8291), or a native app's APNs or FCM token. The server checks the
 * shape here and, in the core, that `p256dh` is a point of P-256 and that the endpoint is one it may post to.
 */

/** RFC 8291 §3.2: the user agent's uncompressed P-256 public key, `0x04 ‖ X ‖ Y`. */
export const P256_UNCOMPRESSED_BYTES = 65;
/** RFC 8291 §3.2: the authentication secret. */
export const PUSH_AUTH_BYTES = 16;

const PushEndpoint = v.pipe(
  v.string(),
  maxChars(Limits.maxPushEndpointChars),
  v.check(isPushEndpointShape, 'must be an https URL without credentials or fragment'),
);

/** The fields of `PushSubscription.toJSON()` the server keeps; `expirationTime` and anything else is dropped. */
export const WebPushSubscription = v.object({
  endpoint: PushEndpoint,
  keys: v.object({
    p256dh: v.pipe(
      bytes(P256_UNCOMPRESSED_BYTES),
      v.check((s) => s.startsWith('B'), 'must be an uncompressed point (0x04 first)'),
    ),
    auth: bytes(PUSH_AUTH_BYTES),
  }),
});

/**
 * A native token: APNs device tokens are hex (32 bytes today; Apple says their length may grow), FCM registration
 * tokens are letters, digits and `_ - : .`.
 */
export const NativePushToken = v.union([
  v.object({
    platform: v.literal('apns'),
    token: v.pipe(v.string(), v.regex(/^(?:[0-9a-fA-F]{2}){32,100}$/, 'must be 64 to 200 hex digits')),
  }),
  v.object({
    platform: v.literal('fcm'),
    token: v.pipe(
      v.string(),
      v.regex(new RegExp(`^[A-Za-z0-9_:.-]{32,${Limits.maxPushTokenChars}}$`), `must be 32 to ${Limits.maxPushTokenChars} of A-Z a-z 0-9 _ - : .`),
    ),
  }),
]);

export const PushSubscription = v.union([WebPushSubscription, NativePushToken]);
export type WebPushSubscription = v.InferOutput<typeof WebPushSubscription>;
export type NativePushToken = v.InferOutput<typeof NativePushToken>;
export type PushSubscription = v.InferOutput<typeof PushSubscription>;

export function isWebPush(subscription: PushSubscription): subscription is WebPushSubscription {
  return 'endpoint' in subscription;
}

/**
 * An absolute http(s) URL with a host, no user name or password and no fragment. Whether plain http is allowed
 * (only the local stack's receiver) is the server's call, not the wire's.
 */
function isPushEndpointShape(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'https:' || url.protocol === 'http:') &&
    url.hostname !== '' &&
    !url.username &&
    !url.password &&
    !url.hash &&
    !text.includes('#')
  );
}
