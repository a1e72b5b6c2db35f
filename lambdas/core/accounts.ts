import { IDENTITY_CONTEXT, signedKeyMessage } from '../../protocol/connect';
import type { RegisterFrame, Results } from '../../protocol/frames';
import { requirePhaseAllows, serviceStatus } from './phase';
import { requireRateToken } from './rate-limits';
import { isAccountDevice } from './account-devices';
import type { AccountRecord, Caller, Ports } from './ports';
import { Refusal } from './refusal';
import { decodeOrUndefined, isSmallOrderKey, userIdOf, verifyEd25519 } from './signatures';

/**
 * The caller's account, or FORBIDDEN: unregistered identities may only hello, register and status.
 * @throws Refusal ACCOUNT_SUSPENDED (not retryable) for a suspended account.
 */
export async function requireAccount(ports: Pick<Ports, 'accounts'>, caller: Caller): Promise<AccountRecord> {
  return callerAccount(await ports.accounts.get(caller.userId), caller);
}

/** `account` as read for `caller`, checked as `requireAccount` checks it. */
export function callerAccount(account: AccountRecord | undefined, caller: Caller): AccountRecord {
  if (!account || !isAccountDevice(account, caller)) {
    throw new Refusal('FORBIDDEN', 'this identity is not registered: register first');
  }
  refuseIfSuspended(account);
  return account;
}

/** Only `status` answers a suspended account; the operator's reason stays with the operator. */
export function refuseIfSuspended(account: AccountRecord | undefined): void {
  if (account?.suspended) throw new Refusal('ACCOUNT_SUSPENDED', 'this account is suspended');
}

export async function hello(ports: Ports, caller: Caller): Promise<Results['hello']> {
  requirePhaseAllows(ports, 'hello');
  const account = await ports.accounts.get(caller.userId);
  refuseIfSuspended(account);
  return {
    userId: caller.userId,
    device: caller.device,
    registered: account !== undefined && isAccountDevice(account, caller),
    identityKey: account?.identityKey ?? null,
    status: serviceStatus(ports),
  };
}

export async function register(ports: Ports, caller: Caller, frame: RegisterFrame): Promise<Results['register']> {
  requirePhaseAllows(ports, 'register');
  // Per address, since new identities cost nothing; a caller without one is limited as itself.
  await requireRateToken(ports, 'register', caller.sourceIp ?? caller.userId);
  const signingKey = decodeOrUndefined(caller.signingKey);
  // The authorizer proved the signing key; re-derive so a misrouted context cannot register someone else.
  if (!signingKey || userIdOf(signingKey) !== caller.userId) throw new Refusal('UNAUTHORIZED', 'connection identity is not proven');
  // A small-order key verifies signatures nobody made, so it could never prove who holds the account.
  if (isSmallOrderKey(signingKey)) throw new Refusal('FORBIDDEN', 'this signing key is of small order: use a freshly generated key');
  const identityKey = decodeOrUndefined(frame.identityKey)!;
  const identitySig = decodeOrUndefined(frame.identitySig)!;
  if (!verifyEd25519(signingKey, signedKeyMessage(IDENTITY_CONTEXT, identityKey), identitySig)) {
    throw new Refusal('FORBIDDEN', 'identitySig does not verify with the signing key');
  }
  if (caller.device !== 1) throw new Refusal('FORBIDDEN', 'only device 1 registers an account');
  const { created, record } = await ports.accounts.create({
    userId: caller.userId,
    signingKey: caller.signingKey,
    identityKey: frame.identityKey,
    identitySig: frame.identitySig,
    devices: [caller.device],
    createdAt: ports.clock.now(),
  });
  refuseIfSuspended(record);
  let rotated = false;
  if (!created && record.identityKey !== frame.identityKey) {
    // The same signing key vouches for a new identity key (e.g. a reinstall that kept only the signing key).
    rotated = await ports.accounts.replaceIdentity(caller.userId, caller.signingKey, frame.identityKey, frame.identitySig);
    if (!rotated) throw new Refusal('CONFLICT', 'this user id is registered with another signing key');
  }
  ports.logger.info('register', { userId: caller.userId, device: caller.device, created, rotated });
  return { userId: caller.userId, device: caller.device, created, rotated };
}
