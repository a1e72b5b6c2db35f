import { SIGNED_PREKEY_CONTEXT, signedKeyMessage } from '../../protocol/connect';
import type { DeviceBundle, KeysBundleFrame, KeysPublishFrame, Results } from '../../protocol/frames';
import { requireAccount } from './accounts';
import { requirePhaseAllows } from './phase';
import { requireRateToken, takeRateToken } from './rate-limits';
import type { Caller, DeviceAddress, Ports } from './ports';
import { Refusal } from './refusal';
import { decodeOrUndefined, verifyEd25519 } from './signatures';

export async function publishPrekeys(ports: Ports, caller: Caller, frame: KeysPublishFrame): Promise<Results['keys.publish']> {
  requirePhaseAllows(ports, 'keys.publish');
  const account = await requireAccount(ports, caller);
  const owner: DeviceAddress = { userId: caller.userId, device: caller.device };
  if (frame.signedPrekey) {
    const { publicKey, signature } = frame.signedPrekey;
    const valid = verifyEd25519(
      decodeOrUndefined(account.signingKey)!,
      signedKeyMessage(SIGNED_PREKEY_CONTEXT, decodeOrUndefined(publicKey)!),
      decodeOrUndefined(signature)!,
    );
    if (!valid) throw new Refusal('FORBIDDEN', 'signedPrekey.signature does not verify with the account signing key');
    await ports.prekeys.putSignedPrekey(owner, frame.signedPrekey);
  }
  if (frame.oneTimePrekeys && frame.oneTimePrekeys.length > 0) {
    await ports.prekeys.putOneTimePrekeys(owner, frame.oneTimePrekeys);
  }
  return countPrekeys(ports, owner);
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

/** X3DH bundle of a user's devices; each one-time prekey is handed out exactly once. */
export async function prekeyBundle(ports: Ports, caller: Caller, frame: KeysBundleFrame): Promise<Results['keys.bundle']> {
  requirePhaseAllows(ports, 'keys.bundle');
  // The account first: a suspended or unregistered caller is told so, not told to retry later.
  await requireAccount(ports, caller);
  await requireRateToken(ports, 'bundle', caller.userId);
  const target = await ports.accounts.get(frame.user);
  if (!target) throw new Refusal('NOT_FOUND', 'no such user');
  const devices = frame.device === undefined ? target.devices : target.devices.filter((d) => d === frame.device);
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
      return { device, signedPrekey: signedPrekey ?? null, oneTimePrekey: oneTimePrekey ?? null };
    }),
  );
  return {
    user: target.userId,
    signingKey: target.signingKey,
    identityKey: target.identityKey,
    identitySig: target.identitySig,
    devices: bundles,
  };
}
