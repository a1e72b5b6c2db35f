import fc from 'fast-check';
import { Limits } from '../../protocol/limits';
import { toBase64Url } from '../../protocol/base64url';
import { randomBytes } from '../../client-sdk/src/crypto/random';
import { MemoryStore } from '../../client-sdk/src';
import { SenderKeys } from '../../client-sdk/src/groups/distribution';
import { splitFanout, type FanoutRecipient } from '../../client-sdk/src/groups/wiring-fanout';
import { GroupSender } from '../../client-sdk/src/groups/wiring-send';
import type { Identity } from '../../client-sdk/src/identity/identity';
import type { PeerDirectory } from '../../client-sdk/src/identity/peers';
import type { DeliveryTokens } from '../../client-sdk/src/session/delivery-tokens';
import type { Outbox } from '../../client-sdk/src/session/outbox';
import type { Sessions } from '../../client-sdk/src/session/sessions';
import { decodeGroupPlaintext, encodeGroupPlaintext, groupAssociatedData, isGroupCiphertext } from '../../client-sdk/src/groups/wiring-message';

const encoder = new TextEncoder();
const user = (i: number) => toBase64Url(new Uint8Array(24).fill(i % 256)).slice(0, 26) + String(i).padStart(6, '0');
const frameBytes = (frame: object) => encoder.encode(JSON.stringify({ action: 'fanout', rid: 'r'.repeat(64), ...frame })).length;

function base(ciphertextBytes: number) {
  return { id: toBase64Url(randomBytes(16)), ciphertext: toBase64Url(randomBytes(ciphertextBytes)), commitment: toBase64Url(randomBytes(32)) };
}

describe('splitFanout', () => {
  it('sends a group whose devices fit one frame in exactly one frame', () => {
    const recipients: FanoutRecipient[] = Array.from({ length: 100 }, (_, i) => ({ user: user(i), devices: [1, 2] }));
    const frames = splitFanout(base(1024), recipients, Limits.maxFrameBytes, Limits.maxFanoutDevicesPerFrame);
    expect(frames).toHaveLength(1);
    expect(frames[0]!.recipients).toEqual(recipients);
  });

  it('splits 1000 members over frames only as the device count and the bytes require, every device once', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 1000 }),
        fc.integer({ min: 64, max: 16 * 1024 }),
        fc.boolean(),
        (deviceCounts, ciphertextBytes, tokens) => {
          const recipients: FanoutRecipient[] = deviceCounts.map((n, i) => ({
            user: user(i),
            devices: Array.from({ length: n }, (_, d) => d + 1),
            ...(tokens && { deliveryToken: toBase64Url(new Uint8Array(Limits.deliveryTokenBytes).fill(i % 256)) }),
          }));
          const b = base(ciphertextBytes);
          const frames = splitFanout(b, recipients, Limits.maxFrameBytes, Limits.maxFanoutDevicesPerFrame);
          const named: string[] = [];
          for (const frame of frames) {
            expect(frame).toMatchObject(b);
            expect(frameBytes(frame)).toBeLessThan(Limits.maxFrameBytes);
            const copies = frame.recipients.reduce((n, r) => n + r.devices.length, 0);
            expect(copies).toBeLessThanOrEqual(Limits.maxFanoutDevicesPerFrame);
            expect(new Set(frame.recipients.map((r) => r.user)).size).toBe(frame.recipients.length);
            for (const r of frame.recipients) for (const d of r.devices) named.push(`${r.user}/${d}`);
          }
          const expected = recipients.flatMap((r) => r.devices.map((d) => `${r.user}/${d}`));
          expect(named).toEqual(expected);
          // Packed greedily: the next frame's first device would not have fitted the frame before it.
          frames.slice(1).forEach((frame, i) => {
            const previous = frames[i]!;
            const first = frame.recipients[0]!;
            const copies = previous.recipients.reduce((n, r) => n + r.devices.length, 0);
            const last = previous.recipients[previous.recipients.length - 1]!;
            const grown =
              last.user === first.user
                ? [...previous.recipients.slice(0, -1), { ...last, devices: [...last.devices, first.devices[0]!] }]
                : [...previous.recipients, { ...first, devices: [first.devices[0]!] }];
            expect(copies >= Limits.maxFanoutDevicesPerFrame || frameBytes({ ...b, recipients: grown }) >= Limits.maxFrameBytes).toBe(true);
          });
        },
      ),
      { numRuns: 40 },
    );
  });
});

describe('group plaintext', () => {
  const p = {
    from: user(1),
    fromDevice: 2,
    group: toBase64Url(randomBytes(16)),
    id: toBase64Url(randomBytes(16)),
    text: 'hello group',
    body: encoder.encode('hello group'),
    expiresInSeconds: 60,
    burnAfterReadingSeconds: 5,
    frankKey: randomBytes(32),
    seq: 7,
    deliveryToken: randomBytes(Limits.deliveryTokenBytes),
  };

  it('round-trips every field', () => {
    expect(decodeGroupPlaintext(encodeGroupPlaintext(p))).toEqual(p);
  });

  it('refuses a header that was tampered with or cut', () => {
    const bytes = encodeGroupPlaintext(p);
    const text = new TextDecoder().decode(bytes.subarray(2));
    const forged = encoder.encode(text.replace(`"seq":7`, `"seq":0`));
    const framed = new Uint8Array(2 + forged.length);
    new DataView(framed.buffer).setUint16(0, bytes[0]! * 256 + bytes[1]!);
    framed.set(forged, 2);
    expect(decodeGroupPlaintext(framed)).toBeNull();
    expect(decodeGroupPlaintext(bytes.subarray(0, 10))).toBeNull();
  });

  it('binds group and sender device in the associated data, framed so no split reads as another', () => {
    const ad = groupAssociatedData(p.group, p.from, 1);
    expect(ad).not.toEqual(groupAssociatedData(p.group, p.from, 2));
    expect(ad).not.toEqual(groupAssociatedData(toBase64Url(randomBytes(16)), p.from, 1));
    expect(isGroupCiphertext(new Uint8Array([1, 0]))).toBe(true);
    expect(isGroupCiphertext(new Uint8Array([2, 0]))).toBe(false);
  });
});

describe('GroupSender follows the fan-out answer', () => {
  const self = user(900);
  const [bob, carol, dave] = [user(901), user(902), user(903)];
  const limits = {
    maxCiphertextBytes: 16384,
    retentionDays: 30,
    maxDevicesPerSend: 16,
    maxFanoutDevicesPerFrame: 256,
    maxGroupSize: 1000,
    maxFrameBytes: 32768,
    maxAttachmentBytes: 1024,
  };
  type Answer = {
    missing: { user: string; devices: number[] }[];
    stale: { user: string; devices: number[] }[];
    full: { user: string; devices: number[] }[];
    unknown: string[];
  };

  /** A sender whose peers all have sessions, whose distributions are recorded, and whose fan-outs answer `answers` in turn. */
  function harness(answers: Answer[], carolLinksAgain = false) {
    const devices = new Map<string, number[]>([
      [bob, [1, 2]],
      [carol, [1]],
      [dave, [1]],
    ]);
    const distributedTo: string[] = [];
    const frames: { recipients: FanoutRecipient[] }[] = [];
    const forgotten: string[] = [];
    const sleeps: number[] = [];
    const store = new MemoryStore();
    const sender = new GroupSender({
      identity: { userId: self, device: 1 } as Identity,
      peers: {
        devices: async (u: string) => devices.get(u) ?? null,
        forgetDevices: async (u: string, gone: readonly number[]) => void forgotten.push(`${u}/${gone.join(',')}`),
      } as unknown as PeerDirectory,
      sessions: { has: async () => true } as unknown as Sessions,
      outbox: {
        send: async (m: { to: string }) => {
          distributedTo.push(m.to);
          // A device linked since: the distribution's own send found and reached it.
          if (carolLinksAgain && m.to === carol && frames.length > 0) devices.set(carol, [1, 3]);
          return { id: 'x', sentAt: new Date() };
        },
      } as unknown as Outbox,
      senderKeys: new SenderKeys(store, Date.now),
      deliveryTokens: { own: async () => new Uint8Array(Limits.deliveryTokenBytes), ofPeer: async () => undefined } as unknown as DeliveryTokens,
      ownDevices: async () => [1],
      limits: async () => limits,
      fanout: async (body) => {
        frames.push({ recipients: body.recipients });
        const answer = answers.shift() ?? { missing: [], stale: [], full: [], unknown: [] };
        return { id: body.id, sentAt: 1, expiresAt: 2, duplicate: false, ...answer };
      },
      sleep: async (ms) => void sleeps.push(ms),
    });
    return { sender, frames, distributedTo, forgotten, sleeps };
  }

  /** Members' keys go out concurrently, so the frame lists them in no set order. */
  const byUser = (recipients: FanoutRecipient[]) => [...recipients].sort((a, b) => (a.user < b.user ? -1 : 1));
  const message = () => ({ id: toBase64Url(randomBytes(16)), text: 'hi', body: encoder.encode('hi') });

  it('sends one frame to every member device, after each member got the key once', async () => {
    const h = harness([]);
    const group = toBase64Url(randomBytes(16));
    await h.sender.send(group, [self, bob, carol], message(), async () => undefined);
    await h.sender.send(group, [self, bob, carol], message(), async () => undefined);
    expect(h.distributedTo.sort()).toEqual([bob, carol].sort());
    const everyone = byUser([
      { user: bob, devices: [1, 2] },
      { user: carol, devices: [1] },
    ]);
    expect(h.frames.map((f) => byUser(f.recipients))).toEqual([everyone, everyone]);
  });

  it('retries full devices with backoff, reaches missing ones, forgets stale ones and reports unknown users', async () => {
    const h = harness(
      [
        { missing: [{ user: carol, devices: [3] }], stale: [{ user: bob, devices: [2] }], full: [{ user: dave, devices: [1] }], unknown: [] },
        { missing: [], stale: [], full: [{ user: dave, devices: [1] }], unknown: [] },
        { missing: [], stale: [], full: [], unknown: [] },
      ],
      true,
    );
    await h.sender.send(toBase64Url(randomBytes(16)), [self, bob, carol, dave], message(), async () => undefined);
    expect(h.frames.map((f) => byUser(f.recipients))).toEqual([
      byUser([
        { user: bob, devices: [1, 2] },
        { user: carol, devices: [1] },
        { user: dave, devices: [1] },
      ]),
      byUser([
        { user: carol, devices: [3] },
        { user: dave, devices: [1] },
      ]),
      [{ user: dave, devices: [1] }],
    ]);
    expect(h.sleeps).toEqual([250, 500]);
    expect(h.forgotten).toEqual([`${bob}/2`]);

    const gone: string[][] = [];
    const h2 = harness([{ missing: [], stale: [], full: [], unknown: [dave] }]);
    await h2.sender.send(toBase64Url(randomBytes(16)), [self, dave], message(), async (users) => void gone.push(users));
    expect(gone).toEqual([[dave]]);
  });
});
