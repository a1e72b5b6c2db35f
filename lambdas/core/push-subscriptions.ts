import { createPublicKey } from 'node:crypto';
import { isIP } from 'node:net';
import { fromBase64Url } from '../../protocol/base64url';
import type { PushRegisterFrame, Results } from '../../protocol/frames';
import { isWebPush, P256_UNCOMPRESSED_BYTES, type PushSubscription } from '../../protocol/push';
import { isAccountDevice } from './account-devices';
import { requireAccount } from './accounts';
import { requirePhaseAllows } from './phase';
import type { Caller, DeviceAddress, Ports, PushSettings } from './ports';
import { requireRateToken } from './rate-limits';
import { Refusal } from './refusal';

/**
 * `push.register` and `push.unregister` (ARCH §6.13): each device keeps at most one push subscription, under the
 * address its authenticated connection proves; a frame cannot name another user or device.
 */

/**
 * Stores the caller's device's subscription, replacing any earlier one. Nothing is stored when a check fails.
 * @throws Refusal BAD_REQUEST for a `p256dh` that is not a point of P-256 or an endpoint the server may not post
 *   to (plain http, an address rather than a host name, another port), FORBIDDEN for a device not of the account
 *   (or removed meanwhile), RATE_LIMITED past `registerPerMinute`.
 */
export async function registerPush(ports: Ports, caller: Caller, frame: PushRegisterFrame): Promise<Results['push.register']> {
  requirePhaseAllows(ports, 'push.register');
  await requireAccount(ports, caller);
  await requireRateToken(ports, 'pushRegister', caller.userId);
  const { subscription } = frame;
  if (isWebPush(subscription)) {
    const refused = endpointRefusal(subscription.endpoint, ports.push, ports.config.push.webPushHosts);
    if (refused) throw new Refusal('BAD_REQUEST', `subscription.endpoint: ${refused}`);
    if (!isP256Point(fromBase64Url(subscription.keys.p256dh)))
      throw new Refusal('BAD_REQUEST', 'subscription.keys.p256dh: is not a P-256 public key');
  }
  const device: DeviceAddress = { userId: caller.userId, device: caller.device };
  const replaced = await ports.pushTokens.put(device, subscription, ports.clock.now());
  // A `device.remove` that read the subscriptions before this put would leave this one behind: read the account
  // again, and take the subscription back when the device is gone (as a send takes back a copy, ARCH §4.6).
  const after = await ports.accounts.get(caller.userId);
  if (!after || !isAccountDevice(after, caller)) {
    await ports.pushTokens.remove(device, subscription);
    throw new Refusal('FORBIDDEN', 'this device was removed from the account');
  }
  // The kind only: an endpoint or a token identifies the device to its push service.
  ports.logger.info('push registered', { userId: caller.userId, device: caller.device, kind: kindOf(subscription), replaced });
  return { replaced };
}

/**
 * Forgets the caller's device's subscription; none is no error (`removed: false`).
 * @throws Refusal FORBIDDEN for a device not of the account, RATE_LIMITED past `registerPerMinute`.
 */
export async function unregisterPush(ports: Ports, caller: Caller): Promise<Results['push.unregister']> {
  requirePhaseAllows(ports, 'push.unregister');
  await requireAccount(ports, caller);
  await requireRateToken(ports, 'pushRegister', caller.userId);
  const removed = await ports.pushTokens.remove({ userId: caller.userId, device: caller.device });
  ports.logger.info('push unregistered', { userId: caller.userId, device: caller.device, removed });
  return { removed };
}

function kindOf(subscription: PushSubscription): 'web' | 'apns' | 'fcm' {
  return isWebPush(subscription) ? 'web' : subscription.platform;
}

/**
 * Why the push sender may not post to `endpoint`, or undefined. Push services are named hosts on the default
 * https port, among `hosts` (`push.webPushHosts`); an address, a single-label or `localhost` name, another port or
 * another host would let a client aim the sender at something that is not a push service (a host under the
 * client's own DNS could resolve to an address inside the network). Plain http only for the origins the
 * deployment lists (the local receiver).
 */
export function endpointRefusal(endpoint: string, push: Pick<PushSettings, 'httpOrigins'>, hosts: readonly string[]): string | undefined {
  const url = new URL(endpoint);
  if (url.protocol === 'http:') return push.httpOrigins.includes(url.origin) ? undefined : 'must be an https URL';
  if (url.protocol !== 'https:') return 'must be an https URL';
  if (url.port !== '') return 'must use the default https port';
  const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host) !== 0) return 'must name a host, not an address';
  if (!host.includes('.') || host === 'localhost' || host.endsWith('.localhost')) return 'must name a public host';
  if (!hosts.some((pattern) => (pattern.startsWith('*.') ? host.endsWith(pattern.slice(1)) : host === pattern))) {
    return 'must name a push service this deployment posts to (push.webPushHosts)';
  }
  return undefined;
}

/** Whether `bytes` is an uncompressed point on P-256 (RFC 8291 §3.2), checked by node:crypto's key import. */
export function isP256Point(bytes: Uint8Array): boolean {
  const half = (P256_UNCOMPRESSED_BYTES - 1) / 2;
  if (bytes.length !== P256_UNCOMPRESSED_BYTES || bytes[0] !== 0x04) return false;
  const coordinate = (from: number) => Buffer.from(bytes.subarray(from, from + half)).toString('base64url');
  try {
    createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: coordinate(1), y: coordinate(1 + half) }, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}
