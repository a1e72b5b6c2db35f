import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError, phaseAt, scheduleFromConfig, type EbbConfig } from '../protocol';
import { jsonLogger } from '../lambdas/adapters/logger';
import type { LifecycleOutcome } from '../lambdas/core/lifecycle';
import { startLocalStack } from './index';
import { serveWebChat } from './web';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm start -- [--port N] [--config FILE] [--log info|warn|error]

  --port N       port of the WebSocket and the web chat (default 8787; 0 picks a free one)
  --config FILE  a cdk.json (its context.ebb is used) or a JSON file holding the ebb object
  --log LEVEL    handler logs on stdout (default warn)`;

/** A refusal of the command line or the config file, printed as one line after `ebb: `. */
class UsageError extends Error {
  override readonly name = 'UsageError';
}

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'it is a directory',
};

function readConfig(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    throw new UsageError(`config ${file}: cannot read it (${FILE_ERRORS[code] ?? code})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    // V8's message quotes the text around the fault; the file is named and not echoed.
    throw new UsageError(`config ${file}: not valid JSON`);
  }
  const context = (json as { context?: unknown } | null)?.context as Record<string, unknown> | undefined;
  return context && typeof context === 'object' && 'ebb' in context ? context.ebb : json;
}

const OPTIONS = { port: { type: 'string' }, config: { type: 'string' }, log: { type: 'string' }, help: { type: 'boolean', short: 'h' } } as const;
const LEVELS = ['info', 'warn', 'error'] as const;

/** The command line, or a UsageError naming the flag at fault. */
function parseCommandLine(argv: readonly string[]): { values: { port?: string; config?: string; log?: string; help?: boolean } } {
  // `--port -1` is a port to refuse by its range, not a missing value: parseArgs takes it as one when attached.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const next = argv[i + 1];
    const valued = ['--port', '--config', '--log'].includes(arg);
    if (valued && next !== undefined && next.startsWith('-') && !Object.hasOwn(OPTIONS, next.slice(2)) && next !== '-h') {
      args.push(`${arg}=${next}`);
      i++;
    } else args.push(arg);
  }
  try {
    return parseArgs({ args, options: OPTIONS, allowPositionals: false });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // Node's messages quote the argument at fault first.
    const quoted = /'([^']*)'/.exec((error as Error).message)?.[1] ?? '';
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${quoted}\n${USAGE}`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') throw new UsageError(`${quoted.split(' ')[0]}: needs a value\n${USAGE}`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument ${quoted}\n${USAGE}`);
    throw error;
  }
}

const DATES = [
  ['signupsCloseAt', 'register refused (SIGNUPS_CLOSED)'],
  ['readOnlyAt', 'send refused (SERVICE_READ_ONLY); fetch and ack still work'],
  ['shutdownAt', 'every action but status refused (SERVICE_SHUT_DOWN); everyone disconnected'],
  ['purgeAt', 'every stored item deleted'],
] as const;

/** The sunset schedule as an operator checks it before a rehearsal or a deploy. */
function describeSchedule(config: EbbConfig, now: number): string {
  const { sunset } = config;
  const phase = phaseAt(scheduleFromConfig(sunset), now);
  if (DATES.every(([key]) => sunset[key] === null)) return `Sunset      none scheduled (phase ${phase})`;
  const lines = DATES.filter(([key]) => sunset[key] !== null).map(([key, effect]) => {
    const at = Date.parse(sunset[key]!);
    const when = at <= now ? 'passed' : `in ${formatDuration(at - now)}`;
    return `  ${key.padEnd(15)}${sunset[key]}  (${when})  ${effect}`;
  });
  return [`Sunset      phase now: ${phase}; notices daily from 30 days before shutdown`, ...lines].join('\n');
}

function formatDuration(ms: number): string {
  if (ms < 90_000) return `${Math.ceil(ms / 1000)} s`;
  const minutes = Math.round(ms / 60_000);
  if (minutes < 120) return `${minutes} min`;
  const hours = Math.round(minutes / 60);
  return hours < 72 ? `${hours} h` : `${Math.round(hours / 24)} days`;
}

/** One line per lifecycle task the local schedules ran: counts only, as the Lambda logs them. */
function describeOutcome(outcome: LifecycleOutcome, config: EbbConfig): string {
  const stamp = new Date().toISOString();
  const sent = `notice sent to ${outcome.notified} connection${outcome.notified === 1 ? '' : 's'}${outcome.gone ? ` (${outcome.gone} gone)` : ''}`;
  let text: string;
  if (outcome.skipped) text = `${outcome.task}: nothing to do (${outcome.skipped})`;
  else if (outcome.task === 'phase-change') text = `phase is now ${outcome.phase}: ${sent}`;
  else if (outcome.task === 'shutdown') text = `phase is now shut-down: ${sent}, ${outcome.disconnected} disconnected`;
  else if (outcome.task === 'countdown' && outcome.phase !== 'shut-down') {
    const shutdownAt = Date.parse(config.sunset.shutdownAt ?? '');
    text = `countdown: ${Math.ceil((shutdownAt - Date.now()) / 86_400_000)} day(s) to shutdown, ${sent}`;
  } else text = `purge: ${outcome.purged} items deleted${outcome.done ? ', every table is empty' : ', continuing later'}`;
  return `${stamp}  ${text}`;
}

async function main(): Promise<void> {
  const { values } = parseCommandLine(process.argv.slice(2));
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (values.port?.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--port ${values.port}: must be a whole number from 0 to 65535 (0 picks a free port)`);
  }
  const level = values.log ?? 'warn';
  if (!isLevel(level)) throw new UsageError(`--log ${level}: must be one of ${LEVELS.join(', ')}`);
  const file = values.config ?? 'cdk.json';
  configFile = file;
  const config = readConfig(file);
  const holder: { config?: EbbConfig } = {};
  const stack = await startLocalStack({
    port,
    config: config as never,
    logger: jsonLogger({ functionName: 'local' }, level),
    onLifecycle: (outcome) => console.log(describeOutcome(outcome, holder.config!)),
  });
  holder.config = stack.config;
  const webChat = await serveWebChat(stack.gateway, [stack.s3Endpoint]);
  console.log(`ebb local stack ready
  WebSocket   ${stack.url}
  Web chat    ${webChat}
  @connections ${stack.callbackUrl}/@connections
  DynamoDB    ${stack.dynamodbEndpoint}
  S3          ${stack.s3Endpoint} (bucket ${stack.s3Bucket}, path-style)
  Push        ${stack.pushReceiver.url} (plays Web Push, and SNS for APNs and FCM)
${describeSchedule(stack.config, Date.now())}
Press Ctrl+C to stop.`);
  const stop = () => {
    void stack.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

function isLevel(value: string): value is (typeof LEVELS)[number] {
  return (LEVELS as readonly string[]).includes(value);
}

/** The file the config came from, for naming it when the stack refuses what it holds. */
let configFile: string | undefined;

main().catch((error: unknown) => {
  console.error(`ebb: ${describeFailure(error)}`);
  process.exit(1);
});

/** One line a newcomer can act on; never a stack trace. */
function describeFailure(error: unknown): string {
  if (error instanceof UsageError) return error.message;
  // Config messages name the key from its root (`ebb.sunset…`, `ebb: must be an object`).
  if (error instanceof ConfigError) return `config ${configFile ?? 'cdk.json'}: ${error.message.replace(/^ebb: /, 'the ebb object ')}`;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (code === 'EADDRINUSE') return `${(error as Error).message} (another npm start? pick one with --port, or --port 0 for a free one)`;
  return `failed to start (${error instanceof Error ? `${error.name}: ${error.message}` : String(error)})`;
}
