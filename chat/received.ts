import { printable } from '../shared/printable';
import { relativeTime } from '../shared/relative-time';
import type { ReceivedAttachment, ReceivedMessage } from '../client-sdk/src';
import { sizeText } from './attachments';
import { Alarms } from './alarms';
import { clock, duration } from './format';

export interface ReceivedEntry {
  readonly id: string;
  readonly from: string;
  /** What `/save N` downloads. */
  readonly attachments?: readonly ReceivedAttachment[];
}

/**
 * Received messages under the short numbers printed next to them (`#3`), which `/report` and `/to` take,
 * until they expire or burn.
 */
export class ReceivedMessages {
  private readonly byNumber = new Map<number, ReceivedEntry>();
  private last = 0;
  private readonly alarms: Alarms;

  constructor(
    private readonly now: () => number,
    private readonly label: (userId: string) => string,
    private readonly print: (text: string) => void,
  ) {
    this.alarms = new Alarms(now);
  }

  get(number: number): ReceivedEntry | undefined {
    return this.byNumber.get(number);
  }

  /** Prints `message` as `[HH:MM:SS] <sender> text  #N (notes)`, every character a peer chose escaped. */
  show(message: ReceivedMessage): void {
    const number = ++this.last;
    this.byNumber.set(number, { id: message.id, from: message.from, ...(message.attachments && { attachments: message.attachments }) });
    const notes: string[] = [];
    if (message.identityChanged) notes.push('from a NEW identity key you have not accepted');
    if (message.expiresAt) notes.push(`expires ${relativeTime(message.expiresAt.getTime(), this.now())}`);
    if (message.burnAfterReadingSeconds !== undefined) notes.push(`burns ${duration(message.burnAfterReadingSeconds)} after reading`);
    const text = message.text !== undefined ? printable(message.text) : `(${message.body.length} bytes that are not text)`;
    this.print(
      `${clock(message.sentAt.getTime())} <${this.label(message.from)}> ${text}  #${number}${notes.length > 0 ? ` (${notes.join('; ')})` : ''}`,
    );
    for (const a of message.attachments ?? []) {
      this.print(`    attachment: ${printable(a.name)} (${printable(a.type)}, ${sizeText(a.size)})  /save ${number} to keep it`);
    }
    if (message.expiresAt) this.alarms.at(message.expiresAt.getTime(), () => this.remove(number, 'expired'));
    // Printing it is reading it: the burn countdown starts now.
    if (message.burnAfterReadingSeconds !== undefined) {
      this.alarms.at(this.now() + message.burnAfterReadingSeconds * 1000, () => this.remove(number, 'burned'));
    }
  }

  /** Stops the expiry and burn timers. */
  stop(): void {
    this.alarms.cancelAll();
  }

  /** A terminal cannot unprint a line: say the message is gone, and forget it. */
  private remove(number: number, why: 'expired' | 'burned'): void {
    const message = this.byNumber.get(number);
    if (!message) return;
    this.byNumber.delete(number);
    this.print(`${clock(this.now())} (${why}) #${number} from ${this.label(message.from)} is gone`);
  }
}
