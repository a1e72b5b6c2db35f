import * as z from 'zod/mini';
import { BASE64URL_PATTERN } from '../../protocol/base64url';
import { NONCE_BYTES, connectMessage } from '../../protocol/connect';
import { UserId } from '../../protocol/fields';
import { Limits } from '../../protocol/limits';
import type { Caller, Ports } from './ports';
import { decodeOrUndefined, userIdOf, verifyEd25519 } from './signatures';

const b64 = (chars: number) => z.string().check(z.length(chars), z.regex(BASE64URL_PATTERN));

/** The connect query string (DESIGN §4). Decimal fields are strict: no signs, no leading zeros. */
const ConnectQuery = z.object({
  uid: UserId,
  dev: z.string().check(z.regex(/^[1-9][0-9]?$/)),
  ts: z.string().check(z.regex(/^[1-9][0-9]{0,15}$/)),
  nonce: b64(Math.ceil((NONCE_BYTES * 4) / 3)),
  sig: b64(86),
  pk: z.optional(b64(43)),
});

/** What the authorizer hands to every route of the connection (API Gateway allows only flat string values). */
export interface AuthorizerContext {
  readonly uid: string;
  readonly dev: string;
  readonly signingKey: string;
}

export type ConnectDecision = { allow: true; context: AuthorizerContext } | { allow: false; reason: string };

/**
 * The `$connect` authorizer: a valid signature by the user's signing key over the query, a timestamp within
 * ±60 s of the server clock, and a nonce never seen before. Policy (phase, suspension) is not decided here:
 * routes answer it with typed errors so that the client learns why.
 */
export async function authorizeConnect(
  ports: Pick<Ports, 'accounts' | 'nonces' | 'clock'>,
  query: Record<string, string | undefined> | null | undefined,
): Promise<ConnectDecision> {
  const parsed = ConnectQuery.safeParse(query ?? {});
  if (!parsed.success) return { allow: false, reason: 'malformed query' };
  const { uid, dev, ts, nonce, sig, pk } = parsed.data;
  const device = Number(dev);
  if (device > Limits.maxDevice) return { allow: false, reason: 'bad device' };

  const now = ports.clock.now();
  const timestamp = Number(ts);
  if (Math.abs(now - timestamp) > Limits.connectSkewMs) return { allow: false, reason: 'clock skew' };

  let signingKey: string;
  if (pk !== undefined) {
    const key = decodeOrUndefined(pk);
    if (!key || userIdOf(key) !== uid) return { allow: false, reason: 'pk does not match uid' };
    signingKey = pk;
  } else {
    const account = await ports.accounts.get(uid);
    if (!account) return { allow: false, reason: 'unknown user' };
    signingKey = account.signingKey;
  }

  const message = new TextEncoder().encode(connectMessage({ uid, dev: device, ts: timestamp, nonce }));
  const signature = decodeOrUndefined(sig);
  const key = decodeOrUndefined(signingKey);
  if (!signature || !key || !verifyEd25519(key, message, signature)) return { allow: false, reason: 'bad signature' };

  // Claimed only after the signature verifies, so forged requests cannot burn a client's nonces.
  const expiresAt = Math.ceil((timestamp + 2 * Limits.connectSkewMs) / 1000);
  if (!(await ports.nonces.claim(`${uid}#${nonce}`, expiresAt, now))) return { allow: false, reason: 'replayed nonce' };
  return { allow: true, context: { uid, dev, signingKey } };
}

/** Reads the caller back from the authorizer context API Gateway attaches to every event of the connection. */
export function callerFromContext(
  connectionId: string,
  context: Record<string, unknown> | null | undefined,
  sourceIp?: string,
): Caller | undefined {
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
