import { fromBase64Url, toBase64Url } from '../../../protocol/base64url';
import type { Envelope } from '../../../protocol/frames';
import { FANOUT_RECIPIENT } from '../../../protocol/franking';
import { verifyCommitment } from '../crypto/franking';
import type { Identity } from '../identity/identity';
import type { GroupOpened } from '../session/inbox';
import type { Reportable } from '../session/reportables';
import type { ReceivedMessage } from '../types';
import type { SenderKeys } from './distribution';
import { decodeGroupPlaintext, groupAssociatedData, isGroupCiphertext } from './wiring-message';

/** What opening a group message needs to know of the groups this device is in. */
export interface Membership {
  /** The members of `group` when this device is in it, else null. */
  members(group: string): readonly string[] | null;
  /** Whether `user` is in a group with this device: a message of its whose key is unknown may be waited for. */
  sharesGroup(user: string): boolean;
}

/** The ordering lane of `user`'s messages in `group` (session/ordering.ts): one per group and sender. */
export function groupLane(group: string, user: string): string {
  // Group ids and user ids are base64url: '.' joins them unambiguously, and '/' (the store's separator) never occurs.
  return `${group}.${user}`;
}

/** Whether an envelope's ciphertext is a group message: its first byte is the sender-key version. */
export function isGroupEnvelope(envelope: Envelope): boolean {
  // The first 4 base64url characters are the first 3 bytes: enough to read the version byte.
  try {
    return isGroupCiphertext(fromBase64Url(envelope.ciphertext.slice(0, 4)));
  } catch {
    return false;
  }
}

/**
 * Opens a group message (ARCH §8.8): finds the group by the sender device's key id, checks that this device
 * and the sender are members, verifies the sender's signature and opens the content under the sender key
 * with the group and sender device as associated data, checks that the plaintext names the envelope's sender,
 * group and id, and that the franking commitment opens. Null for anything that fails, without saying which.
 */
export async function openGroupMessage(
  envelope: Envelope,
  deps: { identity: Identity; senderKeys: SenderKeys; membership: Membership; now: () => number },
): Promise<GroupOpened | 'wait' | null> {
  const { senderKeys, membership } = deps;
  const { user, device } = envelope.from;
  let ciphertext: Uint8Array;
  try {
    ciphertext = fromBase64Url(envelope.ciphertext);
  } catch {
    return null;
  }
  const group = await senderKeys.groupOf(user, device, ciphertext);
  if (group === null) return membership.sharesGroup(user) ? 'wait' : null;
  const members = membership.members(group);
  if (!members?.includes(user)) return null;
  const bytes = await senderKeys.decrypt(group, user, device, ciphertext, groupAssociatedData(group, user, device));
  const p = bytes && decodeGroupPlaintext(bytes);
  if (!p || p.from !== user || p.fromDevice !== device || p.group !== group || p.id !== envelope.id) return null;
  const kind = p.text === undefined ? 'bytes' : 'text';
  const committed = { from: user, to: FANOUT_RECIPIENT, id: envelope.id, kind, body: p.body } as const;
  if (!verifyCommitment(p.frankKey, committed, envelope.frank.commitment)) return null;
  // As for pairwise messages (session/inbox.ts): the server may shorten a lifetime, never extend it.
  const expiresAt =
    p.expiresInSeconds === undefined ? undefined : Math.min(envelope.expiresAt, Math.min(envelope.sentAt, deps.now()) + p.expiresInSeconds * 1000);
  const message: ReceivedMessage = {
    id: envelope.id,
    from: user,
    fromDevice: device,
    ...(p.text !== undefined && { text: p.text }),
    body: p.body,
    sentAt: new Date(envelope.sentAt),
    ...(expiresAt !== undefined && { expiresAt: new Date(expiresAt) }),
    ...(p.burnAfterReadingSeconds !== undefined && { burnAfterReadingSeconds: p.burnAfterReadingSeconds }),
    group,
  };
  const reportable: Reportable = {
    id: envelope.id,
    from: envelope.from,
    sentAt: envelope.sentAt,
    expiresAt: expiresAt ?? envelope.expiresAt,
    frank: envelope.frank,
    frankKey: toBase64Url(p.frankKey),
    kind,
    body: toBase64Url(p.body),
  };
  return {
    message,
    reportable,
    lane: groupLane(group, user),
    seq: p.seq,
    ...(p.deliveryToken && { deliveryToken: p.deliveryToken }),
  };
}
