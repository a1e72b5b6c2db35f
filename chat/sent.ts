import type { Receipt } from '../client-sdk/src';

/** How many sent messages keep their line updatable by receipts; older ones are forgotten. */
const REMEMBERED = 500;

const TICKS = { delivered: '✓ delivered', read: '✓✓ read' } as const;

interface SentLine {
  readonly head: string;
  readonly notes: readonly string[];
  readonly update: (text: string) => void;
  receipt?: 'delivered' | 'read';
}

/**
 * The lines of messages this account sent, by message id, so a recipient's receipt (ARCH §8.6) can add
 * ✓ delivered or ✓✓ read to them: in place on a terminal while the line is the last one, else as a new one.
 */
export class SentLines {
  private readonly lines = new Map<string, SentLine>();
  /** Receipts for a message whose send has not resolved yet (its line is not known by id yet). */
  private readonly early = new Map<string, 'delivered' | 'read'>();

  /** `head` and `notes` make the line: `head  (notes, tick)`. */
  add(id: string, head: string, notes: readonly string[], update: (text: string) => void): void {
    const line: SentLine = { head, notes, update };
    this.lines.set(id, line);
    if (this.lines.size > REMEMBERED) this.lines.delete(this.lines.keys().next().value!);
    const early = this.early.get(id);
    this.early.delete(id);
    if (early) this.tick(line, early);
    else line.update(render(line));
  }

  receipt(receipt: Receipt): void {
    const line = this.lines.get(receipt.messageId);
    if (line) return this.tick(line, receipt.kind);
    if (this.early.size < REMEMBERED) this.early.set(receipt.messageId, furthest(this.early.get(receipt.messageId), receipt.kind));
  }

  private tick(line: SentLine, kind: 'delivered' | 'read'): void {
    const next = furthest(line.receipt, kind);
    if (next === line.receipt) return;
    line.receipt = next;
    line.update(render(line));
  }
}

function render(line: SentLine): string {
  return `${line.head}  (${[...line.notes, ...(line.receipt ? [TICKS[line.receipt]] : [])].join(', ')})`;
}

/** Read implies delivered: a line never goes back from ✓✓ to ✓. */
function furthest(current: 'delivered' | 'read' | undefined, next: 'delivered' | 'read'): 'delivered' | 'read' {
  return current === 'read' || next === 'read' ? 'read' : 'delivered';
}
