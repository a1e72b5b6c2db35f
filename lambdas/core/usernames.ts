import type { Results, UsernameLookupFrame, UsernameSetFrame } from '../../protocol/frames';
import { requireAccount } from './accounts';
import { requirePhaseAllows } from './phase';
import type { Caller, Ports } from './ports';
import { Refusal } from './refusal';

/** Names no user may hold, case-folded: they would pass for the operator speaking. */
const RESERVED: ReadonlySet<string> = new Set([
  'admin',
  'administrator',
  'root',
  'support',
  'security',
  'ebb',
  'system',
  'moderator',
  'help',
  'official',
  'staff',
]);

/** The key a name is unique under: "Alice_1" and "alice_1" are one name. The schema allows ASCII only. */
export function foldUsername(username: string): string {
  return username.toLowerCase();
}

/**
 * Sets the caller's username, releasing the one they had. No transactions (dynalite has none), so the
 * steps are ordered for crashes: the account notes the claim before it is made, the claim is a conditional
 * write (one holder per name, always), the account then shows the name, and only then are the old claims
 * released and forgotten. A crash midway leaves at worst a claim of the caller's own, which setting any
 * name again releases and which deleting the account finds in `usernameClaims`.
 */
export async function setUsername(ports: Ports, caller: Caller, frame: UsernameSetFrame): Promise<Results['username.set']> {
  requirePhaseAllows(ports, 'username.set');
  const account = await requireAccount(ports, caller);
  const name = foldUsername(frame.username);
  if (RESERVED.has(name)) throw new Refusal('FORBIDDEN', 'this username is reserved');

  if (!(await ports.accounts.noteUsernameClaim(caller.userId, name))) throw new Refusal('FORBIDDEN', 'this identity is not registered: register first');
  if (!(await ports.usernames.claim(name, caller.userId))) {
    await ports.accounts.forgetUsernameClaims(caller.userId, [name]);
    throw new Refusal('CONFLICT', 'this username is taken');
  }
  if (!(await ports.accounts.setUsername(caller.userId, frame.username))) throw new Refusal('FORBIDDEN', 'this identity is not registered: register first');

  const earlier = new Set([...(account.usernameClaims ?? []), ...(account.username === undefined ? [] : [foldUsername(account.username)])]);
  earlier.delete(name);
  if (earlier.size > 0) {
    await Promise.all([...earlier].map((old) => ports.usernames.release(old, caller.userId)));
    await ports.accounts.forgetUsernameClaims(caller.userId, [...earlier]);
  }
  ports.logger.info('username set', { userId: caller.userId, released: earlier.size });
  return { username: frame.username };
}

/** Who holds a name, in any case; null when no one does (reserved names included). */
export async function lookupUsername(ports: Ports, caller: Caller, frame: UsernameLookupFrame): Promise<Results['username.lookup']> {
  requirePhaseAllows(ports, 'username.lookup');
  await requireAccount(ports, caller);
  return { userId: (await ports.usernames.holder(foldUsername(frame.username))) ?? null };
}
