/**
 * Message franking (ARCH §9.2): the byte strings both MACs are computed over, shared by the SDK (HMAC on
 * tweetnacl) and the server (HMAC on node:crypto). Every field is length-prefixed (u32 big-endian), so no
 * two field lists encode to the same bytes.
 *
 * - commitment = HMAC-SHA-512/256(frankKey, commitmentInput): the first 32 bytes of HMAC-SHA-512, made by
 *   the sender with a fresh random `frankKey` that travels inside the ciphertext.
 * - tag = HMAC-SHA-256(serverKey[kid], tagInput): made by the server at send, binding the commitment to
 *   who sent it to whom, when, under which id. Only the server can make or check it.
 *
 * A report reveals frankKey and the content; the server recomputes both MACs, so a reporter can neither
 * invent content the sender did not commit to nor pin a real commitment on another sender or message.
 */
import type { AttachmentRef } from './attachment-ref';
import { fromBase64Url } from './base64url';

export const FRANK_KEY_BYTES = 32;
export const COMMITMENT_BYTES = 32;
export const FRANK_TAG_BYTES = 32;

export type ContentKind = 'text' | 'bytes';

/**
 * The `to` a `fanout` commitment binds (ARCH §6.11): one ciphertext and one commitment serve every recipient,
 * so none of them can be named in it. The server's tag, made per copy, binds the recipient device instead.
 */
export const FANOUT_RECIPIENT = '';

const encoder = new TextEncoder();

/** u32-length-prefixed concatenation of `parts` (strings as UTF-8). */
export function lengthPrefixed(parts: readonly (string | Uint8Array)[]): Uint8Array {
  const encoded = parts.map((p) => (typeof p === 'string' ? encoder.encode(p) : p));
  const out = new Uint8Array(encoded.reduce((n, p) => n + 4 + p.length, 0));
  const view = new DataView(out.buffer);
  let offset = 0;
  for (const part of encoded) {
    view.setUint32(offset, part.length);
    out.set(part, offset + 4);
    offset += 4 + part.length;
  }
  return out;
}

export interface CommittedContent {
  /** Sender and recipient user ids and the message id: the commitment's context. */
  readonly from: string;
  readonly to: string;
  readonly id: string;
  readonly kind: ContentKind;
  /** The content as the app sent it (UTF-8 for text). */
  readonly body: Uint8Array;
  /**
   * The message's attachments (ARCH §8.10): each one's object id, key, digest, size, name and type are
   * committed to, so a report can prove which stored object the sender sent and what it decrypts to.
   */
  readonly attachments?: readonly AttachmentRef[];
}

/**
 * A message without attachments commits to the same bytes as before attachments existed. With attachments,
 * one more part follows the body: their own length-prefixed list, so no attachment field can be read as
 * another or as part of the body.
 */
export function commitmentInput(c: CommittedContent): Uint8Array {
  const parts: (string | Uint8Array)[] = ['ebb/frank/v1/commitment', c.from, c.to, c.id, c.kind, c.body];
  if (c.attachments && c.attachments.length > 0) parts.push(attachmentsInput(c.attachments));
  return lengthPrefixed(parts);
}

function attachmentsInput(attachments: readonly AttachmentRef[]): Uint8Array {
  const parts: (string | Uint8Array)[] = ['ebb/frank/v1/attachments', String(attachments.length)];
  for (const a of attachments) parts.push(a.id, a.key, a.digest, String(a.size), a.name, a.type);
  return lengthPrefixed(parts);
}

export interface TaggedDelivery {
  /** base64url commitment as sent. */
  readonly commitment: string;
  readonly from: { readonly user: string; readonly device: number };
  readonly to: { readonly user: string; readonly device: number };
  readonly sentAt: number;
  readonly id: string;
}

export function tagInput(d: TaggedDelivery): Uint8Array {
  return lengthPrefixed([
    'ebb/frank/v1/tag',
    fromBase64Url(d.commitment),
    d.from.user,
    String(d.from.device),
    d.to.user,
    String(d.to.device),
    String(d.sentAt),
    d.id,
  ]);
}
