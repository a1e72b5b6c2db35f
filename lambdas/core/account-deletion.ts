import type { Results } from '../../protocol/frames';
import { requirePhaseAllows } from './phase';
import { isAccountDevice } from './account-devices';
import { removeLinkOf } from './devices';
import type { AccountRecord, Caller, Ports } from './ports';
import { Refusal } from './refusal';
import { foldUsername, parseClaimEntry } from './usernames';

/**
 * Deletes the caller's account and everything stored under it, on every device (ARCH §4.6). Other connections
 * are closed first, so other devices stop acting; then prekeys, queues (messages and send markers), links
 * waiting for devices being linked and username claims go; then the account item, so a run cut short finds it
 * and a retry finishes the job; then push subscriptions (which a retry deletes too, finding no account, and
 * which a registration racing this one takes back itself, ARCH §6.13). Connections are swept
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
    await ports.pushTokens.removeAll(caller.userId);
    await closeConnections(ports, caller);
    return { deleted: true };
  }
  if (!isAccountDevice(account, caller)) throw new Refusal('FORBIDDEN', 'this device is not registered to the account');
  // A suspended user may not delete: the record of the suspension would go with the account.
  if (account.suspended) throw new Refusal('ACCOUNT_SUSPENDED', 'this account is suspended');
  // A linked device may remove itself (device.remove), not the account that device 1 holds the key of.
  if (caller.device !== 1)
    throw new Refusal('FORBIDDEN', 'only device 1, which holds the account key, deletes the account: remove this device instead');

  const closed = await closeConnections(ports, caller);
  const first = await removeDeviceData(ports, account);
  // Marked first: no username is noted or committed from now on, and the account read after the mark lists
  // every claim noted before it (core/usernames.ts says why that leaves no name to the deleted account).
  const marked = (await ports.usernames.closeAccount(caller.userId, ports.clock.now())) ?? account;
  // No device is linked after the mark (Devices.add refuses it): one linked since the first read goes now.
  const late = await removeDeviceData(ports, marked, new Set(everyDevice(account)));
  const [prekeys, queued] = [first[0] + late[0], first[1] + late[1]];
  const entries = [...(marked.usernameClaims ?? []), ...(marked.usernameReleasing ?? [])];
  const names = new Set([
    ...entries.map((entry) => parseClaimEntry(entry).name),
    ...(marked.username === undefined ? [] : [foldUsername(marked.username)]),
  ]);
  await Promise.all([...names].map((name) => ports.usernames.release(name, caller.userId)));
  await ports.accounts.remove(caller.userId);
  // After the account item: `push.register` reads the account again after its put and takes its subscription
  // back when the account is gone, so a registration racing this one is deleted by one side or the other.
  const push = await ports.pushTokens.removeAll(caller.userId);
  const reconnected = await closeConnections(ports, caller);

  ports.logger.info('account deleted', {
    userId: caller.userId,
    connections: closed + reconnected,
    prekeys,
    queued,
    usernames: names.size,
    push,
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

/** Device 1 and every linked device, ready or not: each may have prekeys, a queue and a link waiting. */
function everyDevice(account: AccountRecord): number[] {
  return [...new Set([...account.devices, ...(account.linked ?? []).map((d) => d.device)])];
}

/** Deletes the prekeys, queue and pending link of each device of `account` not in `done`; returns [prekeys, messages]. */
async function removeDeviceData(ports: Ports, account: AccountRecord, done: ReadonlySet<number> = new Set()): Promise<[number, number]> {
  const owners = everyDevice(account)
    .filter((device) => !done.has(device))
    .map((device) => ({ userId: account.userId, device }));
  const [prekeys, queued] = await Promise.all([
    Promise.all(owners.map((owner) => ports.prekeys.removeAll(owner))),
    Promise.all(owners.map((recipient) => ports.queue.removeAll(recipient))),
    Promise.all((account.linked ?? []).filter((d) => !done.has(d.device)).map((d) => removeLinkOf(ports, d))),
  ]);
  return [sum(prekeys), sum(queued)];
}
