import { randomBytes } from 'node:crypto';
import { fromBase64Url, toBase64Url, type Envelope, type ReportFrame } from '../../protocol';
import { register } from '../../lambdas/core/accounts';
import { connectionOpened } from '../../lambdas/core/connect';
import { fetch, send } from '../../lambdas/core/delivery';
import { frankCommitment, verifyFrankTag } from '../../lambdas/core/franking';
import type { Caller } from '../../lambdas/core/ports';
import { Refusal } from '../../lambdas/core/refusal';
import { report } from '../../lambdas/core/reports';
import { makeIdentity, messageId, registerFrame } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';

const T0 = Date.UTC(2027, 0, 1);
const DAY = 86_400_000;
const encoder = new TextEncoder();

async function registered(world: MemoryWorld): Promise<Caller> {
  const id = makeIdentity();
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  return caller;
}

interface Sent {
  readonly envelope: Envelope;
  readonly frankKey: Uint8Array;
  readonly text: string;
}

/** Sends `text` as the SDK does: a fresh franking key and a commitment beside the (here opaque) ciphertext. */
async function sendText(world: MemoryWorld, from: Caller, to: Caller, text: string): Promise<Sent> {
  const id = messageId();
  const frankKey = new Uint8Array(randomBytes(32));
  const commitment = frankCommitment(frankKey, { from: from.userId, to: to.userId, id, kind: 'text', body: encoder.encode(text) });
  const ciphertext = toBase64Url(new Uint8Array(randomBytes(80)));
  await send(world.ports, from, {
    action: 'send',
    rid: 's',
    id,
    to: to.userId,
    messages: [{ device: 1, ciphertext, commitment: toBase64Url(commitment) }],
  });
  const page = await fetch(world.ports, to, { action: 'fetch', rid: 'f' });
  const envelope = page.messages.find((m) => m.id === id)!;
  return { envelope, frankKey, text };
}

function reportFrame(sent: Sent, overrides: Partial<ReportFrame> = {}): ReportFrame {
  const { envelope } = sent;
  return {
    action: 'report',
    rid: 'rep',
    message: { id: envelope.id, from: envelope.from, sentAt: envelope.sentAt, frank: envelope.frank },
    frankKey: toBase64Url(sent.frankKey),
    content: { kind: 'text', body: toBase64Url(encoder.encode(sent.text)) },
    reason: 'threats',
    ...overrides,
  };
}

function flipFirstBit(base64: string): string {
  const bytes = fromBase64Url(base64);
  bytes[0]! ^= 1;
  return toBase64Url(bytes);
}

async function expectRefusal(promise: Promise<unknown>, code: string) {
  await expect(promise).rejects.toBeInstanceOf(Refusal);
  await expect(promise).rejects.toMatchObject({ code });
}

describe('franking at send', () => {
  it('delivers the sender commitment with a server tag over sender, recipient, time and id', async () => {
    const world = memoryWorld({}, T0);
    const [alice, bob] = [await registered(world), await registered(world)];
    await connectionOpened(world.ports, bob);
    const sent = await sendText(world, alice, bob, 'hello');
    const pushed = world.notifier.pushes[0]!.frame as unknown as Envelope;
    expect(pushed.frank).toEqual(sent.envelope.frank);

    const key = await world.frankingKeys.current();
    expect(sent.envelope.frank.kid).toBe(key.kid);
    const delivery = {
      commitment: sent.envelope.frank.commitment,
      from: { user: alice.userId, device: 1 },
      to: { user: bob.userId, device: 1 },
      sentAt: sent.envelope.sentAt,
      id: sent.envelope.id,
    };
    expect(verifyFrankTag(key, delivery, sent.envelope.frank.tag)).toBe(true);
    expect(verifyFrankTag(key, { ...delivery, sentAt: delivery.sentAt + 1 }, sent.envelope.frank.tag)).toBe(false);
    expect(verifyFrankTag(key, { ...delivery, to: { user: alice.userId, device: 1 } }, sent.envelope.frank.tag)).toBe(false);
  });

  it('re-tags a retried send for the original time, so the pushed copies are reportable too', async () => {
    const world = memoryWorld({}, T0);
    const [alice, bob] = [await registered(world), await registered(world)];
    await connectionOpened(world.ports, bob);
    const id = messageId();
    const frame = {
      action: 'send' as const,
      rid: 's',
      id,
      to: bob.userId,
      messages: [{ device: 1, ciphertext: 'AAAA', commitment: toBase64Url(new Uint8Array(32)) }],
    };
    const first = await send(world.ports, alice, frame);
    world.clock.t += 5000;
    const retry = await send(world.ports, alice, frame);
    expect(retry).toMatchObject({ duplicate: true, sentAt: first.sentAt });
    // The retry's own copy goes out right after its put (ARCH §6.2), tagged for its own time; once the claim
    // finds the original, the original is pushed again with the original's time and tag.
    const [a, early, b] = world.notifier.pushes.map((p) => p.frame as unknown as Envelope);
    expect(world.notifier.pushes).toHaveLength(3);
    expect(b!.sentAt).toBe(a!.sentAt);
    expect(b!.frank).toEqual(a!.frank);
    const key = await world.frankingKeys.current();
    const delivery = (e: Envelope) => ({
      commitment: e.frank.commitment,
      from: { user: alice.userId, device: 1 },
      to: { user: bob.userId, device: 1 },
      sentAt: e.sentAt,
      id,
    });
    expect(early!.sentAt).toBe(first.sentAt + 5000);
    expect(verifyFrankTag(key, delivery(early!), early!.frank.tag)).toBe(true);
    expect(verifyFrankTag(key, delivery(b!), b!.frank.tag)).toBe(true);
  });
});

describe('report', () => {
  let world: MemoryWorld;
  let alice: Caller;
  let bob: Caller;
  let carol: Caller;
  let sent: Sent;
  beforeEach(async () => {
    world = memoryWorld({}, T0);
    [alice, bob, carol] = [await registered(world), await registered(world), await registered(world)];
    sent = await sendText(world, alice, bob, 'send me the money or else');
    world.clock.t += 60_000;
  });

  it('stores a verified report: who reported whom, when, why and what, nothing else', async () => {
    const result = await report(world.ports, bob, reportFrame(sent));
    expect(result.duplicate).toBe(false);
    const stored = world.reports.items.get(result.reportId);
    expect(stored).toEqual({
      reportId: result.reportId,
      reporter: { userId: bob.userId, device: 1 },
      sender: { userId: alice.userId, device: 1 },
      messageId: sent.envelope.id,
      sentAt: sent.envelope.sentAt,
      reportedAt: T0 + 60_000,
      reason: 'threats',
      kind: 'text',
      content: 'send me the money or else',
    });
  });

  it('answers a second report of the same message with the first one', async () => {
    const first = await report(world.ports, bob, reportFrame(sent));
    const second = await report(world.ports, bob, reportFrame(sent, { reason: 'changed my mind about the reason' }));
    expect(second).toEqual({ reportId: first.reportId, duplicate: true });
    expect(world.reports.items.size).toBe(1);
    expect(world.reports.items.get(first.reportId)!.reason).toBe('threats');
  });

  it('refuses forged content: the commitment does not open to it', async () => {
    const forged = reportFrame(sent, { content: { kind: 'text', body: toBase64Url(encoder.encode('something alice never said')) } });
    await expectRefusal(report(world.ports, bob, forged), 'FORBIDDEN');
    await expectRefusal(
      report(world.ports, bob, reportFrame(sent, { content: { kind: 'bytes', body: reportFrame(sent).content.body } })),
      'FORBIDDEN',
    );
    await expectRefusal(report(world.ports, bob, reportFrame(sent, { frankKey: flipFirstBit(toBase64Url(sent.frankKey)) })), 'FORBIDDEN');
    expect(world.reports.items.size).toBe(0);
  });

  it('refuses a forged tag, and envelope fields the tag does not cover', async () => {
    const base = reportFrame(sent);
    const frank = { ...base.message.frank, tag: flipFirstBit(base.message.frank.tag) };
    await expectRefusal(report(world.ports, bob, { ...base, message: { ...base.message, frank } }), 'FORBIDDEN');
    await expectRefusal(report(world.ports, bob, { ...base, message: { ...base.message, sentAt: base.message.sentAt - 1 } }), 'FORBIDDEN');
    await expectRefusal(report(world.ports, bob, { ...base, message: { ...base.message, id: messageId() } }), 'FORBIDDEN');
    await expectRefusal(report(world.ports, bob, { ...base, message: { ...base.message, from: { user: carol.userId, device: 1 } } }), 'FORBIDDEN');
    expect(world.reports.items.size).toBe(0);
  });

  it('refuses a commitment swapped in under a valid tag', async () => {
    // A reporter who commits to content of their own choosing cannot move it under the server's tag.
    const frankKey = new Uint8Array(randomBytes(32));
    const body = encoder.encode('fabricated');
    const commitment = frankCommitment(frankKey, { from: alice.userId, to: bob.userId, id: sent.envelope.id, kind: 'text', body });
    const base = reportFrame(sent, { frankKey: toBase64Url(frankKey), content: { kind: 'text', body: toBase64Url(body) } });
    const frank = { ...base.message.frank, commitment: toBase64Url(commitment) };
    await expectRefusal(report(world.ports, bob, { ...base, message: { ...base.message, frank } }), 'FORBIDDEN');
  });

  it('refuses an unknown kid', async () => {
    const base = reportFrame(sent);
    await expectRefusal(
      report(world.ports, bob, { ...base, message: { ...base.message, frank: { ...base.message.frank, kid: 'k99' } } }),
      'FORBIDDEN',
    );
  });

  it('refuses a reporter the message was not delivered to', async () => {
    await expectRefusal(report(world.ports, carol, reportFrame(sent)), 'FORBIDDEN');
    await expectRefusal(report(world.ports, { ...bob, device: 2 }, reportFrame(sent)), 'FORBIDDEN');
    expect(world.reports.items.size).toBe(0);
  });

  it('keeps a rotated key verifiable for retentionDays, then refuses it', async () => {
    const oldKid = sent.envelope.frank.kid;
    const newKid = world.frankingKeys.rotate();
    expect(newKid).not.toBe(oldKid);
    const later = await sendText(world, alice, bob, 'tagged with the new key');
    expect(later.envelope.frank.kid).toBe(newKid);

    world.clock.t += 29 * DAY;
    await expect(report(world.ports, bob, reportFrame(sent))).resolves.toMatchObject({ duplicate: false });
    await expect(report(world.ports, bob, reportFrame(later))).resolves.toMatchObject({ duplicate: false });

    // Past retentionDays (30) since it was retired no message it tagged can still be held: refused.
    world.clock.t += 2 * DAY;
    await expectRefusal(report(world.ports, bob, reportFrame(sent)), 'FORBIDDEN');
    await expect(report(world.ports, bob, reportFrame(later))).resolves.toMatchObject({ duplicate: true });
  });

  it('is rate limited per user at reportPerMinute', async () => {
    world = memoryWorld({ rateLimits: { reportPerMinute: 2 } }, T0);
    [alice, bob] = [await registered(world), await registered(world)];
    const messages = [await sendText(world, alice, bob, 'a'), await sendText(world, alice, bob, 'b'), await sendText(world, alice, bob, 'c')];
    await report(world.ports, bob, reportFrame(messages[0]!));
    await report(world.ports, bob, reportFrame(messages[1]!));
    await expectRefusal(report(world.ports, bob, reportFrame(messages[2]!)), 'RATE_LIMITED');
    // The next minute's window admits it.
    world.clock.t += 60_000;
    await expect(report(world.ports, bob, reportFrame(messages[2]!))).resolves.toMatchObject({ duplicate: false });
  });

  it('refuses a suspended reporter, and is answered while read-only but not after shutdown', async () => {
    await world.accounts.suspend(bob.userId, 'spam', T0);
    await expectRefusal(report(world.ports, bob, reportFrame(sent)), 'ACCOUNT_SUSPENDED');
    await world.accounts.unsuspend(bob.userId);

    const readOnly = memoryWorld({ sunset: { readOnlyAt: new Date(T0 + 1000).toISOString(), shutdownAt: new Date(T0 + 2000).toISOString() } }, T0);
    const [a, b] = [await registered(readOnly), await registered(readOnly)];
    const message = await sendText(readOnly, a, b, 'before read-only');
    readOnly.clock.t = T0 + 1500;
    await expect(report(readOnly.ports, b, reportFrame(message))).resolves.toMatchObject({ duplicate: false });
    readOnly.clock.t = T0 + 2500;
    await expectRefusal(report(readOnly.ports, b, reportFrame(message)), 'SERVICE_SHUT_DOWN');
  });
});
