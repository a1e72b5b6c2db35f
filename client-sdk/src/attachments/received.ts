import * as v from 'valibot';
import { type AttachmentRef, AttachmentRefWire, attachmentRefFromWire, attachmentRefToWire } from '../../../protocol/attachment-ref';
import type { DownloadOptions, ReceivedAttachment } from '../types';
import { downloadAttachment, downloadAttachmentTo } from './download';
import type { AttachmentRoutes, Fetch } from './routes';

/** What every received attachment downloads through: the client's presign routes. */
export interface AttachmentTransport {
  readonly routes: AttachmentRoutes;
  readonly fetch?: Fetch;
}

/**
 * A received attachment bound to the client that downloads it. Its key and digest are private fields; it
 * serializes (JSON) to its reference, so a message held in the store for ordering keeps what opens its files,
 * and `bindAttachments` binds it again when it is handed to the app.
 */
class BoundAttachment implements ReceivedAttachment {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  readonly size: number;
  readonly #ref: AttachmentRef;
  readonly #transport: AttachmentTransport;

  constructor(ref: AttachmentRef, transport: AttachmentTransport) {
    this.id = ref.id;
    this.name = ref.name;
    this.type = ref.type;
    this.size = ref.size;
    this.#ref = ref;
    this.#transport = transport;
  }

  download(options: DownloadOptions = {}): Promise<Uint8Array> {
    return downloadAttachment(this.#ref, { ...this.#transport, ...(options.onProgress && { onProgress: options.onProgress }) });
  }

  downloadTo(write: (chunk: Uint8Array) => void | Promise<void>, options: DownloadOptions = {}): Promise<void> {
    return downloadAttachmentTo(this.#ref, write, { ...this.#transport, ...(options.onProgress && { onProgress: options.onProgress }) });
  }

  toJSON(): AttachmentRefWire {
    return attachmentRefToWire(this.#ref);
  }
}

export function bindAttachment(ref: AttachmentRef, transport: AttachmentTransport): ReceivedAttachment {
  return new BoundAttachment(ref, transport);
}

/**
 * `message` with every attachment bound to `transport`. One that went through JSON (a message held in the
 * store) is bound again from its reference; one that no longer parses is left out.
 */
export function bindAttachments<T extends { readonly attachments?: readonly ReceivedAttachment[] }>(message: T, transport: AttachmentTransport): T {
  if (!message.attachments) return message;
  const bound: ReceivedAttachment[] = [];
  for (const a of message.attachments as readonly unknown[]) {
    if (a instanceof BoundAttachment) bound.push(a);
    else {
      const wire = v.safeParse(AttachmentRefWire, a);
      const ref = wire.success ? attachmentRefFromWire(wire.output) : null;
      if (ref) bound.push(new BoundAttachment(ref, transport));
    }
  }
  return { ...message, attachments: bound };
}

/** The reference behind a received attachment, for report(). */
export function refOf(attachment: ReceivedAttachment): AttachmentRefWire {
  return (attachment as BoundAttachment).toJSON();
}
