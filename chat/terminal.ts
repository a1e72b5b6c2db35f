import * as readline from 'node:readline';
import { Writable } from 'node:stream';
import type { ChatOutput } from './output';

export interface ChatStreams {
  readonly input: NodeJS.ReadableStream;
  readonly output: NodeJS.WritableStream & { readonly isTTY?: boolean; readonly columns?: number };
  readonly error: NodeJS.WritableStream;
}

export const processStreams: ChatStreams = { input: process.stdin, output: process.stdout, error: process.stderr };

const PROMPT = '> ';

/**
 * node:readline over the process's streams: the prompt, printing above what the user is typing, and
 * reading a passphrase without echoing it. On a pipe it reads and writes plain lines.
 */
export class Terminal implements ChatOutput {
  private readonly rl: readline.Interface;
  private readonly echo: EchoControl;
  /** Our own history array, so a passphrase can be taken out of it again. */
  private readonly history: string[] = [];
  private readonly tty: boolean;
  /** Lines read but not yet handled: a passphrase is the next of them, also when piped in ahead of time. */
  private readonly lines: string[] = [];
  private waiting: (() => void) | undefined;
  private written = 0;
  private closed = false;
  private asking = false;

  constructor(private readonly streams: ChatStreams) {
    this.tty = streams.output.isTTY === true && (streams.input as { isTTY?: boolean }).isTTY === true;
    this.echo = new EchoControl(streams.output);
    this.rl = readline.createInterface({ input: streams.input, output: this.echo, terminal: this.tty, history: this.history, prompt: PROMPT });
    this.rl.on('line', (line) => {
      this.lines.push(line);
      this.waiting?.();
    });
    this.rl.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    // Ctrl+C leaves like /quit.
    this.rl.on('SIGINT', () => this.rl.close());
  }

  /** Hands each line to `onLine`, one at a time, until it resolves false or the input ends. */
  async run(onLine: (line: string) => Promise<boolean>): Promise<void> {
    this.prompt();
    for (let line = await this.nextLine(); line !== undefined; line = await this.nextLine()) {
      if (!(await onLine(line))) break;
      this.prompt();
    }
    this.rl.close();
  }

  /** Whether both ends are a terminal: a prompt, line editing, and no echo for secrets. */
  get isTty(): boolean {
    return this.tty;
  }

  close(): void {
    this.rl.close();
  }

  line(text: string): void {
    this.write(text);
  }

  progress(text: string): (next: string) => void {
    const serial = this.write(text);
    return (next) => {
      const columns = this.streams.output.columns ?? 0;
      if (
        !this.tty ||
        this.closed ||
        serial !== this.written ||
        !fitsOneRow(text, columns) ||
        !fitsOneRow(next, columns) ||
        this.rl.getCursorPos().rows > 0
      ) {
        this.write(next);
        return;
      }
      // Still the line right above the prompt: overwrite it.
      readline.cursorTo(this.streams.output, 0);
      readline.moveCursor(this.streams.output, 0, -1);
      readline.clearScreenDown(this.streams.output);
      this.streams.output.write(`${next}\n`);
      this.prompt();
    };
  }

  /**
   * The next line, not echoed on a terminal and kept out of the line history.
   * @throws Error when the input ends first.
   */
  async askSecret(prompt: string): Promise<string> {
    // A pipe gets the prompt as a line of its own, like everything else it is sent.
    this.streams.output.write(this.tty ? prompt : `${prompt}\n`);
    this.asking = true;
    this.echo.muted = this.tty;
    try {
      const line = await this.nextLine();
      if (line === undefined) throw new Error('input closed');
      if (this.history[0] === line) this.history.shift();
      return line;
    } finally {
      this.asking = false;
      this.echo.muted = false;
      // readline's own newline went to the muted echo.
      if (this.tty) this.streams.output.write('\n');
    }
  }

  /** The next line read, or undefined once the input has ended and every line was taken. */
  private async nextLine(): Promise<string | undefined> {
    while (this.lines.length === 0 && !this.closed) await new Promise<void>((resolve) => (this.waiting = resolve));
    this.waiting = undefined;
    return this.lines.shift();
  }

  /** Prints above the prompt and what the user is typing, then redraws them. */
  private write(text: string): number {
    if (this.tty && !this.closed) {
      readline.moveCursor(this.streams.output, 0, -this.rl.getCursorPos().rows);
      readline.cursorTo(this.streams.output, 0);
      readline.clearScreenDown(this.streams.output);
    }
    this.streams.output.write(`${text}\n`);
    this.prompt();
    return ++this.written;
  }

  private prompt(): void {
    if (this.tty && !this.closed && !this.asking) this.rl.prompt(true);
  }
}

/**
 * Whether `text` surely takes one terminal row: its line was escaped, so only width matters. A line with
 * a character that may be double width (East Asian scripts, emoji) is printed anew rather than overwritten.
 */
function fitsOneRow(text: string, columns: number): boolean {
  const chars = [...text];
  return chars.length < columns && chars.every((c) => !mayBeWide(c.codePointAt(0)!));
}

const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f],
  [0x231a, 0x23ff],
  [0x2600, 0x27bf],
  [0x2e80, 0xa4cf],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe30, 0xfe4f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x1f000, 0x10ffff],
];

function mayBeWide(codePoint: number): boolean {
  return WIDE_RANGES.some(([from, to]) => codePoint >= from && codePoint <= to);
}

/** The terminal, unless muted: readline echoes what is typed through it, and a passphrase must not show. */
class EchoControl extends Writable {
  muted = false;

  constructor(private readonly target: ChatStreams['output']) {
    super();
    (target as NodeJS.EventEmitter).on?.('resize', () => this.emit('resize'));
  }

  /** readline wraps the line it edits at this width. */
  get columns(): number | undefined {
    return this.target.columns;
  }

  // Strings arrive decoded to Buffers (decodeStrings defaults to true).
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (!this.muted) this.target.write(chunk);
    callback();
  }
}
