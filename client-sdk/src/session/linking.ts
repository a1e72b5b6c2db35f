import * as v from 'valibot';
import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import type { LinkProvision } from '../../../protocol/frames';
import { LinkPush } from '../../../protocol/server-frames';
import { EbbError, badRequest, toEbbError } from '../errors';
import { type Identity, deviceSeedOf, parseIdentity, storedLinkedIdentity } from '../identity/identity';
import { certifyDevice, userIdFromSigningKey } from '../identity/keys';
import type { Settings } from '../options';
import { StoreKeys } from '../store/layout';
import { Connection } from '../transport/connection';
import { signedConnectUrl } from '../transport/connect-url';
import type { Body } from '../transport/requests';
import { resolveWebSocket } from '../transport/websocket';
import { MAX_DEVICE_NAME_BYTES, sealDeviceName } from './device-names';
import { LINK_CODE_LIFETIME_MS, encodeLinkCode, parseLinkCode } from './link-code';
import { openProvision, sealProvision } from './provision';

/** How often the new device asks for its provision, should the push be missed (a reconnect in between). */
export const LINK_POLL_MS = 3000;

/** A link waiting for its approval: `linked` resolves with the device's identity, already stored. */
export interface PendingLink {
  readonly code: string;
  readonly linked: Promise<Identity>;
  /** Stops waiting: `linked` rejects with `reason`. */
  readonly cancel: (reason: EbbError) => void;
}

/**
 * The new device's half of linking (ARCH §8.6). Its fresh identity's signing key becomes its device key:
 * it connects as the temporary user that key names (with `pk`, as an account not yet registered does),
 * shows the code, and waits for the provision device 1 seals to the link key: pushed as `link`, or found
 * by `link.fetch` on each (re)connect and every LINK_POLL_MS. The provision must name the account whose key
 * certified this device's key and signed the identity key; then the identity is stored as that account's
 * linked device and the temporary connection closed.
 * @throws EbbError from connecting (UNAUTHORIZED, INTERNAL) before any code is shown.
 */
export async function startLink(identity: Identity, settings: Settings): Promise<PendingLink> {
  const linkKeys = nacl.box.keyPair();
  const expiresAt = Math.floor(settings.now()) + LINK_CODE_LIFETIME_MS;
  const code = encodeLinkCode({ deviceKey: identity.deviceSigningPublicKey, linkKey: linkKeys.publicKey, expiresAt });
  let resolve!: (identity: Identity) => void;
  let reject!: (error: EbbError) => void;
  const linked = new Promise<Identity>((res, rej) => ((resolve = res), (reject = rej)));
  let settled = false;
  const poll: { timer?: ReturnType<typeof setInterval> } = {};

  const settle = (outcome: Identity | EbbError): void => {
    if (settled) return;
    settled = true;
    clearInterval(poll.timer);
    // The link key opens nothing else: it is only good while this link waits.
    linkKeys.secretKey.fill(0);
    void connection.close().then(() => (outcome instanceof EbbError ? reject(outcome) : resolve(outcome)));
  };
  const offered = (link: LinkProvision): void => {
    if (settled) return;
    adopt(link, identity, linkKeys.secretKey, settings).then(
      (adopted) => adopted && settle(adopted),
      (err: unknown) => settle(toEbbError(err)),
    );
  };
  const check = async (request: <A extends 'link.fetch'>(action: A, body: Body<A>) => Promise<{ link: LinkProvision | null }>) => {
    if (settings.now() >= expiresAt) return settle(expiredError());
    const { link } = await request('link.fetch', {});
    if (link) offered(link);
  };

  const connection: Connection = new Connection({
    connectUrl: () => signedConnectUrl(settings.url, identity, 1, Math.floor(settings.now()), true),
    webSocket: () => resolveWebSocket(settings.WebSocket),
    setup: async (request) => {
      await request('hello', {});
      await check(request);
    },
    onPush: (type, frame) => {
      if (type !== 'link') return;
      const push = v.safeParse(LinkPush, frame);
      if (push.success) offered(push.output);
    },
    onStopped: (error) => settle(error),
    timeoutMs: settings.timeoutMs,
    backoff: settings.backoff,
  });
  try {
    await connection.connect();
  } catch (err) {
    settle(toEbbError(err));
    linked.catch(() => undefined);
    throw toEbbError(err);
  }
  poll.timer = setInterval(() => {
    // A failed poll waits for the next one, or the push.
    check((action, body) => connection.request(action, body)).catch(() => undefined);
  }, LINK_POLL_MS);
  return { code, linked, cancel: settle };
}

/** The identity a provision makes of this device, stored; null when it does not open or does not hold together. */
async function adopt(link: LinkProvision, identity: Identity, linkSecretKey: Uint8Array, settings: Settings): Promise<Identity | null> {
  let sealed: Uint8Array;
  try {
    sealed = fromBase64Url(link.provision);
  } catch {
    return null;
  }
  const provision = openProvision(sealed, linkSecretKey);
  if (!provision || provision.user !== link.user || userIdFromSigningKey(provision.accountKey) !== provision.user || link.device < 2) return null;
  const stored = storedLinkedIdentity(deviceSeedOf(identity), provision, link.device);
  // Checks that the account key certified this device's key and signed the identity key.
  const linked = parseIdentity(stored);
  if (!linked) return null;
  const { store, url } = settings;
  // Device 1 published the token already: every device presents the account's one token.
  if (provision.deliveryToken !== null)
    await store.set(StoreKeys.deliveryToken, JSON.stringify({ token: provision.deliveryToken, publishedTo: url }));
  await store.set(StoreKeys.registered, url);
  // Last: the store holds the account only once everything else is in.
  await store.set(StoreKeys.identity, stored);
  return linked;
}

export interface ApproveContext {
  readonly identity: Identity;
  readonly now: () => number;
  /** The account's delivery token, published (session/delivery-tokens.ts). */
  readonly deliveryToken: () => Promise<Uint8Array>;
  readonly addDevice: (body: Body<'device.add'>) => Promise<{ device: number }>;
}

/**
 * Device 1's half of linking: checks the code, certifies the new device's key with the account key, seals
 * the provision to the code's link key and the name under the identity secret, and has the service add the
 * device. Resolves with the new device's number. Nothing is sent for a bad code.
 * @throws EbbError BAD_REQUEST (reason `malformed-link-code` or `expired-link-code`) for a bad code, or a bad name.
 * @throws EbbError FORBIDDEN on a device without the account key.
 * @throws EbbError CONFLICT (reason `used-link-code`, `device-limit` or `device-numbers-used`) from the service.
 */
export async function approveLink(text: string, name: string | undefined, context: ApproveContext): Promise<number> {
  const code = parseLinkCode(text);
  if (!code) throw new EbbError('BAD_REQUEST', 'code: not a link code', { retryable: false, reason: 'malformed-link-code' });
  if (code.expiresAt <= context.now()) {
    throw new EbbError('BAD_REQUEST', 'code: this link code expired: start linking again on the new device', {
      retryable: false,
      reason: 'expired-link-code',
    });
  }
  if (name !== undefined && (typeof name !== 'string' || !validName(name))) {
    throw badRequest(`name: must be 1 to ${MAX_DEVICE_NAME_BYTES} bytes of UTF-8`);
  }
  const { identity } = context;
  if (!identity.signingSecretKey) {
    throw new EbbError('FORBIDDEN', 'only the device holding the account key (device 1) approves links', { retryable: false });
  }
  const deliveryToken = toBase64Url(await context.deliveryToken());
  const cert = certifyDevice(code.deviceKey, identity.signingSecretKey);
  const provision = sealProvision(
    {
      user: identity.userId,
      accountKey: identity.signingPublicKey,
      identitySecretKey: identity.identitySecretKey,
      identitySig: identity.identitySig,
      cert,
      deliveryToken,
    },
    code.linkKey,
  );
  const { device } = await context.addDevice({
    signingKey: toBase64Url(code.deviceKey),
    cert: toBase64Url(cert),
    ...(name !== undefined && { name: sealDeviceName(name, identity.identitySecretKey) }),
    provision: toBase64Url(provision),
  });
  return device;
}

function validName(name: string): boolean {
  const bytes = new TextEncoder().encode(name).length;
  return bytes >= 1 && bytes <= MAX_DEVICE_NAME_BYTES;
}

function expiredError(): EbbError {
  return new EbbError('BAD_REQUEST', 'the link code expired before a device approved it: start linking again', {
    retryable: false,
    reason: 'expired-link-code',
  });
}
