import nacl from 'tweetnacl';
import { EbbError } from '../../client-sdk/src/errors';
import type { GroupSigner } from '../../client-sdk/src/groups/state';
import { userIdFromSigningKey } from '../../client-sdk/src/identity/keys';

/** An account's device 1 (a fresh account unless `account` is given), as the group functions take it: it signs with the account key itself. */
export function groupSigner(account: nacl.SignKeyPair = nacl.sign.keyPair()): GroupSigner {
  return {
    userId: userIdFromSigningKey(account.publicKey),
    device: 1,
    signingPublicKey: account.publicKey,
    deviceSigningPublicKey: account.publicKey,
    deviceSigningSecretKey: account.secretKey,
    cert: null,
  };
}

/** That `f` throws an EbbError with `code` (and `reason`, when given). */
export function expectEbb(f: () => unknown, code: string, reason?: string): void {
  let caught: unknown;
  try {
    f();
  } catch (err) {
    caught = err;
  }
  expect(EbbError.is(caught)).toBe(true);
  expect((caught as EbbError).code).toBe(code);
  if (reason !== undefined) expect((caught as EbbError).reason).toBe(reason);
}
