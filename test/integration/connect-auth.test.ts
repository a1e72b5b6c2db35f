/**
 * Attacks on the signed connect (ARCH §4.3) through the local stack: a URL captured at one deployment
 * replayed at another, a v1 signature, and a flood of junk and forged upgrades from one address spending the
 * connects of the honest users behind it. Signatures are built here from the spec's strings, not by the
 * helpers, so the test pins the wire format.
 */
import nacl from 'tweetnacl';
import { EbbClient, MemoryStore } from '../../client-sdk/src';
import { startLocalStack, type LocalStack } from '../../local';
import { toBase64Url } from '../../protocol';
import { rawUpgrade } from '../support/fuzz-upgrade';
import { makeIdentity, type TestIdentity } from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { RawSocket } from '../support/raw-socket';

/** A connect URL to `base`, its signature over `message(ts, nonce)` by `id`. */
function signedUrl(base: string, id: TestIdentity, message: (ts: number, nonce: string) => string, signWith = id.signing.secretKey): string {
  const ts = Date.now();
  const nonce = toBase64Url(nacl.randomBytes(16));
  const sig = toBase64Url(nacl.sign.detached(new TextEncoder().encode(message(ts, nonce)), signWith));
  return `${base}/?${new URLSearchParams({ uid: id.uid, dev: '1', ts: String(ts), nonce, sig, pk: id.pk }).toString()}`;
}

const v2 = (host: string, id: TestIdentity) => (ts: number, nonce: string) => `ebb-connect-v2\n${host}\n${id.uid}\n1\n${ts}\n${nonce}`;
const v1 = (id: TestIdentity) => (ts: number, nonce: string) => `ebb-connect-v1\n${id.uid}\n1\n${ts}\n${nonce}`;

const statusOf = (url: string) =>
  RawSocket.open(url).then(
    async (socket) => {
      await socket.close();
      return 101;
    },
    (error: { status?: number }) => error.status ?? 0,
  );

describe('a connect signed for one deployment', () => {
  let a: LocalStack;
  let b: LocalStack;
  beforeAll(async () => {
    [a, b] = await Promise.all([
      startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } }),
      startLocalStack({ port: 0, config: { rateLimits: UNTHROTTLED } }),
    ]);
  });
  afterAll(() => Promise.all([a?.stop(), b?.stop()]));

  it('is accepted there, signed over "ebb-connect-v2\\n" + host + fields', async () => {
    const id = makeIdentity();
    expect(await statusOf(signedUrl(a.url, id, v2(new URL(a.url).host, id)))).toBe(101);
  });

  it('is refused at another deployment on another port within the skew window', async () => {
    const id = makeIdentity();
    const captured = signedUrl(a.url, id, v2(new URL(a.url).host, id));
    const replayed = captured.replace(a.url, b.url);
    expect(replayed).not.toBe(captured);
    expect(await statusOf(replayed)).toBe(401);
  });

  it('is refused when signed for another host name', async () => {
    const id = makeIdentity();
    const port = new URL(a.url).port;
    for (const host of ['abc123.execute-api.eu-west-1.amazonaws.com', `localhost:${port}`, '127.0.0.1', `127.0.0.2:${port}`]) {
      expect({ host, status: await statusOf(signedUrl(a.url, id, v2(host, id))) }).toEqual({ host, status: 401 });
    }
  });

  it('is checked against the Host header the client sent, not the address it reached', async () => {
    const id = makeIdentity();
    const port = new URL(a.url).port;
    const target = (host: string) => {
      const signed = new URL(signedUrl(a.url, id, v2(host, id)));
      return `${signed.pathname}${signed.search}`;
    };
    expect(await rawUpgrade(a.url, target(`localhost:${port}`), 5000, `localhost:${port}`)).toBe(101);
    expect(await rawUpgrade(a.url, target(`localhost:${port}`), 5000, `LocalHost:${port}`)).toBe(101);
    expect(await rawUpgrade(a.url, target(`127.0.0.1:${port}`), 5000, `localhost:${port}`)).toBe(401);
  });

  it('refuses a v1 signature (no host)', async () => {
    const id = makeIdentity();
    expect(await statusOf(signedUrl(a.url, id, v1(id)))).toBe(401);
  });

  it('lets an SDK client connect through a URL with a stage path, signing only the host', async () => {
    const client = await EbbClient.create({ url: `${a.url}/local`, store: new MemoryStore(), timeoutMs: 10_000 });
    try {
      await client.connect();
      expect((await client.status()).phase).toBe('open');
    } finally {
      await client.close();
    }
  });
});

describe('junk and forged upgrades from one address', () => {
  let stack: LocalStack;
  beforeAll(async () => {
    stack = await startLocalStack({ port: 0, config: { rateLimits: { ...UNTHROTTLED, connectPerMinute: 3 } } });
  });
  afterAll(() => stack?.stop());

  it('do not cost an honest user behind the same address its connect', async () => {
    const host = new URL(stack.url).host;
    const victim = makeIdentity();
    const statuses: number[] = [];
    // Forged signatures, malformed queries and unsigned upgrades: 75, past the separate failure budget (60) too.
    for (let i = 0; i < 25; i++) statuses.push(await statusOf(signedUrl(stack.url, victim, v2(host, victim), nacl.sign.keyPair().secretKey)));
    for (let i = 0; i < 25; i++) statuses.push(await rawUpgrade(stack.url, `/?uid=${victim.uid}&dev=1&ts=${Date.now()}&nonce=x&sig=y`));
    for (let i = 0; i < 25; i++) statuses.push(await rawUpgrade(stack.url, '/'));
    expect(statuses.every((s) => s === 401)).toBe(true);

    expect(await statusOf(signedUrl(stack.url, victim, v2(host, victim)))).toBe(101);
    const client = await EbbClient.create({ url: stack.url, store: new MemoryStore(), timeoutMs: 10_000 });
    try {
      await client.connect();
    } finally {
      await client.close();
    }
  });
});
