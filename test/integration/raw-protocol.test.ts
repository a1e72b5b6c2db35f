import nacl from 'tweetnacl';
import { ApiGatewayManagementApiClient, GetConnectionCommand, GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { connect } from 'node:net';
import WebSocket from 'ws';
import { toBase64Url } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import { LOCAL_AWS } from '../../local/dynamo';
import { connectUrl, makeIdentity, messageId, registerFrame, type TestIdentity } from '../support/identity';
import { RawSocket } from '../support/raw-socket';
import { UNTHROTTLED } from '../support/local-stack';
import { anyCommitment } from '../support/franking';

let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
});
afterAll(() => stack.stop());

async function registeredSocket(id: TestIdentity = makeIdentity()): Promise<{ id: TestIdentity; socket: RawSocket }> {
  const socket = await RawSocket.open(connectUrl(stack.url, id));
  const reply = await socket.request(registerFrame(id));
  expect(reply).toMatchObject({ type: 'result', created: true });
  return { id, socket };
}

function errorOf(reply: Record<string, unknown>) {
  return { type: reply.type, code: reply.code, rid: reply.rid, retryable: reply.retryable };
}

describe('connect authentication', () => {
  it('accepts a signed connect and answers hello with the schedule', async () => {
    const alice = makeIdentity();
    const socket = await RawSocket.open(connectUrl(stack.url, alice));
    const reply = await socket.request({ action: 'hello', rid: 'h1' });
    expect(reply).toMatchObject({ type: 'result', rid: 'h1', userId: alice.uid, device: 1, registered: false, status: { phase: 'open' } });
    await socket.close();
  });

  it.each([
    ['no query at all', (base: string) => `${base}/`],
    ['a forged signature', (base: string) => connectUrl(base, makeIdentity(), { signWith: nacl.sign.keyPair().secretKey })],
    ['a stale timestamp', (base: string) => connectUrl(base, makeIdentity(), { ts: Date.now() - 120_000 })],
    ['an unregistered identity without pk', (base: string) => connectUrl(base, makeIdentity(), { withPk: false })],
  ])('refuses %s with 401', async (_name, url) => {
    await expect(RawSocket.open(url(stack.url))).rejects.toMatchObject({ status: 401 });
  });

  it('refuses a replayed connect', async () => {
    const alice = makeIdentity();
    const url = connectUrl(stack.url, alice);
    const first = await RawSocket.open(url);
    await first.close();
    await expect(RawSocket.open(url)).rejects.toMatchObject({ status: 401 });
  });
});

describe('bad input over an authenticated socket', () => {
  let socket: RawSocket;
  beforeAll(async () => {
    socket = (await registeredSocket()).socket;
  });
  afterAll(() => socket.close());

  it.each([
    ['non-JSON', 'this is not json', null],
    ['an unknown action', JSON.stringify({ action: 'explode', rid: 'u1' }), 'u1'],
    ['a missing action', JSON.stringify({ rid: 'u2' }), 'u2'],
    ['missing fields', JSON.stringify({ action: 'send', rid: 'm1' }), 'm1'],
    ['wrong types', JSON.stringify({ action: 'send', rid: 'w1', id: 5, to: [], messages: 'x' }), 'w1'],
    ['an invalid rid', JSON.stringify({ action: 'hello', rid: '' }), null],
    ['a JSON array', '[1,2,3]', null],
    ['a fetch with a foreign cursor', JSON.stringify({ action: 'fetch', rid: 'c1', after: 'd#x' }), 'c1'],
  ])('%s → BAD_REQUEST, and the connection still works', async (_name, text, rid) => {
    const reply = await socket.sendRaw(text);
    expect(errorOf(reply)).toEqual({ type: 'error', code: 'BAD_REQUEST', rid, retryable: false });
    expect(String(reply.message)).not.toMatch(/at .*\.ts|Error:/);
    expect(await socket.request({ action: 'status' })).toMatchObject({ type: 'result', phase: 'open' });
  });

  it('oversize ciphertext → PAYLOAD_TOO_LARGE and nothing queued', async () => {
    const { id: bob, socket: bobSocket } = await registeredSocket();
    const reply = await socket.request({
      action: 'send',
      id: messageId(),
      to: bob.uid,
      messages: [{ device: 1, ciphertext: toBase64Url(nacl.randomBytes(16385)), commitment: anyCommitment() }],
    });
    expect(errorOf(reply)).toMatchObject({ type: 'error', code: 'PAYLOAD_TOO_LARGE' });
    expect(await bobSocket.request({ action: 'fetch' })).toMatchObject({ messages: [], more: false });
    await bobSocket.close();
  });

  it('a send to an unknown user → NOT_FOUND', async () => {
    const reply = await socket.request({
      action: 'send',
      id: messageId(),
      to: makeIdentity().uid,
      messages: [{ device: 1, ciphertext: 'AAAA', commitment: anyCommitment() }],
    });
    expect(errorOf(reply)).toMatchObject({ type: 'error', code: 'NOT_FOUND' });
  });

  it('a single frame over 32 KB closes the connection with 1009, as API Gateway does', async () => {
    const victim = (await registeredSocket()).socket;
    victim.ws.send('x'.repeat(33 * 1024));
    expect((await victim.waitClosed()).code).toBe(1009);
  });

  it('a 40 KB message in 32 KB frames passes the frame limit and is answered', async () => {
    const reply = socket.next((f) => f.rid === 'big');
    const text = JSON.stringify({ action: 'status', rid: 'big', pad: 'x'.repeat(40 * 1024) });
    const half = Math.ceil(text.length / 2);
    socket.ws.send(text.slice(0, half), { fin: false });
    socket.ws.send(text.slice(half), { fin: true });
    // status ignores unknown keys, so the 40 KB frame is a valid request.
    await expect(reply).resolves.toMatchObject({ rid: 'big', type: 'result' });
  });
});

describe('delivery through the emulator', () => {
  it('pushes to an online recipient; an offline recipient drains in order exactly once; acked messages stay gone', async () => {
    const { id: alice, socket: aliceSocket } = await registeredSocket();
    const { id: bob, socket: bobSocket } = await registeredSocket();

    const live = messageId();
    await aliceSocket.request({
      action: 'send',
      id: live,
      to: bob.uid,
      messages: [{ device: 1, ciphertext: 'AAAAAAAA', commitment: anyCommitment() }],
    });
    expect(await bobSocket.nextPush()).toMatchObject({ type: 'message', id: live, from: { user: alice.uid, device: 1 } });
    await bobSocket.close();

    const offline: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = messageId();
      offline.push(id);
      await aliceSocket.request({
        action: 'send',
        id,
        to: bob.uid,
        messages: [{ device: 1, ciphertext: toBase64Url(new Uint8Array([i, i, i])), commitment: anyCommitment() }],
      });
    }
    // The retried send is answered as a duplicate and queued once.
    const retry = await aliceSocket.request({
      action: 'send',
      id: offline[2],
      to: bob.uid,
      messages: [{ device: 1, ciphertext: 'AgIC', commitment: anyCommitment() }],
    });
    expect(retry).toMatchObject({ type: 'result', duplicate: true });

    const again = await RawSocket.open(connectUrl(stack.url, bob, { withPk: false }));
    const page = await again.request({ action: 'fetch' });
    const messages = page.messages as { id: string; sentAt: number }[];
    expect(messages.map((m) => m.id)).toEqual([live, ...offline]);
    expect(await again.request({ action: 'ack', messages: messages.map(({ id, sentAt }) => ({ id, sentAt })) })).toMatchObject({ acked: 6 });
    expect(await again.request({ action: 'fetch' })).toMatchObject({ messages: [], more: false });
    await Promise.all([again.close(), aliceSocket.close()]);
  });

  it('cleans up a stale connection when API Gateway says it is gone', async () => {
    const { id: alice, socket: aliceSocket } = await registeredSocket();
    const { id: bob } = await registeredSocket();
    // A recipient connection record whose socket API Gateway no longer knows (a missed $disconnect).
    await stack.ports.connections.put({
      connectionId: 'stale-connection',
      userId: bob.uid,
      device: 1,
      connectedAt: Date.now(),
      expiresAt: Math.ceil(Date.now() / 1000) + 3600,
    });
    await aliceSocket.request({
      action: 'send',
      id: messageId(),
      to: bob.uid,
      messages: [{ device: 1, ciphertext: 'AAAA', commitment: anyCommitment() }],
    });
    const left = await stack.ports.connections.ofUser(bob.uid, Date.now());
    expect(left.map((c) => c.connectionId)).not.toContain('stale-connection');
    expect((await stack.ports.connections.ofUser(alice.uid, Date.now())).length).toBe(1);
    await aliceSocket.close();
  });
});

describe('the @connections endpoint', () => {
  it('serves the real management API client: POST, GET, and GoneException for unknown ids', async () => {
    const { id: alice, socket } = await registeredSocket();
    const [record] = await stack.ports.connections.ofUser(alice.uid, Date.now());
    const client = new ApiGatewayManagementApiClient({ endpoint: stack.callbackUrl, ...LOCAL_AWS });
    const pushed = socket.next((f) => f.type === 'notice');
    await client.send(new PostToConnectionCommand({ ConnectionId: record!.connectionId, Data: new TextEncoder().encode('{"type":"notice"}') }));
    await expect(pushed).resolves.toEqual({ type: 'notice' });
    const info = await client.send(new GetConnectionCommand({ ConnectionId: record!.connectionId }));
    expect(info.ConnectedAt).toBeInstanceOf(Date);
    expect(info.Identity?.SourceIp).toBe('127.0.0.1');
    await expect(client.send(new PostToConnectionCommand({ ConnectionId: 'nope', Data: new Uint8Array(1) }))).rejects.toBeInstanceOf(GoneException);
    client.destroy();
    await socket.close();
  });

  it('disconnect removes the connection record', async () => {
    const { id, socket } = await registeredSocket();
    expect(await stack.ports.connections.ofUser(id.uid, Date.now())).toHaveLength(1);
    await socket.close();
    for (let i = 0; i < 50 && (await stack.ports.connections.ofUser(id.uid, Date.now())).length > 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(await stack.ports.connections.ofUser(id.uid, Date.now())).toHaveLength(0);
  });
});

describe('connection limits', () => {
  it('closes idle connections with 1001 Going away', async () => {
    const quick = await startLocalStack({ port: 0, idleTimeoutMs: 200, config: { rateLimits: UNTHROTTLED } });
    try {
      const socket = await RawSocket.open(connectUrl(quick.url, makeIdentity()));
      expect(await socket.waitClosed()).toEqual({ code: 1001, reason: 'Going away' });
    } finally {
      await quick.stop();
    }
  });

  it('closes connections at the maximum duration even when busy', async () => {
    const quick = await startLocalStack({ port: 0, maxConnectionMs: 300, config: { rateLimits: UNTHROTTLED } });
    try {
      const socket = await RawSocket.open(connectUrl(quick.url, makeIdentity()));
      const timer = setInterval(() => socket.ws.readyState === WebSocket.OPEN && socket.ws.send('{"action":"status","rid":"s"}'), 50);
      expect((await socket.waitClosed()).code).toBe(1001);
      clearInterval(timer);
    } finally {
      await quick.stop();
    }
  });
});

describe('stopping the stack', () => {
  it('waits for $disconnect handlers of sockets the clients just closed', async () => {
    const quick = await startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } });
    const sockets = await Promise.all(Array.from({ length: 5 }, () => RawSocket.open(connectUrl(quick.url, makeIdentity()))));
    const disconnects: Promise<void>[] = sockets.map((s) => s.close());
    await Promise.all(disconnects);
    // The $disconnect integrations are still running now; storage must outlive them.
    await expect(quick.stop()).resolves.toBeUndefined();
  });
});

describe('malformed HTTP', () => {
  /** One raw request line over TCP; resolves with the status line the stack answers. */
  function rawRequest(lines: string): Promise<string> {
    const { port } = new URL(stack.url.replace('ws://', 'http://'));
    return new Promise((resolve, reject) => {
      const socket = connect(Number(port), '127.0.0.1', () => socket.write(lines));
      let data = '';
      socket.on('data', (chunk) => (data += chunk.toString()));
      socket.on('end', () => resolve(data.split('\r\n')[0] ?? ''));
      socket.on('error', reject);
    });
  }

  it('answers an unparsable request target 400, as a plain request and as an upgrade, and keeps serving', async () => {
    expect(await rawRequest('GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')).toBe('HTTP/1.1 400 Bad Request');
    const upgrade =
      'GET //[?uid=a HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n';
    expect(await rawRequest(upgrade)).toBe('HTTP/1.1 400 Bad Request');
    const socket = await RawSocket.open(connectUrl(stack.url, makeIdentity()));
    expect(await socket.request({ action: 'status' })).toMatchObject({ type: 'result' });
    await socket.close();
  });
});
