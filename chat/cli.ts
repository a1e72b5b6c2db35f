import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { printable } from '../shared/printable';
import { EbbError } from '../client-sdk/src';
import { ChatSession } from './session';
import { type ChatStreams, Terminal, processStreams } from './terminal';

export const DEFAULT_URL = 'ws://127.0.0.1:8787';
/** One profile per user account on the machine, outside any repository checkout. */
export const DEFAULT_PROFILE = join(homedir(), '.ebb', 'profile');

interface ChatOptions {
  readonly url: string;
  readonly profile: string;
  readonly passphraseFile?: string;
}

/** `ebb`: the user's command line. `ebb chat` is a terminal chat on one profile. */
export function buildProgram(streams: ChatStreams, done: (code: number) => void): Command {
  const program = new Command('ebb')
    .description('ebb from a terminal')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void streams.output.write(text),
      writeErr: (text) => void streams.error.write(text),
      outputError: (text, write) => write(`ebb: ${text.trim().replace(/^error: /, '')}\n`),
    });
  program
    .command('chat')
    .description('chat in this terminal; /help lists the commands')
    .option('--url <url>', 'the service WebSocket URL', DEFAULT_URL)
    .option('--profile <dir>', 'where the identity, sessions and chat settings are kept', DEFAULT_PROFILE)
    .option('--passphrase-file <file>', '/export reads the passphrase from this file (for scripts) instead of asking')
    .action(async (options: ChatOptions) => done(await chat(options, streams)));
  return program;
}

/** Runs one command line; resolves with the exit code. Failures print one line, never a stack trace. */
export async function main(argv: readonly string[] = process.argv, streams: ChatStreams = processStreams): Promise<number> {
  let code = 0;
  try {
    await buildProgram(streams, (exit) => (code = exit)).parseAsync([...argv]);
    return code;
  } catch (error) {
    // Commander has printed its own message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode;
    streams.error.write(`ebb: ${describe(error)}\n`);
    return 1;
  }
}

async function chat(options: ChatOptions, streams: ChatStreams): Promise<number> {
  const terminal = new Terminal(streams);
  const passphrase = options.passphraseFile !== undefined ? () => readPassphrase(options.passphraseFile!) : () => askPassphrase(terminal);
  let session: ChatSession;
  try {
    session = await ChatSession.open({ url: options.url, profile: options.profile, out: terminal, passphrase, onEnd: () => terminal.close() });
  } catch (error) {
    terminal.close();
    streams.error.write(`ebb: ${describe(error)}\n`);
    return 1;
  }
  await terminal.run((line) => session.handleLine(line));
  await session.close();
  return 0;
}

/** The file's text without its final newline, which editors add and no one means as part of it. */
async function readPassphrase(file: string): Promise<string> {
  return (await readFile(file, 'utf8')).replace(/\r?\n$/, '');
}

async function askPassphrase(terminal: Terminal): Promise<string> {
  const passphrase = await terminal.askSecret('passphrase for the archive (15 characters or more): ');
  // Typed blind, so typed twice; a piped one was not mistyped.
  if (terminal.isTty && (await terminal.askSecret('the same passphrase again: ')) !== passphrase) throw new Error('the passphrases differ');
  return passphrase;
}

function describe(error: unknown): string {
  if (EbbError.is(error)) return `${error.code}: ${printable(error.message)}`;
  return printable(error instanceof Error ? error.message : String(error));
}
