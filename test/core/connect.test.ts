import nacl from 'tweetnacl';
import { hello, register } from '../../lambdas/core/accounts';
import { authorizeConnect } from '../../lambdas/core/connect';
import { fetch } from '../../lambdas/core/delivery';
import { countOwnPrekeys, prekeyBundle, publishPrekeys } from '../../lambdas/core/prekeys';
import { Refusal } from '../../lambdas/core/refusal';
import { connectParams, makeIdentity, oneTimePrekeys, registerFrame, signedPrekey } from '../support/identity';
import { callerOf, memoryWorld } from '../support/memory-ports';

const query = (p: ReturnType<typeof connectParams>) => ({ ...p, dev: String(p.dev), ts: String(p.ts) });

describe('authorizeConnect', () => {
  it('allows a fresh signed request and hands the routes the proven signing key', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const decision = await authorizeConnect(world.ports, query(connectParams(alice, { ts: world.clock.t })));
    expect(decision).toEqual({ allow: true, context: { uid: alice.uid, dev: '1', signingKey: alice.pk } });
  });

  it.each([
    ['a forged signature', (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => connectParams(a, { ts: w.clock.t, signWith: nacl.sign.keyPair().secretKey })],
    ['a timestamp 61 s old', (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => connectParams(a, { ts: w.clock.t - 61_000 })],
    ['a timestamp 61 s ahead', (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => connectParams(a, { ts: w.clock.t + 61_000 })],
    ['an unregistered user without pk', (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => connectParams(a, { ts: w.clock.t, withPk: false })],
    ['a pk that is not the uid key', (w: ReturnType<typeof memoryWorld>, a = makeIdentity()) => ({ ...connectParams(a, { ts: w.clock.t }), pk: makeIdentity().pk })],
  ])('refuses %s', async (_name, build) => {
    const world = memoryWorld();
    const decision = await authorizeConnect(world.ports, query(build(world)));
    expect(decision.allow).toBe(false);
  });

  it('refuses a replayed nonce, and a forged request does not burn the nonce', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    const params = connectParams(alice, { ts: world.clock.t });
    const forged = { ...params, sig: connectParams(alice, { ts: world.clock.t, nonce: params.nonce, signWith: nacl.sign.keyPair().secretKey }).sig };
    expect((await authorizeConnect(world.ports, query(forged))).allow).toBe(false);
    expect((await authorizeConnect(world.ports, query(params))).allow).toBe(true);
    expect(await authorizeConnect(world.ports, query(params))).toEqual({ allow: false, reason: 'replayed nonce' });
  });

  it('refuses malformed queries without throwing', async () => {
    const world = memoryWorld();
    for (const q of [null, {}, { uid: 'x' }, { ...query(connectParams(makeIdentity())), dev: '01' }, { ...query(connectParams(makeIdentity())), ts: '-5' }]) {
      expect((await authorizeConnect(world.ports, q as never)).allow).toBe(false);
    }
  });

  it('verifies registered users against the stored signing key without pk', async () => {
    const world = memoryWorld();
    const alice = makeIdentity();
    await register(world.ports, callerOf(alice), registerFrame(alice) as never);
    expect((await authorizeConnect(world.ports, query(connectParams(alice, { ts: world.clock.t, withPk: false })))).allow).toBe(true);
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
    await expect(register(world.ports, forged, registerFrame({ ...mallory, uid: alice.uid }) as never)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
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
    await publishPrekeys(world.ports, callerOf(bob), { action: 'keys.publish', rid: 'p', signedPrekey: signedPrekey(bob), oneTimePrekeys: oneTimePrekeys(3) });
    const bundles = await Promise.all(Array.from({ length: 4 }, () => prekeyBundle(world.ports, callerOf(alice), { action: 'keys.bundle', rid: 'b', user: bob.uid })));
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
