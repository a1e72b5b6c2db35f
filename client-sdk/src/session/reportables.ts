import * as v from 'valibot';
import { AttachmentRefsWire, type AttachmentRefWire } from '../../../protocol/attachment-ref';
import { Device, Frank, MessageId, Timestamp, UserId } from '../../../protocol/frames';
import type { KeyStore } from '../store/key-store';
import { StoreKeys } from '../store/layout';

/**
 * What report() needs of a received message (ARCH §9.2): the envelope fields the server's tag covers,
 * and the franking key and content that reproduce the commitment. Bytes are base64url, as the report
 * frame carries them.
 */
export interface Reportable {
  readonly id: string;
  readonly from: { readonly user: string; readonly device: number };
  readonly sentAt: number;
  /** When the message expires for this client; the record is deleted from then on. */
  readonly expiresAt: number;
  readonly frank: Frank;
  readonly frankKey: string;
  readonly kind: 'text' | 'bytes';
  readonly body: string;
  /** The message's attachment references (ARCH §8.10), which its commitment covers: reported with it. */
  readonly attachments?: readonly AttachmentRefWire[];
}

const StoredReportable = v.object({
  id: MessageId,
  from: v.object({ user: UserId, device: Device }),
  sentAt: Timestamp,
  expiresAt: Timestamp,
  frank: Frank,
  frankKey: v.string(),
  kind: v.picklist(['text', 'bytes']),
  body: v.string(),
  attachments: v.optional(AttachmentRefsWire),
});

/** How many records are kept at most once pruned: the newest by `sentAt`. */
export const MAX_REPORTABLE = 2000;
/** Records written beyond MAX_REPORTABLE before a prune runs again, so a prune's cost is shared by many messages. */
const PRUNE_SLACK = 200;

/**
 * The received messages kept for report(), one store entry each. They hold plaintext, so they are
 * bounded: deleted once the message expires (a report of an expired message could not be checked
 * against the queue's lifetime anyway, and an ephemeral message must not outlive its expiry here) and
 * capped at the newest MAX_REPORTABLE, so storage stays bounded on a long-lived connection too.
 */
export class Reportables {
  /** Records in the store as of the last prune plus those kept since; unknown until the first prune. */
  private count = Number.POSITIVE_INFINITY;

  constructor(
    private readonly store: KeyStore,
    private readonly now: () => number,
    private readonly max = MAX_REPORTABLE,
  ) {}

  /** Keeps `record`, pruning first when the store may hold more than the cap allows. */
  async keep(record: Reportable): Promise<void> {
    if (this.count >= this.max + PRUNE_SLACK) await this.prune();
    await this.store.set(StoreKeys.reportable(record.from.user, record.id), JSON.stringify(record));
    this.count++;
  }

  /**
   * The record of message `id` from `sender`, or null when none is kept or it has expired (it is then
   * deleted). A record an older SDK kept under the id alone counts only if it names the same sender.
   */
  async find(sender: string, id: string): Promise<Reportable | null> {
    const found = await this.live(StoreKeys.reportable(sender, id));
    if (found) return found;
    const legacy = await this.live(StoreKeys.legacyReportable(id));
    return legacy && legacy.from.user === sender ? legacy : null;
  }

  /** Every live record of a message with this id, whoever sent it: ids are chosen by senders, so there may be several. */
  async withId(id: string): Promise<Reportable[]> {
    // Both layouts end in `/<id>`: `reportable/<sender>/<id>` and the legacy `reportable/<id>`.
    const suffix = `/${id}`;
    const found: Reportable[] = [];
    for (const key of await this.store.list(StoreKeys.reportablePrefix)) {
      if (!key.endsWith(suffix)) continue;
      const record = await this.live(key);
      // A legacy record and a newer one of the same message are one message.
      if (record && !found.some((r) => r.from.user === record.from.user)) found.push(record);
    }
    return found;
  }

  private async live(key: string): Promise<Reportable | null> {
    const record = parseRecord(await this.store.get(key));
    if (record && record.expiresAt > this.now()) return record;
    if (record) await this.store.delete(key);
    return null;
  }

  /** Deletes expired and unreadable records, then the oldest beyond the cap. */
  async prune(): Promise<void> {
    const nowMs = this.now();
    const live: { key: string; sentAt: number }[] = [];
    for (const key of await this.store.list(StoreKeys.reportablePrefix)) {
      const record = parseRecord(await this.store.get(key));
      if (record && record.expiresAt > nowMs) live.push({ key, sentAt: record.sentAt });
      else await this.store.delete(key);
    }
    live.sort((a, b) => b.sentAt - a.sentAt);
    for (const { key } of live.slice(this.max)) await this.store.delete(key);
    this.count = Math.min(live.length, this.max);
  }
}

function parseRecord(value: string | undefined): Reportable | null {
  if (value === undefined) return null;
  try {
    const parsed = v.safeParse(StoredReportable, JSON.parse(value));
    return parsed.success ? parsed.output : null;
  } catch {
    return null;
  }
}
