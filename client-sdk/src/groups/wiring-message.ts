import * as v from 'valibot';
import { chars } from '../../../protocol/chars';
import { type AttachmentRef, AttachmentRefsWire, attachmentRefFromWire, attachmentRefToWire } from '../../../protocol/attachment-ref';
import { toBase64Url } from '../../../protocol/base64url';
import { FRANK_KEY_BYTES } from '../../../protocol/franking';
import { Limits } from '../../../protocol/limits';
import { Device, MessageId, UserId } from '../../../protocol/frames';
import { concatBytes, u32be } from '../crypto/bytes';
import { contentText, decodeKey, framePlaintext, unframePlaintext } from '../crypto/plaintext';
import { SENDER_KEY_VERSION } from '../crypto/sender-key';

/**
 * What a group message's sender-key ciphertext carries (ARCH §8.8), as crypto/plaintext.ts is for pairwise
 * messages: u16 big-endian length of a JSON header ‖ header ‖ content. The header names the sender (user,
 * device), the group and the message id, so a member drops a ciphertext moved to another envelope or group;
 * the franking key, the lifetime, the burn time, the sender device's sequence number in the group and its
 * delivery token. The same bytes go to every member device, so no recipient is named.
 */
export interface GroupPlaintext {
  readonly from: string;
  readonly fromDevice: number;
  readonly group: string;
  readonly id: string;
  readonly text?: string;
  readonly body: Uint8Array;
  readonly expiresInSeconds?: number;
  readonly burnAfterReadingSeconds?: number;
  readonly frankKey: Uint8Array;
  /** The sender device's count of messages to this group, from 1: members hand them to the app in this order. */
  readonly seq: number;
  readonly deliveryToken?: Uint8Array;
  /** The message's attachments (ARCH §8.10), as in a pairwise plaintext's `att`. */
  readonly attachments?: readonly AttachmentRef[];
}

const Seconds = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(365 * 86400));
const GroupIdField = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{22}$/));

const Header = v.strictObject({
  v: v.literal(1),
  from: UserId,
  fromDevice: Device,
  g: GroupIdField,
  id: MessageId,
  kind: v.picklist(['text', 'bytes']),
  ttl: v.optional(Seconds),
  burn: v.optional(Seconds),
  fk: v.pipe(v.string(), chars(Math.ceil((FRANK_KEY_BYTES * 4) / 3))),
  seq: v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER)),
  dt: v.optional(v.pipe(v.string(), chars(Math.ceil((Limits.deliveryTokenBytes * 4) / 3)))),
  att: v.optional(AttachmentRefsWire),
});

const encoder = new TextEncoder();
const AD_CONTEXT = 'ebb-group-message-v1';

/**
 * The associated data every group message is signed over: the group and the sender device. A message
 * signed for one group or device verifies for no other, even under the same sender key.
 */
export function groupAssociatedData(group: string, from: string, fromDevice: number): Uint8Array {
  const parts = [AD_CONTEXT, group, from].map((p) => encoder.encode(p));
  return concatBytes(...parts.flatMap((p) => [u32be(p.length), p]), u32be(fromDevice));
}

/** Whether ciphertext bytes are a sender-key message rather than a pairwise one (whose version byte is 2). */
export function isGroupCiphertext(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === SENDER_KEY_VERSION;
}

export function encodeGroupPlaintext(p: GroupPlaintext): Uint8Array {
  if (p.frankKey.length !== FRANK_KEY_BYTES) throw new TypeError(`frankKey: expected ${FRANK_KEY_BYTES} bytes`);
  const header: v.InferOutput<typeof Header> = {
    v: 1,
    from: p.from,
    fromDevice: p.fromDevice,
    g: p.group,
    id: p.id,
    kind: p.text === undefined ? 'bytes' : 'text',
    ...(p.expiresInSeconds !== undefined && { ttl: p.expiresInSeconds }),
    ...(p.burnAfterReadingSeconds !== undefined && { burn: p.burnAfterReadingSeconds }),
    fk: toBase64Url(p.frankKey),
    seq: p.seq,
    ...(p.deliveryToken && { dt: toBase64Url(p.deliveryToken) }),
    ...(p.attachments && p.attachments.length > 0 && { att: p.attachments.map(attachmentRefToWire) }),
  };
  return framePlaintext(header, p.body);
}

/** The decoded plaintext, or null for anything malformed. */
export function decodeGroupPlaintext(bytes: Uint8Array): GroupPlaintext | null {
  const framed = unframePlaintext(bytes);
  if (!framed) return null;
  const parsed = v.safeParse(Header, framed.header);
  if (!parsed.success) return null;
  const h = parsed.output;
  const body = framed.body;
  const frankKey = decodeKey(h.fk, FRANK_KEY_BYTES);
  const deliveryToken = h.dt === undefined ? undefined : decodeKey(h.dt, Limits.deliveryTokenBytes);
  if (!frankKey || deliveryToken === null) return null;
  const attachments = h.att?.map(attachmentRefFromWire);
  if (attachments?.some((a) => a === null)) return null;
  const text = contentText(h.kind, body);
  if (text === null) return null;
  return {
    from: h.from,
    fromDevice: h.fromDevice,
    group: h.g,
    id: h.id,
    body,
    frankKey,
    seq: h.seq,
    ...(text !== undefined && { text }),
    ...(h.ttl !== undefined && { expiresInSeconds: h.ttl }),
    ...(h.burn !== undefined && { burnAfterReadingSeconds: h.burn }),
    ...(deliveryToken && { deliveryToken }),
    ...(attachments && { attachments: attachments as AttachmentRef[] }),
  };
}
