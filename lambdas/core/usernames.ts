import { randomBytes } from 'node:crypto';
import type { Results, UsernameLookupFrame, UsernameSetFrame } from '../../protocol/frames';
import { requireAccount } from './accounts';
import { requirePhaseAllows } from './phase';
import type { Caller, Ports } from './ports';
import { requireRateToken } from './rate-limits';
import { Refusal } from './refusal';
import { isReservedUsername } from './username-skeleton';

/** The key a name is unique under: "Alice_1" and "alice_1" are one name. The schema allows ASCII only. */
export function foldUsername(username: string): string {
  return username.toLowerCase();
}

/** One attempt's claim on a name; `token` is null for a claim made before claims had tokens. */
interface Claim {
  readonly name: string;
  readonly token: string | null;
}

/** How a claim is noted on the account: `name/token`, or the bare name of a claim from before tokens. */
export function claimEntry(claim: Claim): string {
  return claim.token === null ? claim.name : `${claim.name}/${claim.token}`;
}

export function parseClaimEntry(entry: string): Claim {
  const slash = entry.indexOf('/');
  return slash < 0 ? { name: entry, token: null } : { name: entry.slice(0, slash), token: entry.slice(slash + 1) };
}

/**
 * Sets the caller's username. There are no transactions (dynalite has none), so concurrent sets of one
 * account and its deletion are made safe by the order of conditional writes, not by locking:
 *
 * 1. note: the attempt's claim entry (`name/token`, a fresh token per attempt) is added to the account's
 *    `usernameClaims`, unless the account is being deleted.
 * 2. claim: the usernames item is written unless anyone holds the name (this attempt's token in it).
 * 3. commit: the account's `username` and `usernameToken` become this attempt's, on condition that the
 *    entry is still noted and the account is not being deleted. A lost commit releases its own claim
 *    (by token, so never a claim another attempt made) and answers CONFLICT.
 * 4. clean up (any committed attempt): read the account; if the username is still this attempt's, move
 *    every other noted entry to `usernameReleasing` on condition that it still is, release those claims
 *    by token, then forget them.
 *
 * Why that holds under any interleaving, ending with exactly one claim held, the account's:
 * - A claim exists only after its entry was noted, and an entry leaves `usernameClaims` only through a
 *   clean-up (which then releases the claim) or its own attempt (which then releases it too).
 * - Commit and retire are conditional writes on one item, so they are ordered. If a clean-up retires an
 *   entry first, that attempt's commit fails and it releases its claim, even one made after the clean-up's
 *   release. If the commit comes first, the clean-up's condition (the username is still its own) fails and
 *   it stops; the later committer cleans up instead and reads every entry noted before its commit.
 * - The last commit's clean-up reads after that commit: every attempt noted by then is retired and released,
 *   and every attempt noted later fails its commit (it is not the last) only by being retired, so releases
 *   its own claim. The committed claim is never released: releases are by token, and retiring it would need
 *   another attempt's token to be the committed one.
 *
 * Deletion (core/account-deletion.ts) first marks the account (a conditional update) and reads it back
 * strongly consistent, then releases every noted, retiring and committed name of the user, then removes the
 * item. An attempt noted before the mark is in what deletion reads after it, so deletion releases its name; if its
 * claim lands after that release, its commit comes after the mark, fails, and it releases the claim itself.
 * An attempt that notes after the mark is refused before it claims anything. A crash between steps leaves
 * at worst a noted entry or one in `usernameReleasing`, which the next change's clean-up or the deletion
 * releases.
 * @throws Refusal FORBIDDEN (reserved name, or no account), CONFLICT (taken, or a concurrent change of this
 *   account's name came first), RATE_LIMITED.
 */
export async function setUsername(ports: Ports, caller: Caller, frame: UsernameSetFrame): Promise<Results['username.set']> {
  requirePhaseAllows(ports, 'username.set');
  const account = await requireAccount(ports, caller);
  await requireRateToken(ports, 'usernameSet', caller.userId);
  const name = foldUsername(frame.username);
  if (isReservedUsername(name)) throw new Refusal('FORBIDDEN', 'this username is reserved');

  const token = randomBytes(16).toString('base64url');
  const mine: Claim = { name, token };
  // A name committed before claims had tokens is noted too, so the clean-up releases it.
  const legacy =
    account.username !== undefined && account.usernameToken === undefined ? [claimEntry({ name: foldUsername(account.username), token: null })] : [];
  if (!(await ports.usernames.noteClaims(caller.userId, [claimEntry(mine), ...legacy]))) {
    throw new Refusal('FORBIDDEN', 'this identity is not registered: register first');
  }
  if (!(await ports.usernames.claim(name, caller.userId, token))) {
    await ports.usernames.forgetClaims(caller.userId, [claimEntry(mine)]);
    const held = await ports.usernames.claimOf(name);
    if (held?.userId !== caller.userId) throw new Refusal('CONFLICT', 'this username is taken');
    // The caller's own name, perhaps spelled differently now: commit the spelling under the claim that holds it.
    return commit(ports, caller, frame.username, { name, token: held.token }, false);
  }
  return commit(ports, caller, frame.username, mine, true);
}

async function commit(ports: Ports, caller: Caller, username: string, claim: Claim, claimedNow: boolean): Promise<Results['username.set']> {
  if (!(await ports.usernames.commitName(caller.userId, username, claimEntry(claim), claim.token))) {
    if (claimedNow) await ports.usernames.release(claim.name, caller.userId, claim.token);
    throw new Refusal('CONFLICT', "another change of this account's username came first");
  }
  const released = claim.token === null ? 0 : await releaseOtherClaims(ports, caller.userId, claim.token);
  ports.logger.info('username set', { userId: caller.userId, released });
  return { username };
}

/** Step 4: releases the claims noted beside the committed one, while it stays committed; returns how many. */
async function releaseOtherClaims(ports: Ports, userId: string, committed: string): Promise<number> {
  const account = await ports.accounts.get(userId);
  if (!account || account.usernameToken !== committed) return 0;
  const others = (account.usernameClaims ?? []).filter((entry) => parseClaimEntry(entry).token !== committed);
  if (others.length > 0 && !(await ports.usernames.retireClaims(userId, others, committed))) return 0;
  const releasing = [...new Set([...others, ...(account.usernameReleasing ?? [])])];
  if (releasing.length === 0) return 0;
  await Promise.all(releasing.map(parseClaimEntry).map(({ name, token }) => ports.usernames.release(name, userId, token)));
  await ports.usernames.forgetClaims(userId, releasing);
  return releasing.length;
}

/**
 * Who holds a name, in any case; null when no one does (reserved names included).
 * @throws Refusal RATE_LIMITED past `usernameLookupPerMinute`: names are not for enumerating.
 */
export async function lookupUsername(ports: Ports, caller: Caller, frame: UsernameLookupFrame): Promise<Results['username.lookup']> {
  requirePhaseAllows(ports, 'username.lookup');
  await requireAccount(ports, caller);
  await requireRateToken(ports, 'usernameLookup', caller.userId);
  return { userId: (await ports.usernames.holder(foldUsername(frame.username))) ?? null };
}
