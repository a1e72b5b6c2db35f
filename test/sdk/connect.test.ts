import { type AddressInfo, createServer } from 'node:net';
import nacl from 'tweetnacl';
import { WebSocket } from 'ws';
import { EbbClient, EbbError, type KeyStore, MemoryStore, type ServiceNotice, type WebSocketConstructor } from '../../client-sdk/src';

// Both the browser's and the `ws` package's WebSocket fit the option's type.
type BrowserFits = typeof globalThis.WebSocket extends WebSocketConstructor ? true : never;
type WsFits = typeof WebSocket extends WebSocketConstructor ? true : never;
const fits: [BrowserFits, WsFits] = [true, true];
import { fromBase64Url } from '../../protocol/base64url';
import { IDENTITY_CONTEXT, SIGNED_PREKEY_CONTEXT, USER_ID_LENGTH, connectMessage, signedKeyMessage } from '../../protocol/connect';
import { Limits } from '../../protocol/limits';
import { loadOrCreateIdentity } from '../../client-sdk/src/identity/identity';
import { signedConnectUrl } from '../../client-sdk/src/transport/connect-url';
import { FakeServer, userIdOf, verifyEd25519 } from './fake-server';
import { clientFor, connected, rejectionOf, succeedsWithin, waitFor } from './helpers';

describe('connect', () => {
  it('accepts browser and ws WebSocket constructors (compile-time)', () => expect(fits).toEqual([true, true]));

  let server: FakeServer;
  const clients: EbbClient[] = [];
  beforeEach(async () => {
    server = await FakeServer.start();
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  it('signs the connect query so that it verifies and the uid derives from pk', async () => {
    const client = await clientFor(server);
    clients.push(client);
    await client.connect();

    const [upgrade] = server.upgrades;
    const q = upgrade!.query;
    expect([...q.keys()].sort()).toEqual(['dev', 'nonce', 'pk', 'sig', 'ts', 'uid']);
    expect(q.get('uid')).toBe(client.userId);
    expect(client.userId).toHaveLength(USER_ID_LENGTH);
    expect(userIdOf(q.get('pk')!)).toBe(client.userId);
    expect(q.get('dev')).toBe('1');
    expect(fromBase64Url(q.get('nonce')!)).toHaveLength(16);
    expect(Math.abs(Number(q.get('ts')) - Date.now())).toBeLessThan(5000);
    const message = connectMessage({ host: new URL(server.url).host, uid: q.get('uid')!, dev: 1, ts: Number(q.get('ts')), nonce: q.get('nonce')! });
    expect(verifyEd25519(q.get('pk')!, new TextEncoder().encode(message), q.get('sig')!)).toBe(true);
  });

  it.each([
    ['wss://abc123.execute-api.eu-west-1.amazonaws.com/prod', 'abc123.execute-api.eu-west-1.amazonaws.com'],
    ['wss://ABC123.Execute-Api.eu-west-1.amazonaws.com:443/prod/', 'abc123.execute-api.eu-west-1.amazonaws.com'],
    ['wss://chat.example.org:8443/ebb?x=1', 'chat.example.org:8443'],
    ['ws://127.0.0.1:8787', '127.0.0.1:8787'],
  ])('signs "ebb-connect-v2", the host of %s and the fields, so the URL is good at that host only', async (url, host) => {
    const identity = await loadOrCreateIdentity(new MemoryStore());
    const signed = new URL(signedConnectUrl(url, identity, 2, 1_700_000_000_000, false));
    const q = signed.searchParams;
    const expected = `ebb-connect-v2\n${host}\n${identity.userId}\n2\n1700000000000\n${q.get('nonce')}`;
    const pk = Buffer.from(identity.signingPublicKey).toString('base64url');
    expect(verifyEd25519(pk, new TextEncoder().encode(expected), q.get('sig')!)).toBe(true);
    const elsewhere = expected.replace(host, 'other.example.org');
    expect(verifyEd25519(pk, new TextEncoder().encode(elsewhere), q.get('sig')!)).toBe(false);
  });

  it('registers and publishes prekeys on first connect, and neither on the next', async () => {
    const store = new MemoryStore();
    const first = await connected(server, { store });
    const user = first.userId;
    expect(server.actions(user)).toEqual(['hello', 'register', 'keys.count', 'keys.publish', 'fetch']);

    const [hello, register, count, publish, fetch] = server.frames.map((f) => f.frame);
    expect(hello).toEqual({ action: 'hello', rid: expect.any(String) });
    expect(count).toEqual({ action: 'keys.count', rid: expect.any(String) });
    expect(fetch).toEqual({ action: 'fetch', rid: expect.any(String) });
    expect(Object.keys(register).sort()).toEqual(['action', 'identityKey', 'identitySig', 'rid']);
    const pk = server.upgrades[0]!.query.get('pk')!;
    expect(verifyEd25519(pk, signedKeyMessage(IDENTITY_CONTEXT, fromBase64Url(register.identityKey)), register.identitySig)).toBe(true);
    expect(
      verifyEd25519(pk, signedKeyMessage(SIGNED_PREKEY_CONTEXT, fromBase64Url(publish.signedPrekey.publicKey)), publish.signedPrekey.signature),
    ).toBe(true);
    expect(publish.oneTimePrekeys).toHaveLength(Limits.maxPrekeysPerPublish);
    const keyIds = [publish.signedPrekey.keyId, ...publish.oneTimePrekeys.map((k: { keyId: number }) => k.keyId)];
    expect(new Set(keyIds).size).toBe(keyIds.length);
    expect(new Set(server.frames.map((f) => f.frame.rid)).size).toBe(server.frames.length);
    // Private halves of published prekeys are kept.
    expect(await store.list('prekeys/one-time/')).toHaveLength(Limits.maxPrekeysPerPublish);
    expect(await store.list('prekeys/signed/')).toHaveLength(1);
    await first.close();

    const again = await connected(server, { store });
    clients.push(again);
    expect(again.userId).toBe(user);
    expect(server.upgrades[1]!.query.has('pk')).toBe(false);
    expect(server.upgrades[1]!.query.get('nonce')).not.toBe(server.upgrades[0]!.query.get('nonce'));
    expect(server.frames.filter((f) => f.connection === 2).map((f) => f.frame.action)).toEqual(['hello', 'keys.count', 'fetch']);
  });

  it('tops up one-time prekeys when the server runs low', async () => {
    const store = new MemoryStore();
    const first = await connected(server, { store });
    await first.close();
    const keys = server.prekeys.get(`${first.userId}#1`)!;
    keys.oneTime.splice(0, keys.oneTime.length - 10);

    clients.push(await connected(server, { store }));
    const publishes = server.framesOf(first.userId, 'keys.publish');
    expect(publishes).toHaveLength(2);
    expect(publishes[1].signedPrekey).toBeUndefined();
    expect(publishes[1].oneTimePrekeys).toHaveLength(Limits.maxPrekeysPerPublish - 10);
    const firstIds = new Set(publishes[0].oneTimePrekeys.map((k: { keyId: number }) => k.keyId));
    expect(publishes[1].oneTimePrekeys.some((k: { keyId: number }) => firstIds.has(k.keyId))).toBe(false);
  });

  it('on a keys.low push while connected, tops one-time prekeys back up to a full publish, once per push burst', async () => {
    const client = await connected(server);
    clients.push(client);
    const keys = server.prekeys.get(`${client.userId}#1`)!;
    keys.oneTime.splice(0, 30);
    for (const c of server.live(client.userId)) {
      c.send({ type: 'keys.low', device: 1, remaining: 70 });
      c.send({ type: 'keys.low', device: 1, remaining: 70 });
      // Another device's shortage is that device's to fill.
      c.send({ type: 'keys.low', device: 2, remaining: 0 });
    }
    await waitFor(() => server.framesOf(client.userId, 'keys.publish').length === 2);
    const publishes = server.framesOf(client.userId, 'keys.publish');
    expect(publishes[1]).toEqual({ action: 'keys.publish', rid: expect.any(String), oneTimePrekeys: expect.any(Array) });
    expect(publishes[1].oneTimePrekeys).toHaveLength(30);
    const firstIds = new Set(publishes[0].oneTimePrekeys.map((k: { keyId: number }) => k.keyId));
    expect(publishes[1].oneTimePrekeys.some((k: { keyId: number }) => firstIds.has(k.keyId))).toBe(false);
    expect(keys.oneTime).toHaveLength(Limits.maxPrekeysPerPublish);
  });

  it.each([401, 403])('rejects with UNAUTHORIZED when the upgrade is refused with %i', async (status) => {
    server.refuseUpgrades = status;
    const client = await clientFor(server);
    clients.push(client);
    const err = await rejectionOf(client.connect());
    expect(EbbError.is(err, 'UNAUTHORIZED')).toBe(true);
    expect((err as EbbError).retryable).toBe(false);
    expect(server.upgrades).toHaveLength(1);
  });

  it('retries an unreachable service and gives up with a retryable INTERNAL at the timeout', async () => {
    server.refuseUpgrades = 503;
    const client = await clientFor(server, { timeoutMs: 1000 });
    clients.push(client);
    const err = await rejectionOf(client.connect());
    expect(EbbError.is(err, 'INTERNAL')).toBe(true);
    expect((err as EbbError).retryable).toBe(true);
    expect(server.upgrades.length).toBeGreaterThan(1);
    await new Promise((r) => setTimeout(r, 50)); // an attempt already on the wire may still land
    const attempts = server.upgrades.length;
    await new Promise((r) => setTimeout(r, 100));
    expect(server.upgrades.length).toBe(attempts); // gave up: no more attempts

    server.refuseUpgrades = null;
    // connect() may be called again, and now connects (one of a few tries: a busy machine can take 1000 ms).
    expect(await succeedsWithin(5, () => client.connect())).toBe(true);
  });

  it('says at once that the connection was refused at the URL, as a retryable INTERNAL with reason unreachable', async () => {
    const port = await closedPort();
    const client = await EbbClient.create({ url: `ws://127.0.0.1:${port}`, timeoutMs: 30_000, reconnect: { baseDelayMs: 5, maxDelayMs: 50 } });
    clients.push(client);
    const started = Date.now();
    const err = await rejectionOf(client.connect());
    expect(Date.now() - started).toBeLessThan(2000);
    expect(EbbError.is(err, 'INTERNAL')).toBe(true);
    expect((err as EbbError).retryable).toBe(true);
    expect((err as EbbError).reason).toBe('unreachable');
    // The signed query is a credential: the message names the URL without it.
    expect((err as EbbError).message).toBe(`connection refused at ws://127.0.0.1:${port}: is the server running, and is this its URL?`);
    expect(((err as EbbError).cause as { code?: string }).code).toBe('ECONNREFUSED');
    // Back to idle: connect() may be called again, and fails the same way.
    expect(((await rejectionOf(client.connect())) as EbbError).reason).toBe('unreachable');
  });

  it('rejects connect() with the server error when registration is refused, and status() still works', async () => {
    server.intercept = (c, f) => {
      if (f.action !== 'register') return false;
      c.error(f.rid, 'SIGNUPS_CLOSED', 'signups are closed', false);
      return true;
    };
    const client = await clientFor(server);
    clients.push(client);
    const err = await rejectionOf(client.connect());
    expect(EbbError.is(err, 'SIGNUPS_CLOSED')).toBe(true);
    expect((await client.status()).phase).toBe('open');
    await expect(client.send(client.userId, 'x')).rejects.toMatchObject({ code: 'SIGNUPS_CLOSED' });
  });

  it('stays connected after a policy refusal so notices still arrive', async () => {
    server.intercept = (c, f) => {
      if (f.action !== 'hello') return false;
      c.error(f.rid, 'SERVICE_SHUT_DOWN', 'the service has shut down', false);
      return true;
    };
    const client = await clientFor(server);
    clients.push(client);
    const notices: ServiceNotice[] = [];
    client.on('notice', (n) => notices.push(n));
    await expect(client.connect()).rejects.toMatchObject({ code: 'SERVICE_SHUT_DOWN', retryable: false });
    const status = server.status();
    server.live(client.userId)[0]!.send({ type: 'notice', phase: 'shut-down', schedule: status.schedule, serverTime: 1 });
    await new Promise((r) => setTimeout(r, 50));
    expect(notices.map((n) => n.phase)).toEqual(['shut-down']);
  });

  it('uses an injected WebSocket constructor', async () => {
    let constructed = 0;
    class Counting extends WebSocket {
      constructor(url: string) {
        super(url);
        constructed++;
      }
    }
    const client = await clientFor(server, { WebSocket: Counting });
    clients.push(client);
    await client.connect();
    expect(constructed).toBe(1);
  });

  it('reports a failing store as a retryable INTERNAL with the cause', async () => {
    const failure = new Error('disk full');
    const store: KeyStore = { get: async () => undefined, set: async () => Promise.reject(failure), delete: async () => {}, list: async () => [] };
    const err = await rejectionOf(EbbClient.create({ url: server.url, store }));
    expect(err).toMatchObject({ name: 'EbbError', code: 'INTERNAL', retryable: true, cause: failure });
  });

  it('keeps the identity in the store: same store, same user id', async () => {
    const store = new MemoryStore();
    const a = await EbbClient.create({ url: server.url, store });
    const b = await EbbClient.create({ url: server.url, store });
    const c = await EbbClient.create({ url: server.url });
    expect(b.userId).toBe(a.userId);
    expect(c.userId).not.toBe(a.userId);
    const saved = JSON.parse((await store.get('identity'))!);
    const signing = nacl.sign.keyPair.fromSeed(fromBase64Url(saved.signingSeed));
    expect(userIdOf(Buffer.from(signing.publicKey).toString('base64url'))).toBe(a.userId);
  });

  it('rejects invalid options with BAD_REQUEST', async () => {
    for (const options of [{ url: 'http://x' }, { url: 'nope' }, { url: server.url, device: 0 }, { url: server.url, device: 17 }]) {
      await expect(EbbClient.create(options)).rejects.toMatchObject({ name: 'EbbError', code: 'BAD_REQUEST', retryable: false });
    }
    const idle = await clientFor(server);
    await expect(idle.send(idle.userId, 'x')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

/** A port on which nothing listens: bound by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
