import * as v from 'valibot';
import { BASE64URL_PATTERN } from '../../protocol/base64url';
import { NONCE_BYTES, connectMessage } from '../../protocol/connect';
import { UserId } from '../../protocol/fields';
import { Limits } from '../../protocol/limits';
import { deviceSigningKey } from './account-devices';
import type { Caller, Ports } from './ports';
import { takeRateToken } from './rate-limits';
import { decodeOrUndefined, isSmallOrderKey, userIdOf, verifyEd25519 } from './signatures';

const b64 = (chars: number) => v.pipe(v.string(), v.length(chars), v.regex(BASE64URL_PATTERN));

/** The connect query string (ARCH §4.2). Decimal fields are strict: no signs, no leading zeros. */
const ConnectQuery = v.object({
  uid: UserId,
  dev: v.pipe(v.string(), v.regex(/^[1-9][0-9]?$/)),
  ts: v.pipe(v.string(), v.regex(/^[1-9][0-9]{0,15}$/)),
  nonce: b64(Math.ceil((NONCE_BYTES * 4) / 3)),
  // The one spelling toBase64Url writes: the last character's spare bits are zero (4 of them after 64 bytes, 2
  // after 32), so a signature or key has no second spelling that decodes to the same bytes and still verifies.
  sig: v.pipe(b64(86), v.regex(/[AQgw]$/)),
  pk: v.optional(v.pipe(b64(43), v.regex(/[AEIMQUYcgkosw048]$/))),
});

/** What the authorizer hands to every route of the connection (API Gateway allows only flat string values). */
export interface AuthorizerContext {
  readonly uid: string;
  readonly dev: string;
  readonly signingKey: string;
}

export type ConnectDecision = { allow: true; context: AuthorizerContext } | { allow: false; reason: string };

/** A `$connect` upgrade as the authorizer sees it. */
export interface ConnectRequest {
  readonly query: Record<string, string | undefined> | null | undefined;
  /** The `Host` header of the upgrade: the signature must cover it (ARCH §4.2). */
  readonly host: string | undefined;
  /** Where the upgrade came from; API Gateway always says. */
  readonly sourceIp?: string;
}

/** Longest `Host` accepted: a DNS name (253) and a port. */
const MAX_HOST_LENGTH = 260;

type Verified = { ok: true; context: AuthorizerContext; nonceKey: string; expiresAt: number } | { ok: false; reason: string };

/**
 * The `$connect` authorizer: a valid signature by the user's signing key over the query and the host dialled,
 * a timestamp within ±60 s of the server clock, and a nonce never seen before. Policy (phase, suspension) is
 * not decided here: routes answer it with typed errors so that the client learns why.
 *
 * Only a fresh connect whose signature verifies takes a token from its address's `connect` bucket, so junk
 * and forgeries from a shared address cannot lock out the honest users behind it. Failed attempts count
 * against their own per-address budget, `connectFailuresPerMinute` (see chargeFailure).
 */
export async function authorizeConnect(
  ports: Pick<Ports, 'accounts' | 'nonces' | 'rateLimiter' | 'clock' | 'config' | 'logger'>,
  request: ConnectRequest,
): Promise<ConnectDecision> {
  const verified = await verifyConnect(ports, request);
  // Claimed only after the signature verifies, so forged requests cannot burn a client's nonces.
  const fresh = verified.ok && (await ports.nonces.claim(verified.nonceKey, verified.expiresAt, ports.clock.now()));
  if (!verified.ok || !fresh) {
    // Bookkeeping only: a failure to count the attempt must not change its answer.
    await chargeFailure(ports, request.sourceIp).catch((error: unknown) =>
      ports.logger.error('counting a failed connect failed', { error: (error as Error)?.name ?? 'unknown' }),
    );
    return { allow: false, reason: verified.ok ? 'replayed nonce' : verified.reason };
  }
  if (request.sourceIp !== undefined && !(await takeRateToken(ports, 'connect', request.sourceIp)).allowed) {
    return { allow: false, reason: 'rate limited' };
  }
  return { allow: true, context: verified.context };
}

/** Every check but the nonce, cheapest first: malformed, skewed or mis-addressed upgrades cost no table read. */
async function verifyConnect(ports: Pick<Ports, 'accounts' | 'clock'>, request: ConnectRequest): Promise<Verified> {
  const parsed = v.safeParse(ConnectQuery, request.query ?? {});
  if (!parsed.success) return { ok: false, reason: 'malformed query' };
  const { uid, dev, ts, nonce, sig, pk } = parsed.output;
  const device = Number(dev);
  if (device > Limits.maxDevice) return { ok: false, reason: 'bad device' };
  const host = request.host?.toLowerCase();
  if (!host || host.length > MAX_HOST_LENGTH) return { ok: false, reason: 'missing host' };

  const now = ports.clock.now();
  const timestamp = Number(ts);
  if (Math.abs(now - timestamp) > Limits.connectSkewMs) return { ok: false, reason: 'clock skew' };

  let signingKey: string;
  if (pk !== undefined) {
    // Only device 1 holds the key its user id is derived from; a linked device is known by its entry alone.
    if (device !== 1) return { ok: false, reason: 'pk for a linked device' };
    const key = decodeOrUndefined(pk);
    if (!key || userIdOf(key) !== uid) return { ok: false, reason: 'pk does not match uid' };
    signingKey = pk;
  } else {
    const account = await ports.accounts.get(uid);
    if (!account) return { ok: false, reason: 'unknown user' };
    // A linked device signs with its own key (ARCH §4.6); one never linked, or removed, has none.
    const deviceKey = deviceSigningKey(account, device);
    if (deviceKey === undefined) return { ok: false, reason: 'unknown device' };
    signingKey = deviceKey;
  }

  const key = decodeOrUndefined(signingKey);
  // A small-order key verifies signatures nobody made (ARCH §4.3).
  if (!key || isSmallOrderKey(key)) return { ok: false, reason: 'small-order key' };
  const message = new TextEncoder().encode(connectMessage({ host, uid, dev: device, ts: timestamp, nonce }));
  const signature = decodeOrUndefined(sig);
  if (!signature || !verifyEd25519(key, message, signature)) return { ok: false, reason: 'bad signature' };
  return {
    ok: true,
    context: { uid, dev, signingKey },
    nonceKey: `${uid}#${nonce}`,
    expiresAt: Math.ceil((timestamp + 2 * Limits.connectSkewMs) / 1000),
  };
}

/**
 * Addresses whose failure budget this container saw spent, and until when. Their further failures are not
 * written: a flood of forgeries costs at most one account read and one signature check per attempt, and its
 * bookkeeping stops at the budget. Attempts are still checked, so a valid signature is never refused for the
 * failures of others at its address.
 */
const failureBudgetSpent = /* @__PURE__ */ new Map<string, number>();
const FAILURE_NOTES_LIMIT = 10_000;

async function chargeFailure(ports: Pick<Ports, 'rateLimiter' | 'clock' | 'config' | 'logger'>, sourceIp: string | undefined): Promise<void> {
  if (sourceIp === undefined) return;
  const now = ports.clock.now();
  if ((failureBudgetSpent.get(sourceIp) ?? 0) > now) return;
  const decision = await takeRateToken(ports, 'connectFailure', sourceIp);
  if (decision.allowed) return;
  if (failureBudgetSpent.size >= FAILURE_NOTES_LIMIT) {
    for (const [ip, until] of failureBudgetSpent) if (until <= now) failureBudgetSpent.delete(ip);
    if (failureBudgetSpent.size >= FAILURE_NOTES_LIMIT) failureBudgetSpent.clear();
  }
  failureBudgetSpent.set(sourceIp, now + decision.retryAfterSeconds * 1000);
  // The address itself is not logged: it identifies a person as much as a user id does, and is not an id of ebb.
  ports.logger.warn('connect failures over budget', { ms: decision.retryAfterSeconds * 1000 });
}

/** Reads the caller back from the authorizer context API Gateway attaches to every event of the connection. */
export function callerFromContext(connectionId: string, context: Record<string, unknown> | null | undefined, sourceIp?: string): Caller | undefined {
  if (!context) return undefined;
  const { uid, dev, signingKey } = context;
  if (typeof uid !== 'string' || typeof signingKey !== 'string') return undefined;
  const device = Number(dev);
  if (!Number.isInteger(device) || device < 1) return undefined;
  return { userId: uid, device, signingKey, connectionId, ...(sourceIp !== undefined && { sourceIp }) };
}

/** Seconds a connection record outlives API Gateway's 2-hour limit before TTL removes a leftover. */
const CONNECTION_RECORD_GRACE_SECONDS = 600;

export async function connectionOpened(ports: Pick<Ports, 'connections' | 'clock'>, caller: Caller): Promise<void> {
  const now = ports.clock.now();
  await ports.connections.put({
    connectionId: caller.connectionId,
    userId: caller.userId,
    device: caller.device,
    connectedAt: now,
    expiresAt: Math.ceil((now + Limits.maxConnectionMs) / 1000) + CONNECTION_RECORD_GRACE_SECONDS,
  });
}

export async function connectionClosed(ports: Pick<Ports, 'connections'>, caller: Caller): Promise<void> {
  await ports.connections.remove(caller.userId, caller.connectionId);
}
