import { SIGNED_PREKEY_CONTEXT, signedKeyMessage } from '../../protocol/connect';
import type { DeviceBundle, KeysBundleFrame, KeysLowPush, KeysPublishFrame, Results } from '../../protocol/frames';
import { deviceSigningKey, isAccountDevice, linkedDevice } from './account-devices';
import { requireAccount } from './accounts';
import { requirePhaseAllows } from './phase';
import { requireRateToken, takeRateToken } from './rate-limits';
import type { Caller, DeviceAddress, Ports } from './ports';
import { Refusal } from './refusal';
import { decodeOrUndefined, verifyEd25519 } from './signatures';

/**
 * `keys.publish`: the device's signed prekey and one-time prekeys. At most `maxOneTimePrekeysPerDevice`
 * one-time prekeys are stored per device (the frame schema caps one frame at `Limits.maxPrekeysPerPublish`).
 * @throws Refusal FORBIDDEN for a signed prekey the account did not sign, or when the device was removed while
 *   this ran (what it wrote is taken back), CONFLICT when the one-time prekeys
 *   would pass the cap (none of them is stored), RATE_LIMITED past `keysPublishPerMinute`.
 */
export async function publishPrekeys(ports: Ports, caller: Caller, frame: KeysPublishFrame): Promise<Results['keys.publish']> {
  requirePhaseAllows(ports, 'keys.publish');
  const account = await requireAccount(ports, caller);
  await requireRateToken(ports, 'keysPublish', caller.userId);
  const owner: DeviceAddress = { userId: caller.userId, device: caller.device };
  if (frame.signedPrekey) {
    const { publicKey, signature } = frame.signedPrekey;
    // Each device signs its own: device 1 with the account key, a linked device with its certified key.
    const valid = verifyEd25519(
      decodeOrUndefined(deviceSigningKey(account, caller.device)!)!,
      signedKeyMessage(SIGNED_PREKEY_CONTEXT, decodeOrUndefined(publicKey)!),
      decodeOrUndefined(signature)!,
    );
    if (!valid) throw new Refusal('FORBIDDEN', "signedPrekey.signature does not verify with this device's signing key");
  }
  const oneTime = frame.oneTimePrekeys ?? [];
  const cap = ports.config.maxOneTimePrekeysPerDevice;
  if (oneTime.length > 0 && (await ports.prekeys.countOneTime(owner, cap + 1)) + oneTime.length > cap) {
    throw new Refusal('CONFLICT', `at most ${cap} one-time prekeys are stored per device`);
  }
  if (frame.signedPrekey) {
    await ports.prekeys.putSignedPrekey(owner, frame.signedPrekey);
    // A linked device's first signed prekey makes it one that messages fan out to (ARCH §4.6).
    if (!account.devices.includes(caller.device)) await ports.devices.activate(caller.userId, caller.device);
  }
  if (oneTime.length > 0) {
    await ports.prekeys.putOneTimePrekeys(owner, oneTime);
    // Concurrent publishes may each have seen room: one that finds the cap passed takes its keys back.
    if ((await ports.prekeys.countOneTime(owner, cap + 1)) > cap) {
      await ports.prekeys.removeOneTime(
        owner,
        oneTime.map((key) => key.keyId),
      );
      throw new Refusal('CONFLICT', `at most ${cap} one-time prekeys are stored per device`);
    }
  }
  await requireStillListed(ports, caller, owner);
  return countPrekeys(ports, owner);
}

/**
 * A removal (or account deletion) that changed the account after this publish read it deletes the device's
 * prekeys after changing it, and may have done so before these writes: read again, and if the device is gone,
 * take what was written back. Either the removal's delete follows the writes or this read sees the removal
 * (ARCH §4.6). One read, off the message path.
 * @throws Refusal FORBIDDEN when the device is no longer the account's.
 */
async function requireStillListed(ports: Ports, caller: Caller, owner: DeviceAddress): Promise<void> {
  const account = await ports.accounts.get(caller.userId);
  if (account && isAccountDevice(account, caller)) return;
  await ports.prekeys.removeAll(owner);
  throw new Refusal('FORBIDDEN', 'this device was removed from the account');
}

export async function countOwnPrekeys(ports: Ports, caller: Caller): Promise<Results['keys.count']> {
  requirePhaseAllows(ports, 'keys.count');
  await requireAccount(ports, caller);
  return countPrekeys(ports, { userId: caller.userId, device: caller.device });
}

async function countPrekeys(ports: Ports, owner: DeviceAddress): Promise<Results['keys.count']> {
  const [oneTimePrekeys, signed] = await Promise.all([ports.prekeys.countOneTime(owner), ports.prekeys.signedPrekey(owner)]);
  return { oneTimePrekeys, signedPrekeyId: signed?.keyId ?? null };
}

/**
 * X3DH bundle of a user's devices; each one-time prekey is handed out exactly once. Three limits keep one
 * requester from draining them: bundles asked by the caller (`bundlePerMinute`), bundles asked of one user by
 * one other (`bundlePerPairPerHour`, refused), and bundles handed out of the target by anyone (past which the
 * bundle comes without one-time prekeys). A device left low is told so (`keys.low`) to refill.
 * @throws Refusal RATE_LIMITED past the caller's or the pair's limit, NOT_FOUND for no such user or device.
 */
export async function prekeyBundle(ports: Ports, caller: Caller, frame: KeysBundleFrame): Promise<Results['keys.bundle']> {
  requirePhaseAllows(ports, 'keys.bundle');
  // The account first: a suspended or unregistered caller is told so, not told to retry later.
  await requireAccount(ports, caller);
  await requireRateToken(ports, 'bundle', caller.userId);
  // Own devices are not drained by asking for one's own bundle.
  // Per requesting device: each device of an account sets up its own sessions, so they do not share one budget
  // (at most maxDevicesPerAccount times the pair's limit per account).
  if (frame.user !== caller.userId) await requireRateToken(ports, 'bundlePair', `${caller.userId}#${caller.device}>${frame.user}`);
  const target = await ports.accounts.get(frame.user);
  if (!target) throw new Refusal('NOT_FOUND', 'no such user');
  // Only ready devices, each with the key it signs with: senders check a linked one's cert (ARCH §4.6).
  const listed = target.devices.filter((d) => d === 1 || linkedDevice(target, d) !== undefined);
  const devices = frame.device === undefined ? listed : listed.filter((d) => d === frame.device);
  if (devices.length === 0) throw new Refusal('NOT_FOUND', 'no such device');
  // Many accounts asking for one user's bundle could drain its one-time prekeys. Past the per-target rate the
  // bundle still comes, without a one-time prekey: the session is then set up as X3DH allows when none are left.
  const handOutOneTime = (await takeRateToken(ports, 'bundleTarget', target.userId)).allowed;
  const bundles = await Promise.all(
    devices.map(async (device): Promise<DeviceBundle> => {
      const owner = { userId: target.userId, device };
      const [signedPrekey, oneTimePrekey] = await Promise.all([
        ports.prekeys.signedPrekey(owner),
        handOutOneTime ? ports.prekeys.takeOneTime(owner) : undefined,
      ]);
      const linked = device === 1 ? undefined : linkedDevice(target, device);
      return {
        device,
        signingKey: linked?.signingKey ?? target.signingKey,
        cert: linked?.cert ?? null,
        signedPrekey: signedPrekey ?? null,
        oneTimePrekey: oneTimePrekey ?? null,
      };
    }),
  );
  const drawn = bundles.filter((b) => b.oneTimePrekey !== null).map((b) => b.device);
  if (drawn.length > 0) await warnIfLow(ports, target.userId, drawn);
  return {
    user: target.userId,
    signingKey: target.signingKey,
    identityKey: target.identityKey,
    identitySig: target.identitySig,
    devices: bundles,
  };
}

/**
 * Pushes `keys.low` to the live connections of each device that just gave out a one-time prekey and has
 * fewer than `prekeyLowWater` left. The cost on every such bundle is one count bounded by the low-water
 * mark (a Query with that `Limit`, reading at most that many small items); only a low device adds the
 * connections Query and the pushes. Best effort: the bundle is answered whatever happens here, and a device
 * offline now tops up on its next connect anyway.
 */
async function warnIfLow(ports: Ports, userId: string, devices: readonly number[]): Promise<void> {
  const lowWater = ports.config.prekeyLowWater;
  try {
    const counts = await Promise.all(devices.map((device) => ports.prekeys.countOneTime({ userId, device }, lowWater)));
    const low = devices.map((device, i) => ({ device, remaining: counts[i]! })).filter(({ remaining }) => remaining < lowWater);
    if (low.length === 0) return;
    const connections = await ports.connections.ofUser(userId, ports.clock.now());
    await Promise.all(
      low.flatMap(({ device, remaining }) => {
        const frame: KeysLowPush = { type: 'keys.low', device, remaining };
        return connections.filter((c) => c.device === device).map((c) => ports.notifier.push(c.connectionId, JSON.stringify(frame)));
      }),
    );
  } catch (error) {
    ports.logger.warn('keys.low not pushed', { userId, error: (error as Error)?.name ?? 'unknown' });
  }
}
