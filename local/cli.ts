import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ConfigError } from '../protocol';
import { jsonLogger } from '../lambdas/adapters/logger';
import { startLocalStack } from './index';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const USAGE = `usage: npm start -- [--port N] [--config FILE] [--log info|warn|error]

  --port N       WebSocket port (default 8787; 0 picks a free one)
  --config FILE  a cdk.json (its context.ebb is used) or a JSON file holding the ebb object
  --log LEVEL    handler logs on stdout (default warn)`;

function readConfig(file: string): unknown {
  const json = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  const context = json.context as Record<string, unknown> | undefined;
  return context && 'ebb' in context ? context.ebb : json;
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
  const stack = await startLocalStack({ port, config: config as never, logger: jsonLogger({ local: true }, level) });
  console.log(`ebb local stack ready
  WebSocket   ${stack.url}
  @connections ${stack.callbackUrl}/@connections
  DynamoDB    ${stack.dynamodbEndpoint}
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
