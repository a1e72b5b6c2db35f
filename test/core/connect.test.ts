import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import nacl from 'tweetnacl';
import { hello, register } from '../../lambdas/core/accounts';
import { authorizeConnect } from '../../lambdas/core/connect';
import { fetch } from '../../lambdas/core/delivery';
import { countOwnPrekeys, prekeyBundle, publishPrekeys } from '../../lambdas/core/prekeys';
import { Refusal } from '../../lambdas/core/refusal';
import { userIdOf, verifyEd25519 } from '../../lambdas/core/signatures';
import type { AuthorizerRequestEvent } from '../../lambdas/handlers/events';
import { authorize, hostHeader } from '../../lambdas/handlers/authorize';
import { TEST_HOST, connectParams, makeIdentity, oneTimePrekeys, registerFrame, signedPrekey } from '../support/identity';
import { callerOf, memoryWorld } from '../support/memory-ports';

const query = (p: ReturnType<typeof connectParams>) => ({ ...p, dev: String(p.dev), ts: String(p.ts) });
/** The upgrade as the authorizer sees it, from the host the helpers sign for. */
const upgrade = (p: ReturnType<typeof connectParams>, host = TEST_HOST) => ({ query: query(p), host });

describe('authorizeConnect', () => {
  it('allows a fresh signed request and hands the routes the proven signing key', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const decision = await authorizeConnect(world.ports, upgrade(connectParams(alice, { ts: world.clock.t })));
    expect(decision).toEqual({ allow: true, context: { uid: alice.uid, dev: '1', signingKey: alice.pk } });
  });

  it.each([
    [
      'a forged signature',
      (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => connectParams(a, { ts: w.clock.t, signWith: nacl.sign.keyPair().secretKey }),
    ],
    ['a timestamp 61 s old', (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => connectParams(a, { ts: w.clock.t - 61_000 })],
    ['a timestamp 61 s ahead', (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => connectParams(a, { ts: w.clock.t + 61_000 })],
    [
      'an unregistered user without pk',
      (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => connectParams(a, { ts: w.clock.t, withPk: false }),
    ],
    [
      'a pk that is not the uid key',
      (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => ({ ...connectParams(a, { ts: w.clock.t }), pk: makeIdentity().pk }),
    ],
  ])('refuses %s', async (_name, build) => {
    const world = memoryWorld();
    const decision = await authorizeConnect(world.ports, upgrade(build(world)));
    expect(decision.allow).toBe(false);
  });

  it('refuses a replayed nonce, and a forged request does not burn the nonce', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const params = connectParams(alice, { ts: world.clock.t });
    const forged = { ...params, sig: connectParams(alice, { ts: world.clock.t, nonce: params.nonce, signWith: nacl.sign.keyPair().secretKey }).sig };
    expect((await authorizeConnect(world.ports, upgrade(forged))).allow).toBe(false);
    expect((await authorizeConnect(world.ports, upgrade(params))).allow).toBe(true);
    expect(await authorizeConnect(world.ports, upgrade(params))).toEqual({ allow: false, reason: 'replayed nonce' });
  });

  it('refuses malformed queries without throwing', async () => {
    const world = memoryWorld();
    for (const q of [
      null,
      {},
      { uid: 'x' },
      { ...query(connectParams(makeIdentity())), dev: '01' },
      { ...query(connectParams(makeIdentity())), ts: '-5' },
    ]) {
      expect((await authorizeConnect(world.ports, { query: q as never, host: TEST_HOST })).allow).toBe(false);
    }
  });

  it('refuses a connect signed for another host (another deployment), or with no Host header', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const signed = connectParams(alice, { ts: world.clock.t, host: 'abc123.execute-api.eu-west-1.amazonaws.com' });
    expect(await authorizeConnect(world.ports, upgrade(signed, 'def456.execute-api.eu-west-1.amazonaws.com'))).toEqual({
      allow: false,
      reason: 'bad signature',
    });
    expect(await authorizeConnect(world.ports, upgrade(signed, '127.0.0.1:8787'))).toEqual({ allow: false, reason: 'bad signature' });
    expect(await authorizeConnect(world.ports, { query: query(signed), host: undefined })).toEqual({ allow: false, reason: 'missing host' });
    // Host names are case-insensitive: the header is compared lower-cased.
    expect((await authorizeConnect(world.ports, upgrade(signed, 'ABC123.Execute-Api.eu-west-1.amazonaws.com'))).allow).toBe(true);
  });

  it('refuses a v1 signature (no host in the signed string)', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const params = connectParams(alice, { ts: world.clock.t });
    const v1 = `ebb-connect-v1\n${alice.uid}\n1\n${params.ts}\n${params.nonce}`;
    const sig = Buffer.from(nacl.sign.detached(new TextEncoder().encode(v1), alice.signing.secretKey)).toString('base64url');
    expect(await authorizeConnect(world.ports, upgrade({ ...params, sig }))).toEqual({ allow: false, reason: 'bad signature' });
  });

  it('refuses a signature or key re-spelled in the spare bits of its last character (same bytes, another string)', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const params = connectParams(alice, { ts: world.clock.t });
    // 64 bytes leave 4 spare bits in the 86th character, 32 bytes 2 in the 43rd: set the lowest one.
    const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const respell = (text: string) => text.slice(0, -1) + ALPHABET[ALPHABET.indexOf(text.at(-1)!) | 1];
    for (const changed of [{ sig: respell(params.sig) }, { pk: respell(params.pk!) }]) {
      const [field, value] = Object.entries(changed)[0]!;
      expect(Buffer.from(value, 'base64url')).toEqual(Buffer.from((params as unknown as Record<string, string>)[field]!, 'base64url'));
      expect((await authorizeConnect(world.ports, upgrade({ ...params, ...changed }))).allow).toBe(false);
    }
    expect((await authorizeConnect(world.ports, upgrade(params))).allow).toBe(true);
  });

  it('verifies registered users against the stored signing key without pk', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    await register(world.ports, callerOf(alice), registerFrame(alice) as never);
    expect((await authorizeConnect(world.ports, upgrade(connectParams(alice, { ts: world.clock.t, withPk: false })))).allow).toBe(true);
  });
});

describe('an unregistered connection', () => {
  it('may hello and register, and is refused everything else with FORBIDDEN', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const caller = callerOf(alice);
    expect(await hello(world.ports, caller)).toMatchObject({ registered: false, status: { phase: 'open' } });
    await expect(fetch(world.ports, caller, { action: 'fetch', rid: 'f' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(countOwnPrekeys(world.ports, caller)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await register(world.ports, caller, registerFrame(alice) as never);
    expect(await hello(world.ports, caller)).toMatchObject({ registered: true });
    expect(await fetch(world.ports, caller, { action: 'fetch', rid: 'f' })).toEqual({ messages: [], cursor: null, more: false });
  });

  it('cannot register with an identity key signed by another key', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const frame = { ...registerFrame(alice), identitySig: registerFrame(makeIdentity()).identitySig };
    await expect(register(world.ports, callerOf(alice), frame as never)).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(world.accounts.items.size).toBe(0);
  });

  it('registration is idempotent; another identity key signed by the same signing key rotates it', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    expect(await register(world.ports, callerOf(alice), registerFrame(alice) as never)).toMatchObject({ created: true, rotated: false });
    expect(await register(world.ports, callerOf(alice), registerFrame(alice) as never)).toMatchObject({ created: false, rotated: false });
    const reinstalled = { ...alice, identity: nacl.box.keyPair() };
    expect(await register(world.ports, callerOf(reinstalled), registerFrame(reinstalled) as never)).toMatchObject({ created: false, rotated: true });
    expect(world.accounts.items.get(alice.uid)?.identityKey).toBe(registerFrame(reinstalled).identityKey);
    expect(await hello(world.ports, callerOf(alice))).toMatchObject({ registered: true, identityKey: registerFrame(reinstalled).identityKey });
  });

  it('cannot rotate the identity key of an account held by another signing key', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    await register(world.ports, callerOf(alice), registerFrame(alice) as never);
    // A connection context claiming Alice's id with another signing key never passes the authorizer;
    // the core re-derives the id from the key and refuses it as well.
    const mallory = makeIdentity();
    const forged = { ...callerOf(alice), signingKey: mallory.pk };
    await expect(register(world.ports, forged, registerFrame({ ...mallory, uid: alice.uid }) as never)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
    });
    expect(world.accounts.items.get(alice.uid)?.identityKey).toBe(registerFrame(alice).identityKey);
  });

  it('is told SIGNUPS_CLOSED once signups close', async () => {
    const world = memoryWorld({ sunset: { signupsCloseAt: '2026-12-01T00:00:00Z' } });
    const alice = makeIdentity();
    await expect(register(world.ports, callerOf(alice), registerFrame(alice) as never)).rejects.toBeInstanceOf(Refusal);
    await expect(register(world.ports, callerOf(alice), registerFrame(alice) as never)).rejects.toMatchObject({ code: 'SIGNUPS_CLOSED' });
  });
});

describe('prekeys', () => {
  it('hands out each one-time prekey exactly once, then bundles without one', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const bob = makeIdentity();
    for (const id of [alice, bob]) await register(world.ports, callerOf(id), registerFrame(id) as never);
    await publishPrekeys(world.ports, callerOf(bob), {
      action: 'keys.publish',
      rid: 'p',
      signedPrekey: signedPrekey(bob),
      oneTimePrekeys: oneTimePrekeys(3),
    });
    const bundles = await Promise.all(
      Array.from({ length: 4 }, () => prekeyBundle(world.ports, callerOf(alice), { action: 'keys.bundle', rid: 'b', user: bob.uid })),
    );
    const handed = bundles.map((b) => b.devices[0]!.oneTimePrekey?.keyId ?? null);
    expect(handed.filter((k) => k !== null).sort()).toEqual([1, 2, 3]);
    expect(handed.filter((k) => k === null)).toHaveLength(1);
    expect(bundles.every((b) => b.devices[0]!.signedPrekey?.keyId === 1)).toBe(true);
    expect(await countOwnPrekeys(world.ports, callerOf(bob))).toEqual({ oneTimePrekeys: 0, signedPrekeyId: 1 });
  });

  it('refuses a signed prekey not signed by the account key', async () => {
    const world = memoryWorld();
    const bob = makeIdentity();
    await register(world.ports, callerOf(bob), registerFrame(bob) as never);
    await expect(
      publishPrekeys(world.ports, callerOf(bob), { action: 'keys.publish', rid: 'p', signedPrekey: signedPrekey(makeIdentity()) }),
    ).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});

describe('the Host header of the authorizer event', () => {
  const fixture = JSON.parse(
    readFileSync(join(__dirname, '../fixtures/apigw-websocket/authorizer-connect-request.json'), 'utf8'),
  ) as AuthorizerRequestEvent;

  it('is read from the recorded event shape, whatever the case of its name', () => {
    expect(hostHeader(fixture.headers)).toBe('abcdef123.execute-api.us-east-1.amazonaws.com');
    expect(hostHeader({ host: 'ebb.test' })).toBe('ebb.test');
    expect(hostHeader({ HOST: 'ebb.test', host: 'ebb.test' })).toBe('ebb.test');
  });

  it('is none when absent or sent twice with different values', () => {
    expect(hostHeader(undefined)).toBeUndefined();
    expect(hostHeader({ Connection: 'upgrade' })).toBeUndefined();
    expect(hostHeader({ Host: 'a.example', host: 'b.example' })).toBeUndefined();
  });

  it('lets the authorizer admit a connect signed for that host, in either case', async () => {
    const world = memoryWorld();
    const host = hostHeader(fixture.headers)!;
    for (const name of ['Host', 'host']) {
      const p = connectParams(makeIdentity(), { ts: world.clock.t, host });
      const event = { ...fixture, headers: { [name]: host }, queryStringParameters: query(p) };
      await expect(authorize(event, world.ports)).resolves.toMatchObject({ principalId: p.uid });
      const elsewhere = { ...event, queryStringParameters: query(connectParams(makeIdentity(), { ts: world.clock.t, host: 'other.example' })) };
      await expect(authorize(elsewhere, world.ports)).rejects.toThrow('Unauthorized');
    }
  });
});

describe('small-order signing keys', () => {
  // libsodium's crypto_sign_verify_detached blocklist (ge25519_has_small_order): the y-coordinates of the
  // eight points of order dividing 8 and the non-canonical y = p, p + 1; matched with the x sign bit either way.
  const SMALL_ORDER_Y = [
    '0000000000000000000000000000000000000000000000000000000000000000', // y = 0, order 4
    '0100000000000000000000000000000000000000000000000000000000000000', // y = 1, the identity
    '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05', // order 8
    'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a', // order 8
    'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p - 1, order 2
    'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p, non-canonical 0
    'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // y = p + 1, non-canonical 1
  ];
  const withSign = (hex: string) => {
    const bytes = Buffer.from(hex, 'hex');
    bytes[31]! |= 0x80;
    return bytes.toString('hex');
  };
  const SMALL_ORDER_KEYS = SMALL_ORDER_Y.flatMap((y) => [y, withSign(y)]).map((hex) => new Uint8Array(Buffer.from(hex, 'hex')));
  const IDENTITY = SMALL_ORDER_KEYS[2]!;
  /** R = identity, S = 0: [S]B = R + [k]A holds for A = identity and any message. */
  const TRIVIAL_SIGNATURE = new Uint8Array(64);
  TRIVIAL_SIGNATURE[0] = 1;
  const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64url');

  it('the identity point accepts one signature for every message, in both verifiers', () => {
    expect(Buffer.from(IDENTITY).toString('hex')).toBe(SMALL_ORDER_Y[1]);
    for (const message of ['connect', 'identity key']) {
      expect(verifyEd25519(IDENTITY, new TextEncoder().encode(message), TRIVIAL_SIGNATURE)).toBe(true);
      expect(nacl.sign.detached.verify(new TextEncoder().encode(message), TRIVIAL_SIGNATURE, IDENTITY)).toBe(true);
    }
  });

  it('refuses a connect with a small-order pk, signed so that it verifies', async () => {
    const world = memoryWorld();
    const query = {
      uid: userIdOf(IDENTITY),
      dev: '1',
      ts: String(world.clock.t),
      nonce: b64(nacl.randomBytes(16)),
      sig: b64(TRIVIAL_SIGNATURE),
      pk: b64(IDENTITY),
    };
    const event = {
      type: 'REQUEST',
      methodArn: 'arn:aws:execute-api:local:0:api/stage/$connect',
      headers: { Host: TEST_HOST },
      queryStringParameters: query,
      requestContext: { identity: { sourceIp: '203.0.113.5' } },
    } as unknown as AuthorizerRequestEvent;
    await expect(authorize(event, world.ports)).rejects.toThrow('Unauthorized');
    expect(world.nonces.items.size).toBe(0);
  });

  it.each(SMALL_ORDER_KEYS.map((key) => [Buffer.from(key).toString('hex'), key] as const))(
    'refuses to register the signing key %s',
    async (_hex, key) => {
      const world = memoryWorld();
      const caller = { userId: userIdOf(key), device: 1, connectionId: 'c-small', signingKey: b64(key) };
      const frame = { action: 'register', rid: 'r', identityKey: b64(nacl.box.keyPair().publicKey), identitySig: b64(TRIVIAL_SIGNATURE) };
      await expect(register(world.ports, caller, frame as never)).rejects.toMatchObject({ code: 'FORBIDDEN' });
      expect(world.accounts.items.size).toBe(0);
    },
  );
});
