import * as v from 'valibot';
import { chars } from '../../../protocol/chars';
import { type AttachmentRef, AttachmentRefsWire, attachmentRefFromWire, attachmentRefToWire } from '../../../protocol/attachment-ref';
import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import { FRANK_KEY_BYTES } from '../../../protocol/franking';
import { Limits } from '../../../protocol/limits';
import { Device, MessageId, UserId } from '../../../protocol/frames';

/**
 * What a ciphertext carries: the content plus every routing field it must not be replayed under.
 * Layout: u16 big-endian length of a JSON header ‖ header (UTF-8) ‖ content bytes. The header binds
 * sender (user, device), recipient (user, device) and message id, so the recipient can drop a
 * ciphertext the server (or anyone) moved to another envelope. It also carries the message's franking
 * key (ARCH §9.2), which only recipients may learn: with it they check the envelope's commitment and
 * can later reveal it in a report, and the sender's delivery token (ARCH §6.6), which makes the recipient's
 * sends back count as a contact's.
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
  /** The message's franking key, FRANK_KEY_BYTES long: the same in every device's copy. */
  readonly frankKey: Uint8Array;
  /**
   * The sender device's count of messages to the recipient device, from 1 (session/ordering.ts): the
   * recipient hands messages to the app in this order, whatever order the server delivers them in.
   */
  readonly seq?: number;
  /** The sender's delivery token, `Limits.deliveryTokenBytes` long; absent from older senders. */
  readonly deliveryToken?: Uint8Array;
  /** Set on control content (ARCH §8.6), which never reaches 'message': see `Control`. */
  readonly control?: Control;
  /** The message's attachments (ARCH §8.10): where each object is and the key and digest that open and pin it. */
  readonly attachments?: readonly AttachmentRef[];
  /**
   * Receipts riding inside an ordinary 1:1 message (ARCH §8.6): the sender's device received (`delivered`) or
   * its user read (`read`) the messages `ids` this account sent it, as a `receipt` control would say. Header
   * field `rc`, absent from older senders.
   */
  readonly receipts?: RidingReceipts;
  /**
   * Set instead of `receipts` when the header's `rc` field was malformed: those receipts are refused, the rest
   * of the message stands (a receipt is never worth a message).
   */
  readonly receiptsRefused?: RidingReceiptsError;
}

/** At most this many message ids in one receipt or read sync: a burst beyond it goes out in several. */
export const MAX_CONTROL_IDS = 100;

/** Receipts riding inside a message: each kind's ids, 1 to MAX_CONTROL_IDS of them; at least one kind. */
export interface RidingReceipts {
  readonly delivered?: readonly string[];
  readonly read?: readonly string[];
}

/** A riding-receipts field that is not 1 to MAX_CONTROL_IDS message ids per kind, at least one kind, nothing else. */
export class RidingReceiptsError extends Error {
  override readonly name = 'RidingReceiptsError';
  constructor() {
    super(`riding receipts: expected 1 to ${MAX_CONTROL_IDS} message ids per kind`);
  }
}

/**
 * Control content between devices (ARCH §8.6). `sent`: a copy, for the sender's other devices, of a
 * message this account sent to `to` (the body, kind, ttl and burn are the original's). `receipt`: the
 * recipient's device received (`delivered`) or its user read (`read`) the messages `ids` this account
 * sent. `read`: another device of this account read the messages `ids` that `sender` sent. `token`: another
 * device of this account rotated the account's delivery token (ARCH §6.6) to `token` (base64url).
 * `group`: a group's signed changes (ARCH §8.8), carried in the body for the group state module to check.
 * `senderKey`: the sender device's sender key for group `group` (ARCH §8.7), its distribution in the body;
 * `seq` is the number its next group message carries (per-sender order, session/ordering.ts). `groupSync`: a
 * device of this account linked since asks the others for the history of every group the account is in.
 */
export type Control =
  | { readonly type: 'sent'; readonly to: string }
  | { readonly type: 'receipt'; readonly kind: 'delivered' | 'read'; readonly ids: readonly string[] }
  | { readonly type: 'read'; readonly sender: string; readonly ids: readonly string[] }
  | { readonly type: 'token'; readonly token: string }
  | { readonly type: 'group' }
  | { readonly type: 'senderKey'; readonly group: string; readonly seq: number }
  | { readonly type: 'groupSync' };

/** A group id as control content names it: 16 bytes, base64url (groups/state.ts parses it strictly). */
const GroupIdField = v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{22}$/));
const Seq = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER));

const ControlIds = v.pipe(v.array(MessageId), v.minLength(1), v.maxLength(MAX_CONTROL_IDS));

const RidingReceiptsWire = v.pipe(
  v.strictObject({ d: v.optional(ControlIds), r: v.optional(ControlIds) }),
  v.check((rc) => rc.d !== undefined || rc.r !== undefined),
);

/**
 * The receipts of a header's `rc` field (`{ d?: ids, r?: ids }`).
 * @throws RidingReceiptsError unless it is exactly that shape, each kind 1 to MAX_CONTROL_IDS message ids.
 */
export function decodeRidingReceipts(raw: unknown): RidingReceipts {
  const parsed = v.safeParse(RidingReceiptsWire, raw);
  if (!parsed.success) throw new RidingReceiptsError();
  const { d, r } = parsed.output;
  return { ...(d && { delivered: d }), ...(r && { read: r }) };
}

/**
 * The `rc` field for `receipts`, or undefined when both kinds are empty.
 * @throws RidingReceiptsError when a kind holds more than MAX_CONTROL_IDS ids (the batcher never takes more).
 */
function ridingReceiptsWire(receipts: RidingReceipts): v.InferOutput<typeof RidingReceiptsWire> | undefined {
  const d = receipts.delivered ?? [];
  const r = receipts.read ?? [];
  if (d.length > MAX_CONTROL_IDS || r.length > MAX_CONTROL_IDS) throw new RidingReceiptsError();
  if (d.length === 0 && r.length === 0) return undefined;
  return { ...(d.length > 0 && { d: [...d] }), ...(r.length > 0 && { r: [...r] }) };
}

const ControlHeader = v.union([
  v.strictObject({ t: v.literal('sent'), to: UserId }),
  v.strictObject({ t: v.literal('receipt'), kind: v.picklist(['delivered', 'read']), ids: ControlIds }),
  v.strictObject({ t: v.literal('read'), sender: UserId, ids: ControlIds }),
  /** base64url; checked to be canonical and `Limits.deliveryTokenBytes` long below. */
  v.strictObject({ t: v.literal('token'), token: v.pipe(v.string(), chars(Math.ceil((Limits.deliveryTokenBytes * 4) / 3))) }),
  v.strictObject({ t: v.literal('group') }),
  v.strictObject({ t: v.literal('sk'), g: GroupIdField, seq: Seq }),
  v.strictObject({ t: v.literal('gsync') }),
]);

const Seconds = v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(365 * 86400));

const Header = v.strictObject({
  v: v.literal(1),
  from: UserId,
  fromDevice: Device,
  to: UserId,
  toDevice: Device,
  id: MessageId,
  kind: v.picklist(['text', 'bytes']),
  ttl: v.optional(Seconds),
  burn: v.optional(Seconds),
  /** base64url franking key; decoded and checked to be canonical and FRANK_KEY_BYTES long below. */
  fk: v.pipe(v.string(), chars(Math.ceil((FRANK_KEY_BYTES * 4) / 3))),
  seq: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(Number.MAX_SAFE_INTEGER))),
  /** base64url delivery token; checked to be canonical and `Limits.deliveryTokenBytes` long below. */
  dt: v.optional(v.pipe(v.string(), chars(Math.ceil((Limits.deliveryTokenBytes * 4) / 3)))),
  ctl: v.optional(ControlHeader),
  att: v.optional(AttachmentRefsWire),
  /** Riding receipts: checked apart (decodeRidingReceipts), so a malformed one refuses the receipts, not the message. */
  rc: v.optional(v.unknown()),
});

const HEADER_LENGTH_BYTES = 2;
const MAX_HEADER_BYTES = 0xffff;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export function encodePlaintext(p: Plaintext): Uint8Array {
  if (p.frankKey.length !== FRANK_KEY_BYTES) throw new TypeError(`frankKey: expected ${FRANK_KEY_BYTES} bytes`);
  if (p.deliveryToken && p.deliveryToken.length !== Limits.deliveryTokenBytes) {
    throw new TypeError(`deliveryToken: expected ${Limits.deliveryTokenBytes} bytes`);
  }
  const rc = p.receipts && ridingReceiptsWire(p.receipts);
  const header: v.InferOutput<typeof Header> = {
    v: 1,
    from: p.from,
    fromDevice: p.fromDevice,
    to: p.to,
    toDevice: p.toDevice,
    id: p.id,
    kind: p.text === undefined ? 'bytes' : 'text',
    ...(p.expiresInSeconds !== undefined && { ttl: p.expiresInSeconds }),
    ...(p.burnAfterReadingSeconds !== undefined && { burn: p.burnAfterReadingSeconds }),
    fk: toBase64Url(p.frankKey),
    ...(p.seq !== undefined && { seq: p.seq }),
    ...(p.deliveryToken && { dt: toBase64Url(p.deliveryToken) }),
    ...(p.control && { ctl: controlHeader(p.control) }),
    ...(p.attachments && p.attachments.length > 0 && { att: p.attachments.map(attachmentRefToWire) }),
    ...(rc && { rc }),
  };
  return framePlaintext(header, p.body);
}

/**
 * The layout pairwise and group plaintexts share: u16 big-endian length of a JSON header ‖ header (UTF-8) ‖
 * content bytes.
 */
export function framePlaintext(header: unknown, body: Uint8Array): Uint8Array {
  const headerBytes = encoder.encode(JSON.stringify(header));
  if (headerBytes.length > MAX_HEADER_BYTES) throw new TypeError('plaintext header too long');
  const out = new Uint8Array(HEADER_LENGTH_BYTES + headerBytes.length + body.length);
  new DataView(out.buffer).setUint16(0, headerBytes.length);
  out.set(headerBytes, HEADER_LENGTH_BYTES);
  out.set(body, HEADER_LENGTH_BYTES + headerBytes.length);
  return out;
}

/** The parsed JSON header and the content of `framePlaintext`'s layout, or null when it is not that layout. */
export function unframePlaintext(bytes: Uint8Array): { readonly header: unknown; readonly body: Uint8Array } | null {
  if (bytes.length < HEADER_LENGTH_BYTES) return null;
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(0);
  const bodyStart = HEADER_LENGTH_BYTES + headerLength;
  if (bodyStart > bytes.length) return null;
  try {
    return { header: JSON.parse(decoder.decode(bytes.subarray(HEADER_LENGTH_BYTES, bodyStart))), body: bytes.slice(bodyStart) };
  } catch {
    return null;
  }
}

/** The text of a `text` content (undefined for `bytes`), or null when it is not valid UTF-8. */
export function contentText(kind: 'text' | 'bytes', body: Uint8Array): string | undefined | null {
  if (kind !== 'text') return undefined;
  try {
    return decoder.decode(body);
  } catch {
    return null;
  }
}

/** The decoded plaintext, or null for anything malformed. */
export function decodePlaintext(bytes: Uint8Array): Plaintext | null {
  const framed = unframePlaintext(bytes);
  if (!framed) return null;
  const { header: json, body } = framed;
  const parsed = v.safeParse(Header, json);
  if (!parsed.success) return null;
  const h = parsed.output;
  const frankKey = decodeKey(h.fk, FRANK_KEY_BYTES);
  if (!frankKey) return null;
  const deliveryToken = h.dt === undefined ? undefined : decodeKey(h.dt, Limits.deliveryTokenBytes);
  if (deliveryToken === null) return null;
  if (h.ctl?.t === 'token' && decodeKey(h.ctl.token, Limits.deliveryTokenBytes) === null) return null;
  const attachments = h.att?.map(attachmentRefFromWire);
  if (attachments?.some((a) => a === null)) return null;
  const text = contentText(h.kind, body);
  if (text === null) return null;
  let receipts: RidingReceipts | undefined;
  let receiptsRefused: RidingReceiptsError | undefined;
  if (h.rc !== undefined) {
    try {
      receipts = decodeRidingReceipts(h.rc);
    } catch (err) {
      if (!(err instanceof RidingReceiptsError)) throw err;
      receiptsRefused = err;
    }
  }
  return {
    from: h.from,
    fromDevice: h.fromDevice,
    to: h.to,
    toDevice: h.toDevice,
    id: h.id,
    body,
    frankKey,
    ...(text !== undefined && { text }),
    ...(h.ttl !== undefined && { expiresInSeconds: h.ttl }),
    ...(h.burn !== undefined && { burnAfterReadingSeconds: h.burn }),
    ...(h.seq !== undefined && { seq: h.seq }),
    ...(deliveryToken && { deliveryToken }),
    ...(h.ctl && { control: controlOf(h.ctl) }),
    ...(attachments && { attachments: attachments as AttachmentRef[] }),
    ...(receipts && { receipts }),
    ...(receiptsRefused && { receiptsRefused }),
  };
}

function controlHeader(c: Control): v.InferOutput<typeof ControlHeader> {
  switch (c.type) {
    case 'sent':
      return { t: 'sent', to: c.to };
    case 'receipt':
      return { t: 'receipt', kind: c.kind, ids: [...c.ids] };
    case 'read':
      return { t: 'read', sender: c.sender, ids: [...c.ids] };
    case 'token':
      return { t: 'token', token: c.token };
    case 'group':
      return { t: 'group' };
    case 'senderKey':
      return { t: 'sk', g: c.group, seq: c.seq };
    case 'groupSync':
      return { t: 'gsync' };
  }
}

function controlOf(h: v.InferOutput<typeof ControlHeader>): Control {
  switch (h.t) {
    case 'sent':
      return { type: 'sent', to: h.to };
    case 'receipt':
      return { type: 'receipt', kind: h.kind, ids: h.ids };
    case 'read':
      return { type: 'read', sender: h.sender, ids: h.ids };
    case 'token':
      return { type: 'token', token: h.token };
    case 'group':
      return { type: 'group' };
    case 'sk':
      return { type: 'senderKey', group: h.g, seq: h.seq };
    case 'gsync':
      return { type: 'groupSync' };
  }
}

/** The bytes `encoded` holds, or null unless it is the canonical base64url of exactly `length` bytes. */
export function decodeKey(encoded: string, length: number): Uint8Array | null {
  let key: Uint8Array;
  try {
    key = fromBase64Url(encoded);
  } catch {
    return null;
  }
  return key.length === length && toBase64Url(key) === encoded ? key : null;
}
