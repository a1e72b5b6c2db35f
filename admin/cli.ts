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
      outputError: (text, write) => write(`ebb-admin: ${text.trim().replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')}`),
    });
  registerSunsetCommands(program, io);
  registerSuspensionCommands(program, io);
  registerReportCommands(program, io);
  registerStatsCommand(program, io);
  registerFrankingCommands(program, io);
  return program;
}

/** Runs one command line; resolves with the exit code. Failures print one line, never a stack trace. */
export async function main(argv: readonly string[] = process.argv, io: Io = processIo): Promise<number> {
  try {
    await buildProgram(io).parseAsync([...argv]);
    return 0;
  } catch (error) {
    // Commander has printed its own message (or the help) already.
    if (error instanceof CommanderError) return error.exitCode;
    io.err(`ebb-admin: ${describeError(error)}`);
    return 1;
  }
}
