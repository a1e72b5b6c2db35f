import * as v from 'valibot';
import { createHash, createPublicKey, randomBytes, verify } from 'node:crypto';
import { type IncomingMessage, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import {
  DEVICE_CONTEXT,
  IDENTITY_CONTEXT,
  SIGNED_PREKEY_CONTEXT,
  USER_ID_HASH_BYTES,
  connectMessage,
  signedKeyMessage,
} from '../../protocol/connect';
import type { ErrorCode, ErrorReason } from '../../protocol/errors';
import {
  DeliveryTokenSetFrame,
  DeviceAddFrame,
  type Envelope,
  PushRegisterFrame,
  type OneTimePrekey,
  ReportFrame,
  SendFrame,
  type ServiceLimits,
  type ServiceStatus,
  type SignedPrekey,
} from '../../protocol/frames';
import { Limits } from '../../protocol/limits';
import { frankTag, reportIdOf, verifyCommitment, verifyFrankTag } from '../../lambdas/core/franking';
import type { FrankingKey } from '../../lambdas/core/ports';

/**
 * An in-memory stand-in for the ebb service that checks what the SDK sends: the connect
 * signature (with node:crypto, independently of tweetnacl), every frame's shape and size, and
 * keeps a log of frames so tests can assert the exact sequence. Franking tags and report checks
 * use the server's own code (lambdas/core/franking.ts), also on node:crypto.
 */

export interface LoggedFrame {
  readonly connection: number;
  readonly user: string;
  readonly device: number;
  readonly bytes: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly frame: any;
}

export interface Upgrade {
  readonly query: URLSearchParams;
  readonly accepted: boolean;
}

interface Account {
  readonly signingKey: string;
  identityKey: string;
  identitySig: string;
  /** The devices messages fan out to: device 1 and linked devices that published a signed prekey. */
  readonly devices: Set<number>;
  /** Linked devices (ARCH §8.6), ready or not; a test may add one the account never certified (a ghost). */
  readonly linked: Map<number, LinkedDevice>;
  nextDevice: number;
  readonly linkedKeys: Set<string>;
  readonly createdAt: number;
}

export interface LinkedDevice {
  readonly signingKey: string;
  readonly cert: string;
  readonly name: string | null;
  readonly linkedAt: number;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Frame = Record<string, any>;

/** One server-side connection. */
export class FakeConnection {
  constructor(
    readonly id: number,
    readonly user: string,
    readonly device: number,
    readonly pk: string | null,
    readonly socket: WebSocket,
  ) {}

  send(frame: object): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  result(rid: string, body: object): void {
    this.send({ type: 'result', rid, ...body });
  }

  error(rid: string | null, code: ErrorCode, message: string, retryable: boolean, retryAfterSeconds?: number, reason?: ErrorReason): void {
    this.send({
      type: 'error',
      rid,
      code,
      message,
      retryable,
      ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
      ...(reason !== undefined && { reason }),
    });
  }

  /** Drops the TCP connection without a close handshake, like a network failure. */
  drop(): void {
    this.socket.terminate();
  }

  get open(): boolean {
    return this.socket.readyState === WebSocket.OPEN;
  }
}

export interface FakeServerOptions {
  readonly now?: () => number;
  readonly fetchPageSize?: number;
}

export class FakeServer {
  readonly frames: LoggedFrame[] = [];
  readonly upgrades: Upgrade[] = [];
  readonly connections: FakeConnection[] = [];
  readonly accounts = new Map<string, Account>();
  /** Per recipient `uid#dev`, in queue order. */
  readonly queues = new Map<string, Envelope[]>();
  readonly prekeys = new Map<string, { signed: SignedPrekey | null; oneTime: OneTimePrekey[] }>();
  /** What device 1 left for a device being linked, by the device's temporary user id. */
  readonly links = new Map<string, { user: string; device: number; provision: string; expiresAt: number }>();
  maxDevicesPerAccount = 6;
  /** When false, `device.add` leaves the link for `link.fetch` without pushing it (a push that was lost). */
  pushLinks = true;
  /** Each user's delivery token as `deliveryToken.set` last set it. */
  readonly deliveryTokens = new Map<string, string>();
  /** Push subscriptions by `uid#dev`, as `push.register` left them. */
  readonly pushSubscriptions = new Map<string, unknown>();
  limits: ServiceLimits = {
    maxCiphertextBytes: 16384,
    retentionDays: 30,
    maxDevicesPerSend: Limits.maxDevicesPerSend,
    maxFanoutDevicesPerFrame: Limits.maxFanoutDevicesPerFrame,
    maxGroupSize: 1000,
    maxFrameBytes: Limits.maxFrameBytes,
    maxAttachmentBytes: 100 * 1024 * 1024,
  };
  /** When true, acks riding on a `send` are not applied and the answer says `acksApplied: false`. */
  ridingAcksFail = false;
  /** When set, every upgrade is refused with this HTTP status. */
  refuseUpgrades: number | null = null;
  /** Sees each frame first; returning true skips the default handling. */
  intercept: ((connection: FakeConnection, frame: Frame) => boolean) | null = null;
  /** Return true to queue an envelope without pushing it, as a push that failed (500 or 410) does. */
  skipPush: ((user: string, device: number, envelope: Envelope) => boolean) | null = null;
  fetchPageSize: number;
  /** The key `send` tags envelopes with and `report` checks tags against. */
  readonly frankingKey: FrankingKey = { kid: 'fake-1', key: randomBytes(32) };
  /** Report ids accepted so far, with the frames that made them. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly reports = new Map<string, any>();

  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly http = createServer((_req, res) => res.writeHead(426).end());
  private readonly nonces = new Set<string>();
  private readonly sent = new Map<string, Envelope>();
  private lastSentAt = 0;
  private readonly now: () => number;

  private constructor(options: FakeServerOptions) {
    this.now = options.now ?? Date.now;
    this.fetchPageSize = options.fetchPageSize ?? Limits.maxFetchPage;
    this.http.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
  }

  static async start(options: FakeServerOptions = {}): Promise<FakeServer> {
    const server = new FakeServer(options);
    await new Promise<void>((resolve) => server.http.listen(0, '127.0.0.1', resolve));
    return server;
  }

  get url(): string {
    return `ws://127.0.0.1:${(this.http.address() as AddressInfo).port}`;
  }

  /** Actions received from `user`, in order. */
  actions(user: string): string[] {
    return this.frames.filter((f) => f.user === user).map((f) => f.frame.action);
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  framesOf(user: string, action: string): any[] {
    return this.frames.filter((f) => f.user === user && f.frame.action === action).map((f) => f.frame);
  }

  live(user: string, device = 1): FakeConnection[] {
    return this.connections.filter((c) => c.user === user && c.device === device && c.open);
  }

  status(): ServiceStatus {
    const schedule = { signupsCloseAt: null, readOnlyAt: null, shutdownAt: null, purgeAt: null, noticeUrl: null, message: null };
    return { phase: 'open', schedule, limits: this.limits, serverTime: this.now() };
  }

  /** Queues an envelope for `user#device` and pushes it to live connections, as `send` does. */
  deliver(user: string, device: number, envelope: Envelope): void {
    const key = `${user}#${device}`;
    this.queues.set(key, [...(this.queues.get(key) ?? []), envelope]);
    if (!this.skipPush?.(user, device, envelope)) this.push(user, device, envelope);
  }

  push(user: string, device: number, envelope: Envelope): void {
    for (const connection of this.live(user, device)) connection.send({ type: 'message', ...envelope });
  }

  queue(user: string, device = 1): Envelope[] {
    return this.queues.get(`${user}#${device}`) ?? [];
  }

  dropAll(): void {
    for (const connection of this.connections) if (connection.open) connection.drop();
  }

  async close(): Promise<void> {
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.http.closeAllConnections();
    await new Promise<void>((resolve) => this.http.close(() => resolve()));
  }

  // ---- connect ---------------------------------------------------------------

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const query = new URL(req.url ?? '/', 'http://x').searchParams;
    const refusal = this.refuseUpgrades ?? (this.authorize(query, req.headers.host) ? null : 401);
    this.upgrades.push({ query, accepted: refusal === null });
    if (refusal !== null) {
      socket.end(`HTTP/1.1 ${refusal} Refused\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => {
      const user = query.get('uid')!;
      const connection = new FakeConnection(this.connections.length + 1, user, Number(query.get('dev')), query.get('pk'), ws);
      this.connections.push(connection);
      ws.on('message', (data, isBinary) => {
        const text = data.toString();
        let frame: Frame;
        try {
          frame = JSON.parse(text);
        } catch {
          frame = { action: '(unparseable)' };
        }
        this.frames.push({ connection: connection.id, user, device: connection.device, bytes: Buffer.byteLength(text), frame });
        if (isBinary || Buffer.byteLength(text) >= Limits.maxFrameBytes) {
          ws.close(1009, 'frame too large'); // what API Gateway does
          return;
        }
        if (this.intercept?.(connection, frame)) return;
        this.handle(connection, frame);
      });
    });
  }

  /** The authorizer's checks (ARCH §4.3), done with node:crypto. */
  private authorize(query: URLSearchParams, host: string | undefined): boolean {
    const [uid, dev, ts, nonce, sig] = ['uid', 'dev', 'ts', 'nonce', 'sig'].map((k) => query.get(k));
    if (!uid || !dev || !ts || !nonce || !sig || !host) return false;
    const account = this.accounts.get(uid);
    // A linked device signs with its own key; device 1 (or a connect before registration, with pk) with the account's.
    const pk = dev === '1' ? (query.get('pk') ?? account?.signingKey) : account?.linked.get(Number(dev))?.signingKey;
    if (!pk || (dev === '1' && userIdOf(pk) !== uid)) return false;
    if (Math.abs(Number(ts) - this.now()) > Limits.connectSkewMs || this.nonces.has(nonce)) return false;
    this.nonces.add(nonce);
    return verifyEd25519(
      pk,
      new TextEncoder().encode(connectMessage({ host: host.toLowerCase(), uid, dev: Number(dev), ts: Number(ts), nonce })),
      sig,
    );
  }

  // ---- actions ---------------------------------------------------------------

  private handle(c: FakeConnection, f: Frame): void {
    const rid = f.rid as string;
    const account = this.accounts.get(c.user);
    switch (f.action) {
      case 'hello':
        return c.result(rid, {
          userId: c.user,
          device: c.device,
          registered: account !== undefined,
          identityKey: account?.identityKey ?? null,
          status: this.status(),
        });
      case 'status':
        return c.result(rid, this.status());
      case 'register': {
        const signingKey = account?.signingKey ?? c.pk;
        if (!signingKey || !verifyEd25519(signingKey, signedKeyMessage(IDENTITY_CONTEXT, fromBase64Url(f.identityKey)), f.identitySig)) {
          return c.error(rid, 'BAD_REQUEST', 'identitySig: does not verify', false);
        }
        const rotated = account !== undefined && account.identityKey !== f.identityKey;
        if (account) {
          account.devices.add(c.device);
          Object.assign(account, { identityKey: f.identityKey, identitySig: f.identitySig });
        } else
          this.accounts.set(c.user, {
            signingKey,
            identityKey: f.identityKey,
            identitySig: f.identitySig,
            devices: new Set([c.device]),
            linked: new Map(),
            nextDevice: 2,
            linkedKeys: new Set(),
            createdAt: this.now(),
          });
        return c.result(rid, { userId: c.user, device: c.device, created: account === undefined, rotated });
      }
      case 'keys.count':
      case 'keys.publish': {
        const key = `${c.user}#${c.device}`;
        const keys = this.prekeys.get(key) ?? { signed: null, oneTime: [] };
        if (f.action === 'keys.publish') {
          if (f.signedPrekey) {
            const message = signedKeyMessage(SIGNED_PREKEY_CONTEXT, fromBase64Url(f.signedPrekey.publicKey));
            const deviceKey = c.device === 1 ? account!.signingKey : account!.linked.get(c.device)!.signingKey;
            if (!verifyEd25519(deviceKey, message, f.signedPrekey.signature))
              return c.error(rid, 'BAD_REQUEST', 'signedPrekey: bad signature', false);
            keys.signed = f.signedPrekey;
            account!.devices.add(c.device);
          }
          keys.oneTime.push(...(f.oneTimePrekeys ?? []));
          this.prekeys.set(key, keys);
        }
        return c.result(rid, { oneTimePrekeys: keys.oneTime.length, signedPrekeyId: keys.signed?.keyId ?? null });
      }
      case 'keys.bundle': {
        const peer = this.accounts.get(f.user);
        if (!peer) return c.error(rid, 'NOT_FOUND', 'no such user', false);
        const devices = [...peer.devices]
          .filter((device) => f.device === undefined || device === f.device)
          .map((device) => {
            const keys = this.prekeys.get(`${f.user}#${device}`);
            const linked = peer.linked.get(device);
            return {
              device,
              signingKey: linked?.signingKey ?? peer.signingKey,
              cert: linked?.cert ?? null,
              signedPrekey: keys?.signed ?? null,
              oneTimePrekey: keys?.oneTime.shift() ?? null,
            };
          });
        if (f.device !== undefined && devices.length === 0) return c.error(rid, 'NOT_FOUND', 'no such device', false);
        return c.result(rid, { user: f.user, signingKey: peer.signingKey, identityKey: peer.identityKey, identitySig: peer.identitySig, devices });
      }
      case 'deliveryToken.set': {
        if (!v.safeParse(DeliveryTokenSetFrame, f).success) return c.error(rid, 'BAD_REQUEST', 'malformed deliveryToken.set frame', false);
        const changed = this.deliveryTokens.get(c.user) !== f.token;
        this.deliveryTokens.set(c.user, f.token);
        return c.result(rid, { changed });
      }
      case 'send':
        return this.send(c, f);
      case 'device.add':
        return this.addDevice(c, f);
      case 'link.fetch': {
        const link = this.links.get(c.user);
        return c.result(rid, {
          link: link && link.expiresAt > this.now() ? { user: link.user, device: link.device, provision: link.provision } : null,
        });
      }
      case 'devices.list': {
        if (!account) return c.error(rid, 'FORBIDDEN', 'register first', false);
        const devices = [
          { device: 1, name: null, linkedAt: account.createdAt, ready: true },
          ...[...account.linked].map(([device, d]) => ({ device, name: d.name, linkedAt: d.linkedAt, ready: account.devices.has(device) })),
        ];
        return c.result(rid, { devices });
      }
      case 'device.remove': {
        if (f.device === 1) return c.error(rid, 'FORBIDDEN', 'device 1 holds the account key: delete the account instead', false);
        if (c.device !== 1 && c.device !== f.device) return c.error(rid, 'FORBIDDEN', 'only device 1 removes other devices', false);
        const removed = account!.linked.delete(f.device);
        account!.devices.delete(f.device);
        this.queues.delete(`${c.user}#${f.device}`);
        this.prekeys.delete(`${c.user}#${f.device}`);
        c.result(rid, { removed });
        for (const live of this.live(c.user, f.device)) {
          if (live !== c) live.send({ type: 'device.removed', device: f.device });
          live.socket.close(1000);
        }
        return;
      }
      case 'push.register': {
        if (!v.safeParse(PushRegisterFrame, f).success) return c.error(rid, 'BAD_REQUEST', 'malformed push.register frame', false);
        const replaced = this.pushSubscriptions.has(`${c.user}#${c.device}`);
        this.pushSubscriptions.set(`${c.user}#${c.device}`, f.subscription);
        return c.result(rid, { replaced });
      }
      case 'push.unregister':
        return c.result(rid, { removed: this.pushSubscriptions.delete(`${c.user}#${c.device}`) });
      case 'report':
        return this.report(c, f);
      case 'fetch': {
        const now = this.now();
        const queue = this.queue(c.user, c.device).filter((e) => e.expiresAt > now);
        const start = f.after === undefined ? 0 : queue.findIndex((e) => cursorOf(e) === f.after) + 1;
        const page = queue.slice(start, start + this.fetchPageSize);
        const last = page[page.length - 1];
        return c.result(rid, { messages: page, cursor: last ? cursorOf(last) : null, more: start + page.length < queue.length });
      }
      case 'ack': {
        const acked = this.removeOwn(c, f.messages as Array<{ id: string; sentAt: number }>);
        // A quiet ack is answered only when it fails, as the real route does.
        if (f.quiet === true) return;
        return c.result(rid, { acked });
      }
      default:
        return c.error(rid ?? null, 'BAD_REQUEST', 'unknown action', false);
    }
  }

  /** Removes `messages` from the connection's own queue, as `ack` does; how many were there. */
  private removeOwn(c: FakeConnection, messages: Array<{ id: string; sentAt: number }>): number {
    const before = this.queue(c.user, c.device);
    const acked = new Set(messages.map((m) => `${m.sentAt}:${m.id}`));
    this.queues.set(
      `${c.user}#${c.device}`,
      before.filter((e) => !acked.has(cursorOf(e))),
    );
    return before.length - this.queue(c.user, c.device).length;
  }

  private send(c: FakeConnection, f: Frame): void {
    if (!v.safeParse(SendFrame, f).success) return c.error(f.rid, 'BAD_REQUEST', 'malformed send frame', false);
    // Acks riding on the send (ARCH §6.5) apply whatever becomes of it, as on the real server; a test may make them fail.
    let acksApplied: boolean | undefined;
    if (f.acks !== undefined) {
      acksApplied = !this.ridingAcksFail;
      if (acksApplied) this.removeOwn(c, f.acks as Array<{ id: string; sentAt: number }>);
    }
    const recipient = this.accounts.get(f.to);
    if (!recipient) return c.error(f.rid, 'NOT_FOUND', 'no such user', false);
    const named = f.messages as Array<{ device: number; ciphertext: string; commitment: string }>;
    if (f.to === c.user && named.some((m) => m.device === c.device)) return c.error(f.rid, 'BAD_REQUEST', 'a copy for the sending device', false);
    const messages = named.filter((m) => recipient.devices.has(m.device));
    const stale = named.filter((m) => !recipient.devices.has(m.device)).map((m) => m.device);
    const missing = [...recipient.devices].filter((d) => !named.some((m) => m.device === d) && !(f.to === c.user && d === c.device));
    for (const m of messages) {
      if (fromBase64Url(m.ciphertext).length > this.limits.maxCiphertextBytes)
        return c.error(f.rid, 'PAYLOAD_TOO_LARGE', 'ciphertext too large', false);
    }
    const now = this.now();
    let first: Envelope | undefined;
    let duplicate = false;
    for (const m of messages) {
      const key = `${c.user}#${f.id}#${f.to}#${m.device}`;
      const existing = this.sent.get(key);
      if (existing) {
        duplicate = true;
        first ??= existing;
        continue;
      }
      this.lastSentAt = Math.max(now, this.lastSentAt + 1);
      const lifetime = Math.min(f.expiresInSeconds ?? Infinity, this.limits.retentionDays * 86400);
      const envelope: Envelope = {
        id: f.id,
        from: { user: c.user, device: c.device },
        sentAt: this.lastSentAt,
        expiresAt: this.lastSentAt + lifetime * 1000,
        ciphertext: m.ciphertext,
        frank: this.frank(m.commitment, { user: c.user, device: c.device }, { user: f.to, device: m.device }, this.lastSentAt, f.id),
      };
      this.sent.set(key, envelope);
      first ??= envelope;
      this.deliver(f.to, m.device, envelope);
    }
    const sentAt = first?.sentAt ?? now;
    c.result(f.rid, {
      id: f.id,
      sentAt,
      expiresAt: first?.expiresAt ?? now,
      duplicate,
      missing,
      stale,
      ...(acksApplied !== undefined && { acksApplied }),
    });
  }

  /** `device.add` as the real server answers it (ARCH §8.6), without its rate limit. */
  private addDevice(c: FakeConnection, f: Frame): void {
    if (!v.safeParse(DeviceAddFrame, f).success) return c.error(f.rid, 'BAD_REQUEST', 'malformed device.add frame', false);
    const account = this.accounts.get(c.user);
    if (!account || c.device !== 1) return c.error(f.rid, 'FORBIDDEN', 'only device 1 links devices', false);
    if (!verifyEd25519(account.signingKey, signedKeyMessage(DEVICE_CONTEXT, fromBase64Url(f.signingKey)), f.cert))
      return c.error(f.rid, 'BAD_REQUEST', 'cert: does not verify', false);
    // Worded unlike the real server's: the SDK reads `reason`, never the text.
    if (account.linkedKeys.has(f.signingKey)) return c.error(f.rid, 'CONFLICT', 'key linked before', false, undefined, 'link-code-used');
    if (account.linked.size + 1 >= this.maxDevicesPerAccount) {
      return c.error(f.rid, 'CONFLICT', `${this.maxDevicesPerAccount} devices`, false, undefined, 'device-limit');
    }
    const device = account.nextDevice++;
    account.linkedKeys.add(f.signingKey);
    account.linked.set(device, { signingKey: f.signingKey, cert: f.cert, name: f.name ?? null, linkedAt: this.now() });
    const tmp = userIdOf(f.signingKey);
    const link = { user: c.user, device, provision: f.provision as string };
    this.links.set(tmp, { ...link, expiresAt: this.now() + Limits.linkTtlMs });
    c.result(f.rid, { device });
    if (this.pushLinks) for (const live of this.live(tmp, 1)) live.send({ type: 'link', ...link });
  }

  /** Adds a device the account never certified, as a server that lies would: `cert` signed by another key, or garbage. */
  addGhost(user: string, signing: { publicKey: Uint8Array; secretKey: Uint8Array }, cert: string, signedPrekey: SignedPrekey): number {
    const account = this.accounts.get(user)!;
    const device = account.nextDevice++;
    account.linked.set(device, { signingKey: toBase64Url(signing.publicKey), cert, name: null, linkedAt: this.now() });
    account.devices.add(device);
    this.prekeys.set(`${user}#${device}`, { signed: signedPrekey, oneTime: [] });
    return device;
  }

  /** The franking fields the real server puts on a queued copy (lambdas/core/delivery.ts). */
  frank(commitment: string, from: Envelope['from'], to: Envelope['from'], sentAt: number, id: string): Envelope['frank'] {
    const tag = frankTag(this.frankingKey, { commitment, from, to, sentAt, id });
    return { commitment, tag, kid: this.frankingKey.kid };
  }

  /** The real server's checks (lambdas/core/reports.ts), without its storage. */
  private report(c: FakeConnection, f: Frame): void {
    if (!v.safeParse(ReportFrame, f).success) return c.error(f.rid, 'BAD_REQUEST', 'malformed report frame', false);
    const frame = f as ReportFrame;
    const { message } = frame;
    if (message.frank.kid !== this.frankingKey.kid) return c.error(f.rid, 'FORBIDDEN', 'unknown franking key', false);
    const delivery = {
      commitment: message.frank.commitment,
      from: message.from,
      to: { user: c.user, device: c.device },
      sentAt: message.sentAt,
      id: message.id,
    };
    if (!verifyFrankTag(this.frankingKey, delivery, message.frank.tag)) return c.error(f.rid, 'FORBIDDEN', 'bad tag', false);
    const content = { from: message.from.user, to: c.user, id: message.id, kind: frame.content.kind, body: fromBase64Url(frame.content.body) };
    if (!verifyCommitment(fromBase64Url(frame.frankKey), content, message.frank.commitment))
      return c.error(f.rid, 'FORBIDDEN', 'commitment mismatch', false);
    const reportId = reportIdOf({ userId: c.user, device: c.device }, message.from.user, message.id);
    const duplicate = this.reports.has(reportId);
    if (!duplicate) this.reports.set(reportId, frame);
    c.result(f.rid, { reportId, duplicate });
  }
}

export function cursorOf(envelope: Envelope): string {
  return `${envelope.sentAt}:${envelope.id}`;
}

export function userIdOf(signingKey: string): string {
  return toBase64Url(createHash('sha512').update(fromBase64Url(signingKey)).digest().subarray(0, USER_ID_HASH_BYTES));
}

export function verifyEd25519(publicKey: string, message: Uint8Array, signature: string): boolean {
  try {
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
    return verify(null, message, key, fromBase64Url(signature));
  } catch {
    return false;
  }
}
