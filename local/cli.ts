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

function readConfig(file: string): unknown {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const context = json.context as Record<string, unknown> | undefined;
  return context && 'ebb' in context ? context.ebb : json;
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
  const { values } = parseArgs({
    options: { port: { type: 'string' }, config: { type: 'string' }, log: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    console.log(USAGE);
    return;
  }
  const port = values.port === undefined ? 8787 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port: must be 0–65535`);
  const config = readConfig(values.config ?? 'cdk.json');
  const level = (values.log ?? 'warn') as 'info' | 'warn' | 'error';
  const holder: { config?: EbbConfig } = {};
  const stack = await startLocalStack({
    port,
    config: config as never,
    logger: jsonLogger({ functionName: 'local' }, level),
    onLifecycle: (outcome) => console.log(describeOutcome(outcome, holder.config!)),
  });
  holder.config = stack.config;
  const webChat = await serveWebChat(stack.gateway);
  console.log(`ebb local stack ready
  WebSocket   ${stack.url}
  Web chat    ${webChat}
  @connections ${stack.callbackUrl}/@connections
  DynamoDB    ${stack.dynamodbEndpoint}
${describeSchedule(stack.config, Date.now())}
Press Ctrl+C to stop.`);
  const stop = () => {
    void stack.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || (error as NodeJS.ErrnoException)?.code === 'EADDRINUSE' || error instanceof SyntaxError) {
    console.error(`ebb: ${(error as Error).message}`);
  } else {
    console.error(`ebb: failed to start (${(error as Error)?.name ?? 'error'})`);
  }
  process.exit(1);
});
