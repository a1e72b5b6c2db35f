import nacl from 'tweetnacl';
import { type EbbClient, EbbError } from '../../client-sdk/src';
import type { Identity } from '../../client-sdk/src/identity/identity';
import { certifyDevice } from '../../client-sdk/src/identity/keys';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { SIGNED_PREKEY_CONTEXT, signedKeyMessage } from '../../protocol/connect';
import { Limits } from '../../protocol/limits';
import { FakeServer } from './fake-server';
import { connected, inbox, rejectionOf, waitFor } from './helpers';

describe('sending', () => {
  let server: FakeServer;
  let alice: EbbClient;
  let bob: EbbClient;
  const clients: EbbClient[] = [];
  beforeEach(async () => {
    server = await FakeServer.start();
    bob = await connected(server);
    alice = await connected(server);
    clients.push(alice, bob);
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await server.close();
  });

  /**
   * Gives Bob more devices as linking does: each with its own signing key, certified by Bob's account key, and a
   * signed prekey it signed (device 1's public prekey: these devices never decrypt).
   */
  function addBobDevices(devices: readonly number[]): void {
    const account = server.accounts.get(bob.userId)!;
    const signed = server.prekeys.get(`${bob.userId}#1`)!.signed!;
    const accountSecret = (bob as unknown as { identity: Identity }).identity.signingSecretKey!;
    for (const d of devices) {
      if (d === 1) continue;
      const signing = nacl.sign.keyPair();
      const cert = toBase64Url(certifyDevice(signing.publicKey, accountSecret));
      account.linked.set(d, { signingKey: toBase64Url(signing.publicKey), cert, name: null, linkedAt: Date.now() });
      account.devices.add(d);
      const signature = nacl.sign.detached(signedKeyMessage(SIGNED_PREKEY_CONTEXT, fromBase64Url(signed.publicKey)), signing.secretKey);
      server.prekeys.set(`${bob.userId}#${d}`, { signed: { ...signed, signature: toBase64Url(signature) }, oneTime: [] });
    }
  }

  /** Makes the server answer the next `action` with an error. */
  function failNext(action: string, code: string, retryable: boolean, retryAfterSeconds?: number): void {
    server.intercept = (c, f) => {
      if (f.action !== action) return false;
      server.intercept = null;
      c.send({
        type: 'error',
        rid: f.rid,
        code,
        message: `refused: ${code}`,
        retryable,
        ...(retryAfterSeconds !== undefined && { retryAfterSeconds }),
      });
      return true;
    };
  }

  it('sends exactly the frames of the protocol', async () => {
    const sent = await alice.send(bob.userId, 'hi', { expiresInSeconds: 60 });
    expect(server.actions(alice.userId).slice(-2)).toEqual(['keys.bundle', 'send']);
    expect(server.framesOf(alice.userId, 'keys.bundle')).toEqual([{ action: 'keys.bundle', rid: expect.any(String), user: bob.userId }]);
    const [frame] = server.framesOf(alice.userId, 'send');
    expect(frame).toEqual({
      action: 'send',
      rid: expect.any(String),
      id: sent.id,
      to: bob.userId,
      messages: [{ device: 1, ciphertext: expect.any(String), commitment: expect.any(String) }],
      expiresInSeconds: 60,
    });
    const ciphertext = fromBase64Url(frame.messages[0].ciphertext);
    expect([...ciphertext.subarray(0, 2)]).toEqual([2, 1]); // version 2, a prekey message: Bob has not replied
    expect(sent.sentAt).toEqual(new Date(server.queue(bob.userId)[0]?.sentAt ?? sent.sentAt.getTime()));

    await alice.send(bob.userId, 'again');
    expect(server.framesOf(alice.userId, 'keys.bundle')).toHaveLength(1); // the peer is cached
  });

  it.each([
    ['RATE_LIMITED', true, 60], // longer than the 30 s timeout: not waited out
    ['SERVICE_READ_ONLY', false, undefined],
    ['FORBIDDEN', false, undefined],
  ] as const)('turns an error frame %s into an EbbError', async (code, retryable, retryAfterSeconds) => {
    failNext('send', code, retryable, retryAfterSeconds);
    const err = await rejectionOf(alice.send(bob.userId, 'x'));
    expect(err).toBeInstanceOf(EbbError);
    expect(EbbError.is(err, code)).toBe(true);
    expect(EbbError.is(err, 'NOT_FOUND')).toBe(false);
    expect(err).toMatchObject({ name: 'EbbError', code, retryable, message: `refused: ${code}` });
    expect((err as EbbError).retryAfterSeconds).toBe(retryAfterSeconds);
  });

  it('waits out a short RATE_LIMITED and sends the same message again', async () => {
    failNext('send', 'RATE_LIMITED', true, 1);
    const started = Date.now();
    const sent = await alice.send(bob.userId, 'patient');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    const frames = server.framesOf(alice.userId, 'send');
    expect(frames).toHaveLength(2);
    expect(frames.map((f) => f.id)).toEqual([sent.id, sent.id]);
  });

  it('reports an error code it does not know as INTERNAL', async () => {
    failNext('send', 'SOMETHING_NEW', true);
    await expect(alice.send(bob.userId, 'x')).rejects.toMatchObject({ code: 'INTERNAL', retryable: true });
  });

  it('rejects a message over maxCiphertextBytes with PAYLOAD_TOO_LARGE and sends nothing', async () => {
    server.limits = { ...server.limits, maxCiphertextBytes: 1024 };
    // 1024 bytes leave room for ~470 bytes of content: prefix, ratchet header, AEAD and plaintext header (with the delivery token).
    const small = await connected(server);
    clients.push(small);
    const before = server.frames.length;
    const err = await rejectionOf(small.send(bob.userId, new Uint8Array(1000)));
    expect(EbbError.is(err, 'PAYLOAD_TOO_LARGE')).toBe(true);
    expect((err as EbbError).retryable).toBe(false);
    expect(server.frames.slice(before)).toEqual([]);

    await small.send(bob.userId, new Uint8Array(450));
    const [frame] = server.framesOf(small.userId, 'send');
    expect(fromBase64Url(frame.messages[0].ciphertext).length).toBeLessThanOrEqual(1024);
  });

  it('splits a send to many devices over frames under 32 KiB, one id for all', async () => {
    const devices = Array.from({ length: Limits.maxDevicesAtOnce }, (_, i) => i + 1);
    addBobDevices(devices);
    const received = inbox(bob);
    const sent = await alice.send(bob.userId, new Uint8Array(10_000));

    const frames = server.frames.filter((f) => f.user === alice.userId && f.frame.action === 'send');
    expect(frames.length).toBeGreaterThan(1);
    for (const f of frames) {
      expect(f.bytes).toBeLessThan(Limits.maxFrameBytes);
      expect(f.frame.id).toBe(sent.id);
      expect(f.frame.to).toBe(bob.userId);
    }
    const addressed = frames.flatMap((f) => f.frame.messages.map((m: { device: number }) => m.device));
    expect(addressed.sort((a, b) => a - b)).toEqual(devices);
    // Device 1 is Bob's live client: it may already have received and acked its copy.
    for (const d of devices.filter((d) => d !== 1)) expect(server.queue(bob.userId, d)).toHaveLength(1);
    await waitFor(() => received.some((m) => m.id === sent.id));
  });

  it('forgets the devices the server says are stale and sends the same id to the ones it says are missing', async () => {
    addBobDevices([2]);
    await alice.send(bob.userId, 'to both');
    server.accounts.get(bob.userId)!.devices.delete(2);
    addBobDevices([3]);
    const received = inbox(bob);

    const sent = await alice.send(bob.userId, 'after the change');
    expect(server.actions(alice.userId).slice(-3)).toEqual(['send', 'keys.bundle', 'send']);
    const [, named, completed] = server.framesOf(alice.userId, 'send');
    expect(named.messages.map((m: { device: number }) => m.device)).toEqual([1, 2]);
    expect(completed.messages.map((m: { device: number }) => m.device)).toEqual([3]);
    expect(completed.id).toBe(sent.id);
    expect(server.framesOf(alice.userId, 'keys.bundle').at(-1)).toMatchObject({ user: bob.userId, device: 3 });
    await waitFor(() => received.some((m) => m.text === 'after the change'));

    await alice.send(bob.userId, 'settled');
    expect(
      server
        .framesOf(alice.userId, 'send')
        .at(-1)
        .messages.map((m: { device: number }) => m.device),
    ).toEqual([1, 3]);
  });

  it('encrypts nothing to a device the account did not certify (a ghost the server added)', async () => {
    await alice.send(bob.userId, 'before');
    const signed = server.prekeys.get(`${bob.userId}#1`)!.signed!;
    const ghosts = [nacl.sign.keyPair(), nacl.sign.keyPair()];
    const stranger = nacl.sign.keyPair();
    const ghostDevices = ghosts.map((ghost, i) => {
      // One certified by another account's key, one whose "cert" is its own signature: neither is Bob's.
      const cert = certifyDevice(ghost.publicKey, i === 0 ? stranger.secretKey : ghost.secretKey);
      const signature = nacl.sign.detached(signedKeyMessage(SIGNED_PREKEY_CONTEXT, fromBase64Url(signed.publicKey)), ghost.secretKey);
      return server.addGhost(bob.userId, ghost, toBase64Url(cert), { ...signed, signature: toBase64Url(signature) });
    });

    const bundlesBefore = server.framesOf(alice.userId, 'keys.bundle').length;
    await alice.send(bob.userId, 'after');
    await alice.send(bob.userId, 'again');
    for (const frame of server.framesOf(alice.userId, 'send')) {
      expect(frame.messages.map((m: { device: number }) => m.device)).toEqual([1]);
    }
    for (const d of ghostDevices) expect(server.queue(bob.userId, d)).toEqual([]);
    // The ghosts' keys are fetched once (one bundle for both), when a send answer first names them, then ignored.
    expect(server.framesOf(alice.userId, 'keys.bundle')).toHaveLength(bundlesBefore + 1);

    // A new sender that fetches the full bundle ignores them as well.
    const carol = await connected(server);
    clients.push(carol);
    await carol.send(bob.userId, 'hello');
    expect(server.framesOf(carol.userId, 'send')[0].messages.map((m: { device: number }) => m.device)).toEqual([1]);
  });

  it('publishes its delivery token once before its first message, and presents the peer token once a message brought it', async () => {
    const received = inbox(bob);
    await alice.send(bob.userId, 'first');
    await alice.send(bob.userId, 'second');
    const [published, ...again] = server.framesOf(alice.userId, 'deliveryToken.set');
    expect(published).toEqual({ action: 'deliveryToken.set', rid: expect.any(String), token: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(again).toEqual([]);
    const actions = server.actions(alice.userId);
    expect(actions.indexOf('deliveryToken.set')).toBeLessThan(actions.indexOf('send'));
    // Bob never wrote to Alice: her sends name no token of his.
    expect(server.framesOf(alice.userId, 'send').map((f) => f.deliveryToken)).toEqual([undefined, undefined]);

    await waitFor(() => received.length === 2);
    const aliceReceived = inbox(alice);
    await bob.send(alice.userId, 'reply');
    // Bob learnt Alice's token from her messages and presents it.
    expect(server.framesOf(bob.userId, 'send')[0].deliveryToken).toBe(published.token);
    await waitFor(() => aliceReceived.length === 1);
    await alice.send(bob.userId, 'third');
    expect(server.framesOf(alice.userId, 'send')[2].deliveryToken).toBe(server.deliveryTokens.get(bob.userId));
  });

  it('rotates its delivery token: the new one is published at once and carried by the next message', async () => {
    await alice.send(bob.userId, 'before');
    const old = server.deliveryTokens.get(alice.userId);
    await alice.rotateDeliveryToken();
    const rotated = server.deliveryTokens.get(alice.userId);
    expect(rotated).toEqual(expect.any(String));
    expect(rotated).not.toBe(old);
    const received = inbox(bob);
    await alice.send(bob.userId, 'after');
    await waitFor(() => received.length === 1);
    await bob.send(alice.userId, 'reply');
    expect(server.framesOf(bob.userId, 'send')[0].deliveryToken).toBe(rotated);
  });

  it('rejects with NOT_FOUND for a user without an account', async () => {
    const nobody = 'A'.repeat(32);
    await expect(alice.send(nobody, 'x')).rejects.toMatchObject({ code: 'NOT_FOUND', retryable: false });
    expect(server.framesOf(alice.userId, 'send')).toEqual([]);
  });

  it('keeps the order of sends to one recipient', async () => {
    const received = inbox(bob);
    const texts = Array.from({ length: 6 }, (_, i) => `#${i}`);
    await Promise.all(texts.map((t) => alice.send(bob.userId, t)));
    await waitFor(() => received.length === texts.length);
    expect(received.map((m) => m.text)).toEqual(texts);
  });

  it('rejects invalid arguments with BAD_REQUEST before sending', async () => {
    const before = server.frames.length;
    const bad: Array<() => Promise<unknown>> = [
      () => alice.send('not-a-user', 'x'),
      () => alice.send(bob.userId, 42 as unknown as string),
      () => alice.send(bob.userId, 'x', { expiresInSeconds: 0 }),
      () => alice.send(bob.userId, 'x', { burnAfterReadingSeconds: 1.5 }),
    ];
    for (const call of bad) await expect(call()).rejects.toMatchObject({ code: 'BAD_REQUEST', retryable: false });
    expect(server.frames.length).toBe(before);
  });

  it('answers status() with the service status', async () => {
    const status = await alice.status();
    expect(status).toEqual({ phase: 'open', schedule: expect.any(Object), limits: server.limits, serverTime: expect.any(Number) });
    expect(server.framesOf(alice.userId, 'status')).toEqual([{ action: 'status', rid: expect.any(String) }]);
  });
});
