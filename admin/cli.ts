import { Command, CommanderError } from 'commander';
import { describeError } from './errors';
import { registerFrankingCommands } from './franking';
import { processIo, type Io } from './io';
import { registerReportCommands } from './reports';
import { registerStatsCommand } from './stats';
import { registerSunsetCommands } from './sunset';
import { registerSuspensionCommands } from './suspension';

/**
 * `ebb-admin`: the operator's CLI against a local stack (`--dynamodb-endpoint`) or a deployed one
 * (`--stack`). One file per command group, each registered here.
 */
export function buildProgram(io: Io = processIo): Command {
  const program = new Command('ebb-admin')
    .description('Operator CLI for an ebb deployment, local or on AWS')
    // Settings set before any subcommand exists are inherited by every one of them.
    .exitOverride()
    .configureOutput({
      writeOut: (text) => io.out(text.trimEnd()),
      writeErr: (text) => io.err(text.trimEnd()),
      // Usage errors read like every other failure: `ebb-admin: unknown option '--x'`.
      outputError: (text, write) =>
        write(
          `ebb-admin: ${text
            .trim()
            .replace(/^error: /, '')
            .replace(/\s*\n\s*/g, ' ')}`,
        ),
    });
  registerSunsetCommands(program, io);
  registerSuspensionCommands(program, io);
  registerReportCommands(program, io);
  registerStatsCommand(program, io);
  registerFrankingCommands(program, io);
  return program;
}

/** Runs one command line; resolves with the exit code. Failures print one line, never a stack trace. */
/** Flags that take no value; every other `--flag` without `=` takes the next token as its value. */
const BOOLEAN_FLAGS = new Set(['--json', '--help', '-h']);
/** A user, report or message id that begins with "-" (base64url allows it): never one of our options. */
const DASHED_ID = /^-[A-Za-z0-9_-]{15,}$/;

/**
 * Moves ids that begin with "-" behind a `--`, so commander reads `suspend -cyQU0…` as an operand
 * instead of an unknown option. Option values (`--sender -cyQU0…`) stay where they are.
 */
export function dashedIdsAsOperands(argv: readonly string[]): string[] {
  const end = argv.indexOf('--');
  const head = end < 0 ? argv : argv.slice(0, end);
  const tail = end < 0 ? [] : argv.slice(end + 1);
  const kept: string[] = [];
  const ids: string[] = [];
  head.forEach((token, i) => {
    const previous = head[i - 1] ?? '';
    const isValue = i > 0 && previous.startsWith('-') && !previous.includes('=') && !BOOLEAN_FLAGS.has(previous) && !DASHED_ID.test(previous);
    if (i >= 2 && DASHED_ID.test(token) && !token.startsWith('--') && !isValue) ids.push(token);
    else kept.push(token);
  });
  return ids.length + tail.length === 0 ? kept : [...kept, '--', ...ids, ...tail];
}

export async function main(argv: readonly string[] = process.argv, io: Io = processIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync(dashedIdsAsOperands(argv));
    return 0;
  } catch (error) {
    // Commander has printed its own message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode;
    io.err(`ebb-admin: ${describeError(error)}`);
    return 1;
  }
}
