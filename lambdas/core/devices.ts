import { base64UrlByteLength } from '../../protocol/base64url';
import { DEVICE_CONTEXT, signedKeyMessage } from '../../protocol/connect';
import type { DeviceAddFrame, DeviceRemovedPush, DeviceRemoveFrame, LinkPush, Results } from '../../protocol/frames';
import { Limits } from '../../protocol/limits';
import { requireAccount } from './accounts';
import { requirePhaseAllows } from './phase';
import type { Caller, LinkedDevice, Ports } from './ports';
import { requireRateToken } from './rate-limits';
import { Refusal } from './refusal';
import { decodeOrUndefined, isSmallOrderKey, userIdOf, verifyEd25519 } from './signatures';

/**
 * Linked devices (ARCH §4.6). Device 1 holds the account signing key and certifies each new device's own
 * signing key; the server keeps the certified keys on the account item, relays the sealed provision to the
 * new device under its temporary identity, and never sees the link code.
 */

/**
 * `device.add`: device 1 links the device whose signing key and certificate the frame carries, and leaves the
 * sealed provision for it (a link item, 10 minutes) under its temporary user id, pushing it to any connection
 * of that id. Nothing is stored when a check fails.
 * @throws Refusal FORBIDDEN when the caller is not device 1 or the cert does not verify under the account key,
 *   CONFLICT past `maxDevicesPerAccount` or for a key linked before, PAYLOAD_TOO_LARGE for a provision larger
 *   than `maxCiphertextBytes`, RATE_LIMITED past `registerPerMinute`.
 */
export async function addDevice(ports: Ports, caller: Caller, frame: DeviceAddFrame): Promise<Results['device.add']> {
  requirePhaseAllows(ports, 'device.add');
  const account = await requireAccount(ports, caller);
  if (caller.device !== 1) throw new Refusal('FORBIDDEN', 'only device 1, which holds the account key, links devices');
  await requireRateToken(ports, 'deviceAdd', caller.userId);
  const key = decodeOrUndefined(frame.signingKey)!;
  // A small-order key verifies signatures nobody made: the device's connects would prove nothing (ARCH §4.3).
  if (isSmallOrderKey(key)) throw new Refusal('FORBIDDEN', 'this signing key is of small order: use a freshly generated key');
  if (frame.signingKey === account.signingKey) throw new Refusal('FORBIDDEN', 'a linked device needs its own signing key, not the account key');
  if (!verifyEd25519(decodeOrUndefined(account.signingKey)!, signedKeyMessage(DEVICE_CONTEXT, key), decodeOrUndefined(frame.cert)!)) {
    throw new Refusal('FORBIDDEN', 'cert does not verify with the account signing key');
  }
  if (base64UrlByteLength(frame.provision) > ports.config.maxCiphertextBytes) {
    throw new Refusal('PAYLOAD_TOO_LARGE', `provision exceeds ${ports.config.maxCiphertextBytes} bytes`);
  }

  const now = ports.clock.now();
  const max = ports.config.maxDevicesPerAccount;
  const added = await ports.devices.add(
    caller.userId,
    { signingKey: frame.signingKey, cert: frame.cert, name: frame.name ?? null, linkedAt: now },
    max,
  );
  switch (added.outcome) {
    case 'full':
      throw new Refusal('CONFLICT', `at most ${max} devices per account: remove one first`, { reason: 'device-limit' });
    case 'duplicate':
      throw new Refusal('CONFLICT', 'this link code was already used: start a new link on the new device', { reason: 'link-code-used' });
    case 'exhausted':
      throw new Refusal('CONFLICT', `this account has used all ${Limits.maxDevice} device numbers`, { reason: 'device-numbers-used' });
    case 'missing':
      throw new Refusal('FORBIDDEN', 'this identity is not registered: register first');
    case 'added':
      break;
  }

  const tmp = userIdOf(key);
  const link = { user: caller.userId, device: added.device, provision: frame.provision };
  await ports.links.put(tmp, link, Math.ceil((now + Limits.linkTtlMs) / 1000));
  await pushLink(ports, tmp, { type: 'link', ...link });
  ports.logger.info('device added', { userId: caller.userId, device: added.device });
  return { device: added.device };
}

/** Best effort: the new device also polls `link.fetch`. A connection API Gateway calls gone is deleted. */
async function pushLink(ports: Ports, tmp: string, frame: LinkPush): Promise<void> {
  const connections = await ports.connections.ofUser(tmp, ports.clock.now());
  await Promise.all(
    connections.map(async ({ connectionId }) => {
      if ((await ports.notifier.push(connectionId, JSON.stringify(frame))) === 'gone') await ports.connections.remove(tmp, connectionId);
    }),
  );
}

/**
 * `link.fetch`: the provision device 1 left for the caller, a device being linked that connects under its
 * temporary identity (its own signing key's user id, not registered). Only ever the caller's own.
 * @throws Refusal FORBIDDEN for a registered identity: it has nothing to be linked to.
 */
export async function fetchLink(ports: Ports, caller: Caller): Promise<Results['link.fetch']> {
  requirePhaseAllows(ports, 'link.fetch');
  const key = decodeOrUndefined(caller.signingKey);
  // The authorizer proved the key; re-derive so a misrouted context cannot read another's link.
  if (!key || userIdOf(key) !== caller.userId || caller.device !== 1) throw new Refusal('UNAUTHORIZED', 'connection identity is not proven');
  if (await ports.accounts.get(caller.userId))
    throw new Refusal('FORBIDDEN', 'this identity is registered: only a device being linked fetches a link');
  const link = await ports.links.get(caller.userId, ports.clock.now());
  return { link: link ?? null };
}

/** `devices.list`: the caller's account's devices, device 1 first; the server cannot read their names. */
export async function listDevices(ports: Ports, caller: Caller): Promise<Results['devices.list']> {
  requirePhaseAllows(ports, 'devices.list');
  const account = await requireAccount(ports, caller);
  return {
    devices: [
      { device: 1, name: null, linkedAt: account.createdAt, ready: account.devices.includes(1) },
      ...(account.linked ?? []).map(({ device, name, linkedAt, ready }) => ({ device, name, linkedAt, ready })),
    ],
  };
}

/**
 * `device.remove`: device 1 removes any linked device, any linked device itself. The device leaves the
 * account item first, so its connects and routes are refused from then on; then its live connections are
 * told `device.removed` and closed (the caller's own stays open so this answer reaches it) and its queue,
 * prekeys, push subscription and pending link are deleted: its messages are never delivered anywhere else. A send or publish
 * that raced this takes back what it wrote (core/delivery.ts, core/prekeys.ts). A retry finishes a run cut short.
 * @throws Refusal FORBIDDEN for device 1, or for another device when the caller is not device 1.
 */
export async function removeDevice(ports: Ports, caller: Caller, frame: DeviceRemoveFrame): Promise<Results['device.remove']> {
  requirePhaseAllows(ports, 'device.remove');
  const account = await requireAccount(ports, caller);
  if (frame.device === 1) throw new Refusal('FORBIDDEN', 'device 1 holds the account key: delete the account instead');
  if (caller.device !== 1 && frame.device !== caller.device) throw new Refusal('FORBIDDEN', 'only device 1 removes other devices');
  const entry = account.linked?.find((d) => d.device === frame.device);
  const removed = await ports.devices.remove(caller.userId, frame.device);

  const owner = { userId: caller.userId, device: frame.device };
  // nowMs 0: records past their TTL too, as they still name the device.
  const connections = (await ports.connections.ofUser(caller.userId, 0)).filter((c) => c.device === frame.device);
  const told: DeviceRemovedPush = { type: 'device.removed', device: frame.device };
  await Promise.all(
    connections.map(async ({ connectionId }) => {
      if (connectionId !== caller.connectionId) {
        // Said before the close: a browser cannot read why its next upgrade is refused, and would retry.
        await ports.notifier.push(connectionId, JSON.stringify(told));
        await ports.notifier.disconnect(connectionId);
      }
      await ports.connections.remove(caller.userId, connectionId);
    }),
  );
  const [queued, prekeys, push] = await Promise.all([
    ports.queue.removeAll(owner),
    ports.prekeys.removeAll(owner),
    ports.pushTokens.remove(owner),
    entry ? removeLinkOf(ports, entry) : undefined,
  ]);
  ports.logger.info('device removed', {
    userId: caller.userId,
    device: frame.device,
    removed,
    connections: connections.length,
    queued,
    prekeys,
    push,
  });
  return { removed };
}

/** Deletes the link item left for `device`, if it is still there: the device can no longer join with it. */
export async function removeLinkOf(ports: Pick<Ports, 'links'>, device: LinkedDevice): Promise<void> {
  const key = decodeOrUndefined(device.signingKey);
  if (key) await ports.links.remove(userIdOf(key));
}
