import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { Option, type Command } from 'commander';
import { LOCAL_ATTACHMENTS_BUCKET, S3AttachmentObjects } from '../lambdas/adapters/attachment-objects';
import { attachmentS3ClientConfig } from '../lambdas/adapters/attachment-store';
import { localTableNames, Tables, type TableKey, type TableNames } from '../lambdas/adapters/table-definitions';
import type { AttachmentObjects } from '../lambdas/core/ports';
import { StackOutputs } from '../infra/outputs';
import { AdminError } from './errors';

/** The target options every command that reads tables takes. */
export interface TargetOptions {
  readonly dynamodbEndpoint?: string;
  /** The local stack's S3 endpoint, for the attachments bucket (`npm start` prints it). */
  readonly s3Endpoint?: string;
  readonly stack?: string;
  readonly region?: string;
}

export type TargetDescription =
  { readonly kind: 'local'; readonly dynamodbEndpoint: string } | { readonly kind: 'stack'; readonly stackName: string; readonly region: string };

/** The tables of one deployment and a client that reaches them. */
export interface Target {
  readonly description: TargetDescription;
  readonly dynamodb: DynamoDBClient;
  readonly tables: TableNames;
  /** The stage's management API (`CallbackUrl` output), when the stack has it; never known for a local target. */
  readonly callbackUrl?: string;
  /**
   * The attachments bucket (ARCH §6.12): a deployed stack's (`AttachmentsBucketName` output), or a local stack's
   * when `--s3-endpoint` is given; absent otherwise.
   */
  readonly attachments?: AttachmentObjects;
  close(): void;
}

/** dynalite ignores credentials, but the SDK signs every request and needs some. */
export const LOCAL_SIGNING = { region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } as const;

export function addTargetOptions(command: Command): Command {
  return command
    .addOption(new Option('--dynamodb-endpoint <url>', 'DynamoDB of a local stack (`npm start` prints it)').conflicts(['stack', 'region']))
    .addOption(new Option('--s3-endpoint <url>', 'S3 of a local stack, for its attachments (`npm start` prints it)').conflicts(['stack', 'region']))
    .addOption(new Option('--stack <name>', 'a deployed ebb stack; credentials and region from the usual AWS chain'))
    .addOption(new Option('--region <region>', "AWS region of --stack (default: the AWS chain's)"));
}

/**
 * Connects to the local stack's DynamoDB (table names as the local stack creates them) or to a deployed
 * stack (table names from its outputs, read with CloudFormation DescribeStacks).
 * @throws AdminError when neither or both targets are given, the endpoint is not a URL, or the stack
 * is missing or lacks the table outputs.
 */
export async function openTarget(options: TargetOptions): Promise<Target> {
  if (options.dynamodbEndpoint !== undefined) return openLocal(options.dynamodbEndpoint, options.s3Endpoint);
  if (options.s3Endpoint !== undefined) throw new AdminError("--s3-endpoint goes with --dynamodb-endpoint: both are the local stack's");
  if (options.stack !== undefined) return openStack(options.stack, options.region);
  throw new AdminError('say which deployment: --dynamodb-endpoint URL (local stack) or --stack NAME (deployed stack)');
}

function openLocal(endpoint: string, s3Endpoint: string | undefined): Target {
  requireHttpUrl('--dynamodb-endpoint', endpoint);
  if (s3Endpoint !== undefined) requireHttpUrl('--s3-endpoint', s3Endpoint);
  const dynamodb = new DynamoDBClient({ endpoint, ...LOCAL_SIGNING, maxAttempts: 2 });
  // The local S3 endpoint takes the same fixed credentials as the operator's, with every action on its bucket.
  const s3 =
    s3Endpoint === undefined
      ? undefined
      : new S3Client({ endpoint: s3Endpoint, forcePathStyle: true, ...LOCAL_SIGNING, maxAttempts: 2, ...attachmentS3ClientConfig });
  return {
    description: { kind: 'local', dynamodbEndpoint: endpoint },
    dynamodb,
    tables: localTableNames(),
    ...(s3 && { attachments: new S3AttachmentObjects(s3, LOCAL_ATTACHMENTS_BUCKET) }),
    close: () => {
      dynamodb.destroy();
      s3?.destroy();
    },
  };
}

function requireHttpUrl(option: string, value: string): void {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new AdminError(`${option}: not a URL: ${value}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new AdminError(`${option}: must be http(s)://…, got ${value}`);
}

async function openStack(stackName: string, region: string | undefined): Promise<Target> {
  const stack = await describeStack(stackName, region);
  const tables = tableNamesFromOutputs(stackName, stack.outputs);
  const callbackUrl = stack.outputs.find((output) => output.OutputKey === StackOutputs.callbackUrl)?.OutputValue;
  const bucket = stack.outputs.find((output) => output.OutputKey === StackOutputs.attachmentsBucketName)?.OutputValue;
  const dynamodb = new DynamoDBClient({ region: stack.region });
  const s3 = bucket ? new S3Client({ region: stack.region, ...attachmentS3ClientConfig }) : undefined;
  return {
    description: { kind: 'stack', stackName, region: stack.region },
    dynamodb,
    tables,
    ...(callbackUrl && { callbackUrl }),
    ...(s3 && bucket && { attachments: new S3AttachmentObjects(s3, bucket) }),
    close: () => {
      dynamodb.destroy();
      s3?.destroy();
    },
  };
}

/** A deployed stack's outputs, and the region resolved from `--region` or the AWS chain. */
export interface DeployedStack {
  readonly region: string;
  readonly outputs: readonly StackOutput[];
}

export interface StackOutput {
  readonly OutputKey?: string;
  readonly OutputValue?: string;
}

/**
 * Reads a stack's outputs with CloudFormation DescribeStacks.
 * @throws AdminError when the stack does not exist.
 */
export async function describeStack(stackName: string, region: string | undefined): Promise<DeployedStack> {
  // Loaded only here: local use should not pay for the CloudFormation client.
  const { CloudFormationClient, DescribeStacksCommand } = await import('@aws-sdk/client-cloudformation');
  const cloudformation = new CloudFormationClient(region ? { region } : {});
  try {
    let outputs;
    try {
      outputs = (await cloudformation.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks?.[0]?.Outputs;
    } catch (error) {
      if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
        throw new AdminError(`stack ${stackName} does not exist in ${await cloudformation.config.region()}`);
      }
      throw error;
    }
    return { region: await cloudformation.config.region(), outputs: outputs ?? [] };
  } finally {
    cloudformation.destroy();
  }
}

/**
 * Table names from an ebb stack's outputs (`AccountsTableName`, …).
 * @throws AdminError naming the first output missing, e.g. for a stack that is not ebb's.
 */
export function tableNamesFromOutputs(stackName: string, outputs: readonly StackOutput[]): TableNames {
  const byKey = new Map(outputs.map((output) => [output.OutputKey, output.OutputValue]));
  const tables: Partial<TableNames> = {};
  for (const key of Object.keys(Tables) as TableKey[]) {
    const name = byKey.get(StackOutputs.tableName(key));
    if (!name) throw new AdminError(`stack ${stackName} has no output ${StackOutputs.tableName(key)}: is it an ebb stack, deployed by this version?`);
    tables[key] = name;
  }
  return tables as TableNames;
}
