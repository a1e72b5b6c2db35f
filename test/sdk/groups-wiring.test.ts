import fc from 'fast-check';
import { Limits } from '../../protocol/limits';
import { toBase64Url } from '../../protocol/base64url';
import { randomBytes } from '../../client-sdk/src/crypto/random';
import { splitFanout, type FanoutRecipient } from '../../client-sdk/src/groups/wiring-fanout';
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
