import fc from 'fast-check';
import { frankCommitment, verifyCommitment } from '../../client-sdk/src/crypto/franking';
import { decodePlaintext, encodePlaintext, type Plaintext } from '../../client-sdk/src/crypto/plaintext';
import { frankCommitment as serverCommitment } from '../../lambdas/core/franking';
import { type AttachmentRef, MAX_ATTACHMENTS_PER_MESSAGE } from '../../protocol/attachment-ref';
import { toBase64Url } from '../../protocol/base64url';
import { commitmentInput } from '../../protocol/franking';

const USER_A = 'A'.repeat(32);
const USER_B = 'B'.repeat(32);
const encoder = new TextEncoder();

function ref(overrides: Partial<AttachmentRef> = {}): AttachmentRef {
  return {
    id: `30/${'x'.repeat(22)}`,
    key: new Uint8Array(32).fill(1),
    digest: new Uint8Array(32).fill(2),
    size: 1000,
    name: 'cat.jpg',
    type: 'image/jpeg',
    ...overrides,
  };
}

function plaintext(attachments?: readonly AttachmentRef[]): Plaintext {
  return {
    from: USER_A,
    fromDevice: 1,
    to: USER_B,
    toDevice: 1,
    id: 'm'.repeat(22),
    text: 'caption',
    body: encoder.encode('caption'),
    frankKey: new Uint8Array(32).fill(9),
    ...(attachments && { attachments }),
  };
}

/** The plaintext with its header's `att` replaced by `att`, as a malicious sender could write it. */
function withRawAttachments(att: unknown): Uint8Array {
  const encoded = encodePlaintext(plaintext([ref()]));
  const length = new DataView(encoded.buffer).getUint16(0);
  const header = JSON.parse(new TextDecoder().decode(encoded.subarray(2, 2 + length))) as Record<string, unknown>;
  const headerBytes = encoder.encode(JSON.stringify({ ...header, att }));
  const out = new Uint8Array(2 + headerBytes.length + 7);
  new DataView(out.buffer).setUint16(0, headerBytes.length);
  out.set(headerBytes, 2);
  out.set(encoder.encode('caption'), 2 + headerBytes.length);
  return out;
}

describe('attachment references in the message plaintext', () => {
  it('round-trip with every field', () => {
    const refs = [ref(), ref({ id: `1/${'y'.repeat(22)}`, name: 'Zeugnis für Ärzte.pdf', type: 'application/pdf', size: 0 })];
    expect(decodePlaintext(encodePlaintext(plaintext(refs)))!.attachments).toEqual(refs);
    expect(decodePlaintext(encodePlaintext(plaintext()))!.attachments).toBeUndefined();
  });

  const good = {
    id: `30/${'x'.repeat(22)}`,
    key: toBase64Url(new Uint8Array(32)),
    digest: toBase64Url(new Uint8Array(32)),
    size: 1,
    name: 'a',
    type: 'text/plain',
  };
  it.each([
    ['more than the most per message', Array.from({ length: MAX_ATTACHMENTS_PER_MESSAGE + 1 }, () => good)],
    ['an empty list', []],
    ['a name too long', [{ ...good, name: 'n'.repeat(256) }]],
    ['an empty name', [{ ...good, name: '' }]],
    ['a control character in the name', [{ ...good, name: 'a\nb' }]],
    ['a type that is no media type', [{ ...good, type: 'jpeg' }]],
    ['a type too long', [{ ...good, type: `image/${'x'.repeat(250)}` }]],
    ['a short key', [{ ...good, key: toBase64Url(new Uint8Array(31)) }]],
    ['a non-canonical key', [{ ...good, key: `${toBase64Url(new Uint8Array(32)).slice(0, -1)}B` }]],
    ['a negative size', [{ ...good, size: -1 }]],
    ['a fractional size', [{ ...good, size: 1.5 }]],
    ['an id of another shape', [{ ...good, id: 'x'.repeat(22) }]],
    ['an unknown field', [{ ...good, url: 'https://example.com' }]],
  ])('refuse a plaintext whose attachments hold %s', (_, att) => {
    expect(decodePlaintext(withRawAttachments(att))).toBeNull();
  });
});

describe('the franking commitment covers attachments', () => {
  const content = { from: USER_A, to: USER_B, id: 'm'.repeat(22), kind: 'text' as const, body: encoder.encode('caption') };
  const frankKey = new Uint8Array(32).fill(7);

  it('is unchanged for a message without attachments (an empty list is none)', () => {
    expect(commitmentInput({ ...content, attachments: [] })).toEqual(commitmentInput(content));
  });

  it('SDK and server agree with attachments', () => {
    const c = { ...content, attachments: [ref(), ref({ name: 'b.png', type: 'image/png' })] };
    expect(toBase64Url(frankCommitment(frankKey, c))).toBe(toBase64Url(serverCommitment(frankKey, c)));
  });

  it('any change to any attachment field breaks it', () => {
    const fields = fc.constantFrom<keyof AttachmentRef>('id', 'key', 'digest', 'size', 'name', 'type');
    fc.assert(
      fc.property(fields, fc.nat(31), (field, at) => {
        const original = [ref(), ref({ name: 'second.jpg' })];
        const commitment = toBase64Url(frankCommitment(frankKey, { ...content, attachments: original }));
        const changed = { ...original[0]! };
        if (field === 'key' || field === 'digest') {
          const bytes = changed[field].slice();
          bytes[at]! ^= 1;
          Object.assign(changed, { [field]: bytes });
        } else if (field === 'size') Object.assign(changed, { size: changed.size + 1 + at });
        else if (field === 'id') Object.assign(changed, { id: `31/${'x'.repeat(22)}` });
        else Object.assign(changed, { [field]: `${changed[field]}${at}` });
        expect(verifyCommitment(frankKey, { ...content, attachments: [changed, original[1]!] }, commitment)).toBe(false);
        expect(verifyCommitment(frankKey, { ...content, attachments: original }, commitment)).toBe(true);
      }),
      { numRuns: 60 },
    );
  });

  it('no field can shift into its neighbour: name "ab" type "c/d" differs from name "a" type "bc/d"', () => {
    const a = frankCommitment(frankKey, { ...content, attachments: [ref({ name: 'ab', type: 'c/d' })] });
    const b = frankCommitment(frankKey, { ...content, attachments: [ref({ name: 'a', type: 'bc/d' })] });
    expect(toBase64Url(a)).not.toBe(toBase64Url(b));
  });
});
