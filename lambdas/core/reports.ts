import { attachmentRefFromWire } from '../../protocol/attachment-ref';
import { fromBase64Url } from '../../protocol/base64url';
import { FANOUT_RECIPIENT } from '../../protocol/franking';
import type { ReportFrame, Results } from '../../protocol/frames';
import { requireAccount } from './accounts';
import { reportIdOf, verifyCommitment, verifyFrankTag } from './franking';
import { requirePhaseAllows } from './phase';
import type { Caller, Ports, ReportRecord } from './ports';
import { requireRateToken } from './rate-limits';
import { Refusal } from './refusal';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * `report` (ARCH §9.2): the caller reveals a message it received — the content and the franking key from
 * inside the ciphertext, with the envelope's franking fields. The server's tag proves the message was sent
 * by `from` to the caller at `sentAt` under that id and commitment; the commitment proves the content is what
 * the sender committed to. Only then is the report stored, and it stores nothing but who, when, why and what.
 */
export async function report(ports: Ports, caller: Caller, frame: ReportFrame): Promise<Results['report']> {
  requirePhaseAllows(ports, 'report');
  await requireAccount(ports, caller);
  await requireRateToken(ports, 'report', caller.userId);

  const { message } = frame;
  const key = await ports.frankingKeys.find(message.frank.kid);
  if (!key) throw new Refusal('FORBIDDEN', 'the franking key of this message is unknown or no longer accepted');
  const delivery = {
    commitment: message.frank.commitment,
    from: message.from,
    to: { user: caller.userId, device: caller.device },
    sentAt: message.sentAt,
    id: message.id,
  };
  if (!verifyFrankTag(key, delivery, message.frank.tag)) {
    throw new Refusal('FORBIDDEN', 'the franking tag does not match a message delivered to this device');
  }
  const body = fromBase64Url(frame.content.body);
  const frankKey = fromBase64Url(frame.frankKey);
  const attachments = (frame.content.attachments ?? []).map(attachmentRefFromWire);
  if (attachments.some((a) => a === null)) throw new Refusal('BAD_REQUEST', 'an attachment key or digest is not canonical base64url');
  const committed = { from: message.from.user, id: message.id, kind: frame.content.kind, body, attachments: attachments.map((a) => a!) };
  const committedTo = (to: string) => verifyCommitment(frankKey, { ...committed, to }, message.frank.commitment);
  // A `send` commitment names the recipient; a `fanout` one, made once for every recipient, names none
  // (ARCH §6.11). Either way the tag above already proved that this device received it from `from`.
  if (!committedTo(caller.userId) && !committedTo(FANOUT_RECIPIENT)) {
    throw new Refusal('FORBIDDEN', 'the content and franking key do not match the message commitment');
  }

  const record: ReportRecord = {
    reportId: reportIdOf(caller, message.from.user, message.id),
    reporter: { userId: caller.userId, device: caller.device },
    sender: { userId: message.from.user, device: message.from.device },
    messageId: message.id,
    sentAt: message.sentAt,
    reportedAt: ports.clock.now(),
    reason: frame.reason,
    ...storedContent(frame.content.kind, body, frame.content.body),
    ...(frame.content.attachments && { attachments: frame.content.attachments }),
  };
  const { created } = await ports.reports.create(record);
  ports.logger.info('report', { reportId: record.reportId, reporter: caller.userId, sender: record.sender.userId, duplicate: !created });
  return { reportId: record.reportId, duplicate: !created };
}

/** Text as text, for an operator to read; anything else (or text that is not UTF-8) as base64url. */
function storedContent(kind: 'text' | 'bytes', body: Uint8Array, base64: string): Pick<ReportRecord, 'kind' | 'content'> {
  if (kind === 'text') {
    try {
      return { kind, content: utf8.decode(body) };
    } catch {
      // Committed as text but not UTF-8: keep the bytes exactly.
    }
  }
  return { kind: 'bytes', content: base64 };
}
