import type { Results } from '../../protocol/frames';
import { requirePhaseAllows } from './phase';
import type { Caller, Ports } from './ports';
import { Refusal } from './refusal';
import { foldUsername, parseClaimEntry } from './usernames';

/**
 * Deletes the caller's account and everything stored under it. Other connections are closed first, so
 * other devices stop acting; then prekeys, queues (messages and send markers) and username claims go; the
 * account item goes last, so a run cut short finds it and a retry finishes the job. Connections are swept
 * once more after it: a device that reconnected meanwhile is closed, and from now on the authorizer refuses
 * a connect without `pk`. Registering the same keys again makes a new, empty account.
 *
 * The caller's own socket stays open, so this answer reaches it (its record is deleted; the SDK closes it).
 * Not touched, as nothing on this path may scan: send markers the user left in other users' queues (ids
 * only, gone with retention), messages the user sent that still wait for their recipients (theirs now),
 * and connect nonces (expire within minutes).
 */
export async function deleteAccount(ports: Ports, caller: Caller): Promise<Results['account.delete']> {
  requirePhaseAllows(ports, 'account.delete');
  const account = await ports.accounts.get(caller.userId);
  if (!account) {
    // Deleted already, perhaps by a run that stopped before its last sweep.
    await closeConnections(ports, caller);
    return { deleted: true };
  }
  if (!account.devices.includes(caller.device)) throw new Refusal('FORBIDDEN', 'this device is not registered to the account');
  // A suspended user may not delete: the record of the suspension would go with the account.
  if (account.suspended) throw new Refusal('ACCOUNT_SUSPENDED', 'this account is suspended');

  const closed = await closeConnections(ports, caller);
  const devices = account.devices.map((device) => ({ userId: caller.userId, device }));
  const [prekeys, queued] = await Promise.all([
    Promise.all(devices.map((owner) => ports.prekeys.removeAll(owner))),
    Promise.all(devices.map((recipient) => ports.queue.removeAll(recipient))),
  ]);
  // Marked first: no username is noted or committed from now on, and the account read after the mark lists
  // every claim noted before it (core/usernames.ts says why that leaves no name to the deleted account).
  const marked = (await ports.usernames.closeAccount(caller.userId, ports.clock.now())) ?? account;
  const entries = [...(marked.usernameClaims ?? []), ...(marked.usernameReleasing ?? [])];
  const names = new Set([
    ...entries.map((entry) => parseClaimEntry(entry).name),
    ...(marked.username === undefined ? [] : [foldUsername(marked.username)]),
  ]);
  await Promise.all([...names].map((name) => ports.usernames.release(name, caller.userId)));
  await ports.accounts.remove(caller.userId);
  const reconnected = await closeConnections(ports, caller);

  ports.logger.info('account deleted', {
    userId: caller.userId,
    connections: closed + reconnected,
    prekeys: sum(prekeys),
    queued: sum(queued),
    usernames: names.size,
  });
  return { deleted: true };
}

/** Closes the user's connections but the caller's and deletes every record of them; returns how many. */
async function closeConnections(ports: Ports, caller: Caller): Promise<number> {
  // nowMs 0: records past their TTL too, as they still name the user.
  const connections = await ports.connections.ofUser(caller.userId, 0);
  await Promise.all(
    connections.map(async ({ connectionId }) => {
      if (connectionId !== caller.connectionId) await ports.notifier.disconnect(connectionId);
      await ports.connections.remove(caller.userId, connectionId);
    }),
  );
  return connections.length;
}

const sum = (counts: readonly number[]): number => counts.reduce((a, b) => a + b, 0);
