import { existsSync } from 'node:fs';
import * as path from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { EbbConfig } from '../protocol/config';
import { Tables, type TableKey } from '../lambdas/adapters/table-definitions';
import { LambdaEnv } from '../lambdas/lambda-env';
import type { HandlerSpec } from '../lambdas/routes';
import type { EbbAttachmentsBucket } from './attachments-bucket';
import type { EbbFrankingKeyring } from './franking-keyring';
import { HANDLER_BUNDLING } from './handler-bundling';
import { invalid, requireNumber, requireWholeNumber } from './validate';

/** The repository root: bundling resolves `lambdas/`, `protocol/` and package-lock.json from here. */
export const PROJECT_ROOT = path.resolve(__dirname, '..');

/** Where the handler modules named in lambdas/routes.ts live. */
export const DEFAULT_HANDLERS_DIR = path.join(PROJECT_ROOT, 'lambdas', 'handlers');

export interface EbbHandlerFunctionProps {
  /** The handler's entry in the manifest (lambdas/routes.ts). */
  readonly spec: HandlerSpec;

  /** Tables by key; the handler gets the actions its spec lists on those it names, and nothing else. */
  readonly tables: Readonly<Record<TableKey, dynamodb.ITable>>;

  /** Resolved `context.ebb`, handed to the handler as `EBB_CONFIG`. */
  readonly config: EbbConfig;

  /**
   * The franking keyring. A handler whose spec says `frankingKeys: true` gets its ARN as
   * `EBB_FRANKING_SECRET` and may read it; any other handler gets neither.
   * @default - none; a spec with `frankingKeys: true` then fails synthesis
   */
  readonly frankingKeyring?: EbbFrankingKeyring;

  /**
   * The attachments bucket. A handler whose spec lists `attachments` actions gets its name as
   * `EBB_ATTACHMENTS_BUCKET` and exactly those actions on it; any other handler gets neither.
   * @default - none; a spec with `attachments` then fails synthesis
   */
  readonly attachmentsBucket?: EbbAttachmentsBucket;

  /**
   * Directory holding `<spec.entry>.ts`. Must be inside the repository, which bundling uses as its root.
   * @default lambdas/handlers
   */
  readonly handlersDir?: string;

  /**
   * Extra environment variables, such as the management API callback URL.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;

  /**
   * @default Duration.seconds(10)
   */
  readonly timeout?: Duration;

  /**
   * Longest `timeout` allowed. Functions behind API Gateway stay within its 29 s integration limit;
   * a scheduled function may use Lambda's own 15 minutes.
   * @default Duration.seconds(29)
   */
  readonly maxTimeout?: Duration;

  /**
   * @default 256
   */
  readonly memorySize?: number;

  /**
   * How long the function's log group keeps its logs.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/**
 * One ebb Lambda: bundled from TypeScript with esbuild, arm64 on Node.js 22, its own log group,
 * and least-privilege DynamoDB access derived from its manifest entry.
 */
export class EbbHandlerFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: EbbHandlerFunctionProps) {
    super(scope, id);
    const { spec } = props;
    const entry = path.join(props.handlersDir ?? DEFAULT_HANDLERS_DIR, `${spec.entry}.ts`);
    if (!existsSync(entry)) throw invalid(this, `handler module ${path.relative(PROJECT_ROOT, entry)} does not exist`);
    const timeout = props.timeout ?? Duration.seconds(10);
    // API Gateway gives up on an integration after 29 s: a longer Lambda would only burn money.
    const maxTimeout = props.maxTimeout ?? Duration.seconds(29);
    requireNumber(this, 'maxTimeout in seconds', maxTimeout.toSeconds(), 1, 900);
    requireNumber(this, 'timeout in seconds', timeout.toSeconds(), 1, maxTimeout.toSeconds());
    const memorySize = props.memorySize ?? 256;
    requireWholeNumber(this, 'memorySize', memorySize, 128, 10240);

    for (const key of tableKeys(spec)) {
      if (!props.tables[key]) throw invalid(this, `handler ${spec.entry} uses table ${key}, which does not exist`);
      if (spec.tables[key]?.length === 0) throw invalid(this, `handler ${spec.entry} lists table ${key} without any action`);
    }

    const keyring = spec.frankingKeys ? props.frankingKeyring : undefined;
    if (spec.frankingKeys && !keyring) throw invalid(this, `handler ${spec.entry} reads the franking keyring, which was not given`);

    const bucketActions = spec.attachments ?? [];
    const bucket = bucketActions.length > 0 ? props.attachmentsBucket : undefined;
    if (bucketActions.length > 0 && !bucket) throw invalid(this, `handler ${spec.entry} uses the attachments bucket, which was not given`);

    const environment: Record<string, string> = { [LambdaEnv.config]: JSON.stringify(props.config), ...props.environment };
    for (const key of tableKeys(spec)) environment[Tables[key].envVar] = props.tables[key].tableName;
    if (keyring) environment[LambdaEnv.frankingSecret] = keyring.secret.secretArn;
    if (bucket) environment[LambdaEnv.attachmentsBucket] = bucket.bucket.bucketName;

    const logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      // Handlers log ids, sizes and codes only; a purged service should not leave them behind.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.function = new NodejsFunction(this, 'Function', {
      entry,
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: path.join(PROJECT_ROOT, 'package-lock.json'),
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize,
      timeout,
      description: spec.routeKey ? `ebb route ${spec.routeKey}` : `ebb ${spec.entry}`,
      environment,
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      // No reserved concurrency: new accounts have too little to reserve; the stage throttle bounds load.
      bundling: {
        ...HANDLER_BUNDLING,
        externalModules: [...HANDLER_BUNDLING.externalModules],
        format: OutputFormat.CJS,
        forceDockerBundling: false,
      },
    });

    for (const key of tableKeys(spec)) {
      const actions = spec.tables[key] ?? [];
      // Explicit actions, not grantReadData/grantReadWriteData: those include Scan and more.
      this.function.addToRolePolicy(
        new iam.PolicyStatement({
          actions: [...new Set(actions)].map((action) => `dynamodb:${action}`),
          resources: [props.tables[key].tableArn],
        }),
      );
    }
    keyring?.grantRead(this.function);
    bucket?.grant(this.function, bucketActions);

    Validations.of(this.function).acknowledge(
      {
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]',
        reason:
          'The AWS-documented minimum for a Lambda to write its own logs; everything else the function may do is granted inline, per action and resource.',
      },
      {
        id: 'AwsSolutions-L1',
        reason:
          'Pinned to Node.js 22, a supported LTS runtime that the bundles target (esbuild `node22`); moving to a newer runtime is a deliberate, tested upgrade.',
      },
    );
  }
}

function tableKeys(spec: HandlerSpec): TableKey[] {
  return (Object.keys(spec.tables) as TableKey[]).filter((key) => spec.tables[key] !== undefined);
}
