import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { main } from '../../admin/cli';
import { Tables, type TableKey } from '../../lambdas/adapters/table-definitions';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

export interface CliRun {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `node bin/ebb-admin.js …` as an operator runs it; asynchronous, since the local stack lives in this process. */
export function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve) => {
    const options = { cwd: REPO_ROOT, timeout: 20_000, env: { ...process.env, ...env } };
    execFile(process.execPath, [path.join(REPO_ROOT, 'bin', 'ebb-admin.js'), ...args], options, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

/**
 * The CLI's `main` in this process, collecting what it prints: faster than `runCli`, same exit codes and
 * lines, joined without the final newline.
 */
export async function runInProcess(...args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const status = await main(['node', 'ebb-admin', ...args], { out: (text) => out.push(text), err: (text) => err.push(text) });
  return { status, stdout: out.join('\n'), stderr: err.join('\n') };
}

export function serverUrl(server: Server): string {
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

async function listen(handle: (req: IncomingMessage, body: string) => { status?: number; type: string; body: string }): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const reply = handle(req, body);
      res.statusCode = reply.status ?? 200;
      res.setHeader('content-type', reply.type);
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/**
 * CloudFormation's DescribeStacks (query protocol, XML) for one stack named `Ebb` whose table outputs name
 * `tables`, plus `extra` outputs; any other name gets the ValidationError CloudFormation sends for a missing stack.
 */
export function fakeCloudFormation(tables: Record<TableKey, string>, extra: Record<string, string> = {}): Promise<Server> {
  const outputs = [...(Object.keys(Tables) as TableKey[]).map((key) => [`${Tables[key].id}TableName`, tables[key]]), ...Object.entries(extra)]
    .map(([key, value]) => `<member><OutputKey>${key}</OutputKey><OutputValue>${value}</OutputValue></member>`)
    .join('');
  return listen((_req, body) => {
    const form = new URLSearchParams(body);
    if (form.get('Action') === 'DescribeStacks' && form.get('StackName') === 'Ebb') {
      return {
        type: 'text/xml',
        body:
          `<DescribeStacksResponse><DescribeStacksResult><Stacks><member><StackName>Ebb</StackName><StackStatus>UPDATE_COMPLETE</StackStatus>` +
          `<CreationTime>2026-01-01T00:00:00Z</CreationTime><Outputs>${outputs}</Outputs></member></Stacks></DescribeStacksResult></DescribeStacksResponse>`,
      };
    }
    return {
      status: 400,
      type: 'text/xml',
      body: `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${form.get('StackName')} does not exist</Message></Error></ErrorResponse>`,
    };
  });
}

/** One call the fake Secrets Manager answered: the operation (`GetSecretValue`, …) and its JSON input. */
export interface SecretsCall {
  readonly operation: string;
  readonly input: Record<string, unknown>;
}

/**
 * Secrets Manager (JSON 1.1 protocol) holding `secrets` by ARN, answering GetSecretValue and PutSecretValue;
 * `calls` records every request, and a put replaces the stored string.
 */
export async function fakeSecretsManager(secrets: Map<string, string>): Promise<{ server: Server; calls: SecretsCall[] }> {
  const calls: SecretsCall[] = [];
  const json = (status: number, body: unknown) => ({ status, type: 'application/x-amz-json-1.1', body: JSON.stringify(body) });
  const server = await listen((req, body) => {
    const operation = String(req.headers['x-amz-target'] ?? '').replace(/^secretsmanager\./, '');
    const input = JSON.parse(body || '{}') as Record<string, unknown>;
    calls.push({ operation, input });
    const arn = String(input.SecretId);
    if (!secrets.has(arn)) return json(400, { __type: 'ResourceNotFoundException', message: "Secrets Manager can't find the specified secret." });
    if (operation === 'GetSecretValue') {
      return json(200, {
        ARN: arn,
        Name: 'franking',
        SecretString: secrets.get(arn),
        VersionId: `v${calls.length}`,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: 1_767_225_600,
      });
    }
    if (operation === 'PutSecretValue') {
      secrets.set(arn, String(input.SecretString));
      return json(200, { ARN: arn, Name: 'franking', VersionId: String(input.ClientRequestToken), VersionStages: ['AWSCURRENT'] });
    }
    return json(400, { __type: 'InvalidRequestException', message: `fake: no ${operation}` });
  });
  return { server, calls };
}
