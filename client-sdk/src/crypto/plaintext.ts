import * as z from 'zod/mini';
import { Device, MessageId, UserId } from '../../../protocol/frames';

/**
 * What a ciphertext carries: the content plus every routing field it must not be replayed under.
 * Layout: u16 big-endian length of a JSON header ‖ header (UTF-8) ‖ content bytes. The header binds
 * sender (user, device), recipient (user, device) and message id, so the recipient can drop a
 * ciphertext the server (or anyone) moved to another envelope.
 */
export interface Plaintext {
  readonly from: string;
  readonly fromDevice: number;
  readonly to: string;
  readonly toDevice: number;
  readonly id: string;
  /** Present when the content is text: `body` is then its UTF-8 encoding. */
  readonly text?: string;
  readonly body: Uint8Array;
  readonly expiresInSeconds?: number;
  readonly burnAfterReadingSeconds?: number;
}

const Seconds = z.number().check(z.int(), z.minimum(1), z.maximum(365 * 86400));

const Header = z.strictObject({
  v: z.literal(1),
  from: UserId,
  fromDevice: Device,
  to: UserId,
  toDevice: Device,
  id: MessageId,
  kind: z.enum(['text', 'bytes']),
  ttl: z.optional(Seconds),
  burn: z.optional(Seconds),
});

const HEADER_LENGTH_BYTES = 2;
const MAX_HEADER_BYTES = 0xffff;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodePlaintext(p: Plaintext): Uint8Array {
  const header: z.infer<typeof Header> = {
    v: 1,
    from: p.from,
    fromDevice: p.fromDevice,
    to: p.to,
    toDevice: p.toDevice,
    id: p.id,
    kind: p.text === undefined ? 'bytes' : 'text',
    ...(p.expiresInSeconds !== undefined && { ttl: p.expiresInSeconds }),
    ...(p.burnAfterReadingSeconds !== undefined && { burn: p.burnAfterReadingSeconds }),
  };
  const headerBytes = encoder.encode(JSON.stringify(header));
  if (headerBytes.length > MAX_HEADER_BYTES) throw new TypeError('plaintext header too long');
  const out = new Uint8Array(HEADER_LENGTH_BYTES + headerBytes.length + p.body.length);
  new DataView(out.buffer).setUint16(0, headerBytes.length);
  out.set(headerBytes, HEADER_LENGTH_BYTES);
  out.set(p.body, HEADER_LENGTH_BYTES + headerBytes.length);
  return out;
}

/** The decoded plaintext, or null for anything malformed. */
export function decodePlaintext(bytes: Uint8Array): Plaintext | null {
  if (bytes.length < HEADER_LENGTH_BYTES) return null;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0);
  const bodyStart = HEADER_LENGTH_BYTES + headerLength;
  if (bodyStart > bytes.length) return null;
  let json: unknown;
  try {
    json = JSON.parse(decoder.decode(bytes.subarray(HEADER_LENGTH_BYTES, bodyStart)));
  } catch {
    return null;
  }
  const parsed = Header.safeParse(json);
  if (!parsed.success) return null;
  const h = parsed.data;
  const body = bytes.slice(bodyStart);
  let text: string | undefined;
  if (h.kind === 'text') {
    try {
      text = decoder.decode(body);
    } catch {
      return null;
    }
  }
  return {
    from: h.from,
    fromDevice: h.fromDevice,
    to: h.to,
    toDevice: h.toDevice,
    id: h.id,
    body,
    ...(text !== undefined && { text }),
    ...(h.ttl !== undefined && { expiresInSeconds: h.ttl }),
    ...(h.burn !== undefined && { burnAfterReadingSeconds: h.burn }),
  };
}
