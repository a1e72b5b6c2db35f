import { toBase64Url } from '../../../protocol/base64url';
import type { ServiceStatus } from '../../../protocol/frames';
import { EbbError } from '../errors';
import type { Identity } from '../identity/identity';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';
import type { Request } from '../transport/connection';
import type { OwnDevices } from './devices';
import type { Inbox } from './inbox';
import { type PrekeyPolicy, replenishPrekeys } from './prekeys';
import { isRolledBack, recoverFromRollback } from './rollback';
import type { Sessions } from './sessions';

export interface HandshakeOptions {
  readonly identity: Identity;
  /** The deployment's URL, recorded as the one that holds the registration. */
  readonly url: string;
  readonly device: number;
  readonly store: KeyStore;
  readonly inbox: Inbox;
  readonly sessions: Sessions;
  readonly ownDevices: OwnDevices;
  readonly now: () => number;
  readonly prekeyPolicy: PrekeyPolicy;
  readonly onStatus: (status: ServiceStatus) => void;
  /** From now on the connect URL leaves out `pk`. */
  readonly onRegistered: () => void;
}

/**
 * What runs on every new socket before the client reports itself ready (ARCH §4, §6.1): hello,
 * register if the server does not know us (or holds another identity key of ours; device 1 only), stop
 * sending on the sessions of a store the server shows to be an older copy (session/rollback.ts), rotate the
 * signed prekey and top up one-time prekeys, list the account's devices when it has others, then drain the queue.
 */
export async function handshake(request: Request, options: HandshakeOptions): Promise<void> {
  const { identity, device, store, inbox } = options;
  const hello = await request('hello', {});
  if (hello.userId !== identity.userId || hello.device !== device) {
    throw new EbbError('INTERNAL', 'the server answered for another account', { retryable: false });
  }
  options.onStatus(hello.status);
  // Registering again with our identity key rotates the server's copy when it differs (same signing key).
  // A linked device never registers: it holds no account key, and the service knows it from device 1.
  if (device === 1 && (!hello.registered || hello.identityKey !== toBase64Url(identity.identityPublicKey))) {
    await request('register', { identityKey: toBase64Url(identity.identityPublicKey), identitySig: toBase64Url(identity.identitySig) });
  }
  if ((await store.get(StoreKeys.registered)) !== options.url) await store.set(StoreKeys.registered, options.url);
  options.onRegistered();

  try {
    const count = await request('keys.count', {});
    // Before anything is sent or published from a store the server shows to be an older copy.
    if (await isRolledBack(store, count)) await recoverFromRollback(store, options.sessions, count);
    await replenishPrekeys(request, store, identity, options.now(), options.prekeyPolicy, { counted: count });
    // Where sent copies go. An account that never had another device (device 1, none listed) skips the round trip.
    if (device !== 1 || (await options.ownDevices.list()).length > 0) await options.ownDevices.learn(await request('devices.list', {}));
  } catch (err) {
    // A read-only service still delivers what is queued: prekeys can wait, the drain cannot.
    if (!EbbError.is(err, 'SERVICE_READ_ONLY')) throw err;
  }

  await inbox.prune();
  await inbox.drain((after) => request('fetch', after === undefined ? {} : { after }));
}
