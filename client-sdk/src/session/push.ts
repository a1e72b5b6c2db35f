import * as v from 'valibot';
import { describeIssues } from '../../../protocol/issues';
import { PushSubscription, type NativePushToken } from '../../../protocol/push';
import { badRequest } from '../errors';

/**
 * What `registerPush` takes (ARCH §6.13): a browser's `PushSubscription` from `PushManager.subscribe()` (or its
 * `toJSON()`), or a native app's APNs or FCM token.
 */
export type PushSubscriptionInput =
  | { readonly endpoint: string; readonly expirationTime?: number | null; readonly keys?: Readonly<Record<string, string>> }
  | { toJSON(): unknown }
  | NativePushToken;

/**
 * `input` as the `push.register` frame carries it: a live subscription is read through its `toJSON()`, its keys
 * are turned into base64url without padding (some browsers pad them), and the result is checked against the
 * frame's schema, so a malformed one is refused before anything is sent.
 * @throws EbbError BAD_REQUEST naming the field at fault (never its value).
 */
export function pushSubscriptionOf(input: PushSubscriptionInput): PushSubscription {
  const plain: unknown = typeof (input as { toJSON?: unknown })?.toJSON === 'function' ? (input as { toJSON(): unknown }).toJSON() : input;
  const parsed = v.safeParse(PushSubscription, withUnpaddedKeys(plain));
  if (!parsed.success) throw badRequest(describeIssues(parsed.issues, 'subscription'));
  return parsed.output;
}

function withUnpaddedKeys(value: unknown): unknown {
  const keys = (value as { keys?: unknown } | null)?.keys;
  if (typeof keys !== 'object' || keys === null) return value;
  const unpadded = Object.fromEntries(
    Object.entries(keys).map(([name, key]) => [name, typeof key === 'string' ? key.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '') : key]),
  );
  return { ...(value as object), keys: unpadded };
}
