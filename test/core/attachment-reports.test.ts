import { randomBytes } from 'node:crypto';
import { type AttachmentRef, attachmentRefToWire } from '../../protocol/attachment-ref';
import { toBase64Url, type Envelope, type ReportFrame } from '../../protocol';
import { register } from '../../lambdas/core/accounts';
import { fetch, send } from '../../lambdas/core/delivery';
import { frankCommitment } from '../../lambdas/core/franking';
import type { Caller } from '../../lambdas/core/ports';
import { report } from '../../lambdas/core/reports';
import { makeIdentity, messageId, registerFrame } from '../support/identity';
import { callerOf, memoryWorld, type MemoryWorld } from '../support/memory-ports';

const T0 = Date.UTC(2027, 0, 1);
const encoder = new TextEncoder();

async function registered(world: MemoryWorld): Promise<Caller> {
  const id = makeIdentity();
  const caller = callerOf(id);
  await register(world.ports, caller, registerFrame(id) as never);
  return caller;
}

function attachment(name: string): AttachmentRef {
  return {
    id: `30/${toBase64Url(new Uint8Array(randomBytes(16)))}`,
    key: new Uint8Array(randomBytes(32)),
    digest: new Uint8Array(randomBytes(32)),
    size: 123_456,
    name,
    type: 'image/jpeg',
  };
}

/** Sends a caption with attachments as the SDK does: the commitment covers the attachment references. */
async function sendWithAttachments(world: MemoryWorld, from: Caller, to: Caller, attachments: AttachmentRef[]) {
  const id = messageId();
  const frankKey = new Uint8Array(randomBytes(32));
  const body = encoder.encode('look');
  const commitment = frankCommitment(frankKey, { from: from.userId, to: to.userId, id, kind: 'text', body, attachments });
  await send(world.ports, from, {
    action: 'send',
    rid: 's',
    id,
    to: to.userId,
    messages: [{ device: 1, ciphertext: toBase64Url(new Uint8Array(randomBytes(80))), commitment: toBase64Url(commitment) }],
  });
  const envelope: Envelope = (await fetch(world.ports, to, { action: 'fetch', rid: 'f' })).messages.find((m) => m.id === id)!;
  const frame = (wire: ReturnType<typeof attachmentRefToWire>[] | undefined): ReportFrame => ({
    action: 'report',
    rid: 'rep',
    message: { id: envelope.id, from: envelope.from, sentAt: envelope.sentAt, frank: envelope.frank },
    frankKey: toBase64Url(frankKey),
    content: { kind: 'text', body: toBase64Url(body), ...(wire && { attachments: wire }) },
    reason: 'abuse in a picture',
  });
  return { frame, wire: attachments.map(attachmentRefToWire) };
}

describe('a report of a message with attachments', () => {
  it('verifies with the references the message carried, and stores them for the operator', async () => {
    const world = memoryWorld({}, T0);
    const [alice, bob] = [await registered(world), await registered(world)];
    const { frame, wire } = await sendWithAttachments(world, alice, bob, [attachment('a.jpg'), attachment('b.jpg')]);
    const { reportId } = await report(world.ports, bob, frame(wire));
    expect(world.reports.items.get(reportId)!.attachments).toEqual(wire);
  });

  const alterations: [string, (w: ReturnType<typeof attachmentRefToWire>[]) => ReturnType<typeof attachmentRefToWire>[] | undefined][] = [
    ['left out', () => undefined],
    ['one dropped', (w) => w.slice(1)],
    ['reordered', (w) => [w[1]!, w[0]!]],
    ['another id', (w) => [{ ...w[0]!, id: `30/${toBase64Url(new Uint8Array(randomBytes(16)))}` }, w[1]!]],
    ['another key', (w) => [{ ...w[0]!, key: toBase64Url(new Uint8Array(randomBytes(32))) }, w[1]!]],
    ['another digest', (w) => [{ ...w[0]!, digest: toBase64Url(new Uint8Array(randomBytes(32))) }, w[1]!]],
    ['another size', (w) => [{ ...w[0]!, size: w[0]!.size + 1 }, w[1]!]],
    ['another name', (w) => [{ ...w[0]!, name: 'innocent.jpg' }, w[1]!]],
    ['another type', (w) => [{ ...w[0]!, type: 'image/png' }, w[1]!]],
  ];

  it.each(alterations)('is refused FORBIDDEN with the attachments %s, and nothing is stored', async (_, alter) => {
    const world = memoryWorld({}, T0);
    const [alice, bob] = [await registered(world), await registered(world)];
    const { frame, wire } = await sendWithAttachments(world, alice, bob, [attachment('a.jpg'), attachment('b.jpg')]);
    await expect(report(world.ports, bob, frame(alter(wire)))).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(world.reports.items.size).toBe(0);
  });

  it('a message sent without attachments cannot be reported as having some', async () => {
    const world = memoryWorld({}, T0);
    const [alice, bob] = [await registered(world), await registered(world)];
    const { frame } = await sendWithAttachments(world, alice, bob, []);
    await expect(report(world.ports, bob, frame(undefined))).resolves.toMatchObject({ duplicate: false });
    const other = await sendWithAttachments(world, alice, bob, []);
    await expect(report(world.ports, bob, other.frame([attachmentRefToWire(attachment('x.jpg'))]))).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });
});
