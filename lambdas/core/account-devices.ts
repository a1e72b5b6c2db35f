import type { AccountRecord, Caller, LinkedDevice } from './ports';

/** Which devices an account has, as every route and the authorizer read it from the one account item (ARCH §4.6). */

/**
 * Whether `caller` is a device of `account` (ARCH §4.6): device 1 once registered, or a device linked to it
 * (ready or still waiting for its first signed prekey) with the signing key it connected with. A removed
 * device has no entry, so the connections it still holds are refused on every route.
 */
export function isAccountDevice(account: AccountRecord, caller: Pick<Caller, 'device' | 'signingKey'>): boolean {
  if (caller.device === 1) return account.devices.includes(1);
  return linkedDevice(account, caller.device)?.signingKey === caller.signingKey;
}

export function linkedDevice(account: AccountRecord, device: number): LinkedDevice | undefined {
  return account.linked?.find((d) => d.device === device);
}

/** The key `device` of `account` signs with: the account signing key for device 1, its own for a linked one. */
export function deviceSigningKey(account: AccountRecord, device: number): string | undefined {
  return device === 1 ? account.signingKey : linkedDevice(account, device)?.signingKey;
}
