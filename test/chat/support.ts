import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChatSession } from '../../chat/session';
import type { ChatOutput } from '../../chat/output';
import { until } from '../support/sdk';

/** What a session printed, one entry per line; a progress line is replaced in place, as on a terminal. */
export class BufferOutput implements ChatOutput {
  readonly lines: string[] = [];

  line(text: string): void {
    this.lines.push(text);
  }

  progress(text: string): (next: string) => void {
    const index = this.lines.push(text) - 1;
    return (next) => void (this.lines[index] = next);
  }

  /** Waits for a line matching `pattern` and returns it. */
  async waitFor(pattern: RegExp | string, timeoutMs = 5000): Promise<string> {
    const matches = (line: string) => (typeof pattern === 'string' ? line.includes(pattern) : pattern.test(line));
    await until(() => this.lines.some(matches), `a line matching ${String(pattern)} in:\n${this.lines.join('\n')}`, timeoutMs);
    return this.lines.find(matches)!;
  }
}

export interface Chat {
  readonly session: ChatSession;
  readonly out: BufferOutput;
  /** Handles each line in turn, as the terminal does. */
  type(...lines: string[]): Promise<void>;
}

/** Temporary profile directories, removed by `removeProfiles`. */
const profiles: string[] = [];
const open: ChatSession[] = [];

export async function newProfile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ebb-chat-'));
  profiles.push(dir);
  return dir;
}

export async function openChat(url: string, profile: string, passphrase = async () => 'correct horse battery'): Promise<Chat> {
  const out = new BufferOutput();
  const session = await ChatSession.open({ url, profile, out, passphrase });
  open.push(session);
  return {
    session,
    out,
    type: async (...lines) => {
      for (const line of lines) await session.handleLine(line);
    },
  };
}

/** Closes every session `openChat` opened and removes the profiles. */
export async function cleanUp(): Promise<void> {
  await Promise.all(open.splice(0).map((session) => session.close()));
  await Promise.all(profiles.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A username no other test of the run holds (they are unique on the stack). */
let names = 0;
export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid % 10_000}_${++names}`;
}
