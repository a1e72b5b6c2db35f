import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { resolveConfig, SIGNED_QUERY_PARAMS, type EbbConfig, type EbbConfigInput } from '../protocol';
import { jsonLogger, silentLogger } from '../lambdas/adapters/logger';
import { MemoryFrankingKeys, MemoryWakeups } from '../lambdas/adapters/memory';
import { createPorts, type HandlerPorts } from '../lambdas/adapters/ports';
import { localTableNames, type TableNames } from '../lambdas/adapters/table-definitions';
import type { LifecycleOutcome } from '../lambdas/core/lifecycle';
import type { Clock, Logger, Ports, PushSettings, Wakeups } from '../lambdas/core/ports';
import { adapters as authorizerAdapters, authorize } from '../lambdas/handlers/authorize';
import { adapters as lifecycleAdapters } from '../lambdas/handlers/lifecycle';
import { Handlers, QueueHandlers, ScheduledHandlers, type HandlerSpec } from '../lambdas/routes';
import { adapters as pushWakeAdapters, sendWakeups } from '../lambdas/handlers/push-wake';
import { wakeTtlSeconds } from '../lambdas/adapters/push-services';
import { SnsMobilePush } from '../lambdas/adapters/sns-push';
import { generateVapidKeys } from '../lambdas/adapters/vapid-keys';
import { WebPushSender } from '../lambdas/adapters/web-push';
import { SNSClient } from '@aws-sdk/client-sns';
import { LOCAL_PLATFORM_APPLICATIONS, PushReceiver } from './push-receiver';
import { localWakeupConsumer } from './push-wake';
import { LOCAL_AWS, createTables, faultInjectingClient, startDynalite, sweepExpired, type DynamoFaultDecider } from './dynamo';
import { WebSocketGateway, type Integration } from './gateway';
import { LocalAttachmentCredentials, followClock, grantedPorts, type LocalServices } from './grants';
import { LOCAL_ATTACHMENTS_BUCKET } from '../lambdas/adapters/attachment-objects';
import { attachmentS3ClientConfig } from '../lambdas/adapters/s3-client';
import { attachmentLifecycleRules } from '../lambdas/core/attachment-expiry';
import { integrations } from './integrations';
import { LocalLifecycle } from './lifecycle';
import { LocalS3, type CorsRule, type S3Fault } from './s3';

export { LOCAL_ATTACHMENTS_BUCKET };

export interface LocalStackOptions {
  /** Port of the WebSocket endpoint; 0 picks a free one. @default 8787 */
  readonly port?: number;
  /** Partial `context.ebb`, merged over the defaults and validated like cdk.json. */
  readonly config?: EbbConfigInput;
  /** Epoch milliseconds; drives phases and TTLs. Give the SDK's `now` the same clock. @default Date.now */
  readonly now?: () => number;
  /** How often expired items are swept, as DynamoDB's TTL would. @default 1000 */
  readonly sweepIntervalMs?: number;
  /** Structured logs of the handlers. @default silent, or JSON lines appended to `EBB_LOG_FILE` when that is set */
  readonly logger?: Logger;
  /** How often the clock is checked for sunset dates passed and countdown days, as the schedules would fire. @default 250 */
  readonly lifecycleIntervalMs?: number;
  /** Called with the outcome of each lifecycle task the local schedules ran (`npm start` prints them). */
  readonly onLifecycle?: (outcome: LifecycleOutcome) => void;
  /**
   * Called once with the DynamoDB client the handlers use, e.g. to count or meter its calls (the benchmark does);
   * each handler's granted client is a view of it made after this call.
   */
  readonly instrumentDynamo?: (client: DynamoDBClient) => void;
  /** Override API Gateway's 10-minute idle / 2-hour connection limits (tests), measured on `now`. */
  readonly idleTimeoutMs?: number;
  readonly maxConnectionMs?: number;
  /**
   * The manifest entries the local Lambdas are wired from, each with exactly its grant (tests withhold one to
   * see it refused). @default Handlers and ScheduledHandlers of lambdas/routes.ts
   */
  readonly handlers?: readonly HandlerSpec[];
  /**
   * What the routes know of the push services (the VAPID public key, the receiver's http origin).
   * @default Web Push on: this stack's own VAPID public key, and `pushReceiver`'s origin allowed over http
   */
  readonly push?: PushSettings;
  /**
   * The wake-up queue the routes are given, made from the in-process one (tests wrap it to slow or fail it).
   * @default the in-process queue itself
   */
  readonly wakeups?: (queue: MemoryWakeups) => Wakeups;
  /** Port of the S3-compatible endpoint; 0 picks a free one. @default 0 */
  readonly s3Port?: number;
}

/**
 * Faults the chaos harness switches on and off while the stack runs (`stack.faults`). Only the handlers'
 * calls are affected; the sweeper, the lifecycle timers and tests reading the tables are not.
 */
export interface LocalFaults {
  /** Fails a DynamoDB call of a handler, as DynamoDB would (throttling or a 500). */
  dynamodb?: DynamoFaultDecider;
  /** Fails a management-API call (push or disconnect) with this HTTP status, e.g. 410 or 500. */
  management?: (method: string, connectionId: string) => number | undefined;
  /**
   * Fails a request to the S3 endpoint (an SDK's upload or download, the operator's too) once it has
   * passed authentication, as S3 may: 500 `InternalError` or 503 `SlowDown`. Nothing is stored or read.
   */
  s3?: (method: string, key: string) => S3Fault | undefined;
}

export interface LocalStack {
  /** `ws://127.0.0.1:<port>`: point `EbbClient.create({ url })` here. */
  readonly url: string;
  readonly dynamodbEndpoint: string;
  /** `http://127.0.0.1:<port>`: the S3-compatible endpoint (path-style: give S3 clients `forcePathStyle: true`). */
  readonly s3Endpoint: string;
  /** The attachments bucket on `s3Endpoint`. */
  readonly s3Bucket: string;
  /**
   * The S3-compatible endpoint: issue a credential with exactly a Lambda's grants (`s3.credentials.issue`),
   * inspect stored objects, set lifecycle rules. The fixed local credentials (`LOCAL_AWS`) are the operator's,
   * with every action on the bucket, as `ebb-admin` has on AWS.
   */
  readonly s3: LocalS3;
  /** The `@connections` management endpoint. */
  readonly callbackUrl: string;
  readonly config: EbbConfig;
  readonly tables: TableNames;
  /**
   * Every port over every table, with the handlers' DynamoDB client (tests inspect storage through them).
   * The handlers themselves each run with only what their manifest entry grants.
   */
  readonly ports: HandlerPorts;
  readonly gateway: WebSocketGateway;
  /**
   * The franking keyring, generated at start and kept in memory like the tables. `rotate()` makes a new key
   * current, as `ebb-admin franking rotate` does on AWS; older kids stay valid for reports.
   */
  readonly frankingKeys: MemoryFrankingKeys;
  /** Fault injection, empty (no faults) unless a test sets it. */
  readonly faults: LocalFaults;
  /**
   * The push services, played locally (ARCH §11.1): Web Push with this stack's VAPID key, and SNS for the APNs and
   * FCM platforms the config names. `subscription()` mints a Web Push subscription to it; `received` is every push
   * the wake-up sender made, decrypted; `expire()` makes it answer a subscription or token as expired.
   */
  readonly pushReceiver: PushReceiver;
  /** This stack's VAPID public key (base64url), which `status` announces when Web Push is on. */
  readonly vapidPublicKey: string;
  /**
   * The in-process wake-up queue (ARCH §6.13): the bodies the routes queued, as SQS would carry them; set its
   * `consumer` to take each one as the push sender's event source would.
   */
  readonly wakeups: MemoryWakeups;
  /** Runs one TTL sweep and one S3 lifecycle sweep now; resolves with the number of items and objects deleted. */
  sweep(): Promise<number>;
  /**
   * Checks the clock now, as the timer does: runs the phase-change, shutdown, purge or countdown task due,
   * and resolves once it has run. Tests call it after moving the clock.
   */
  lifecycleTick(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The whole platform in this process: dynalite with the tables infra deploys, the same handler modules
 * behind an API Gateway WebSocket emulator, a TTL sweeper, and timers standing in for the sunset schedules.
 * @throws ConfigError when `config` is invalid (the message names the key).
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const config = resolveConfig(options.config ?? {});
  const manifest = options.handlers ?? [...Handlers, ...ScheduledHandlers, ...QueueHandlers];
  const authorizerSpec = entryOf(manifest, 'authorize');
  const lifecycleSpec = entryOf(manifest, 'lifecycle');
  const clock: Clock = { now: options.now ?? (() => Date.now()) };
  const logger = options.logger ?? logFileFromEnv() ?? silentLogger;
  const tables = localTableNames();
  const dynamo = await startDynalite();
  await createTables(dynamo.client, tables);

  // The gateway must listen before the management client knows its endpoint; routes are bound after.
  const bound: { ports?: Ports } = {};
  const faults: LocalFaults = {};
  const routes = new Map<string, Integration>();
  const gateway = new WebSocketGateway({
    port: options.port ?? 8787,
    authorizer: (event) => authorize(event, bound.ports!),
    identitySources: SIGNED_QUERY_PARAMS,
    routes,
    idleTimeoutMs: options.idleTimeoutMs,
    maxConnectionMs: options.maxConnectionMs,
    now: clock.now,
    interceptManagement: (method, connectionId) => faults.management?.(method, connectionId),
  });
  try {
    await gateway.listen();
  } catch (error) {
    await dynamo.stop();
    throw error;
  }
  let s3: LocalS3;
  try {
    s3 = await LocalS3.start({
      port: options.s3Port ?? 0,
      region: LOCAL_AWS.region,
      now: clock.now,
      fault: ({ method, key }) => faults.s3?.(method, key),
    });
  } catch (error) {
    await gateway.close();
    await dynamo.stop();
    throw error;
  }
  // The deployed bucket's rules (infra/attachments-bucket.ts), on the stack's clock.
  s3.createBucket(LOCAL_ATTACHMENTS_BUCKET, {
    lifecycle: attachmentLifecycleRules(config.retentionDays).map((rule) => ({ id: rule.id, prefix: rule.prefix, expirationDays: rule.days })),
    cors: [attachmentsCors([...new Set([...config.webOrigins, ...ownOrigins(gateway.url)])])],
  });
  s3.credentials.issue({ name: 'operator', grants: [{ bucket: LOCAL_ATTACHMENTS_BUCKET, actions: ['s3:*'] }] }, LOCAL_AWS.credentials);
  const management = new ApiGatewayManagementApiClient({ endpoint: gateway.callbackUrl, ...LOCAL_AWS, maxAttempts: 1 });
  const frankingKeys = new MemoryFrankingKeys(clock, config.retentionDays, (n) => new Uint8Array(randomBytes(n)));
  const handlerDynamo = faultInjectingClient(dynamo.endpoint, () => faults.dynamodb);
  options.instrumentDynamo?.(handlerDynamo);
  const wakeupQueue = new MemoryWakeups();
  const wakeups = options.wakeups?.(wakeupQueue) ?? wakeupQueue;
  // Generated at start, as the deployment's setup function generates it once: kept only in this process.
  const vapid = generateVapidKeys();
  let pushReceiver: PushReceiver;
  try {
    pushReceiver = await PushReceiver.start({ vapidPublicKey: vapid.publicKey });
  } catch (error) {
    await gateway.close();
    await dynamo.stop();
    await s3.close();
    throw error;
  }
  const attachments = new LocalAttachmentCredentials(s3, LOCAL_ATTACHMENTS_BUCKET, clock);
  const services: LocalServices = {
    dynamodb: handlerDynamo,
    tables,
    management,
    frankingKeys: () => frankingKeys,
    wakeups: () => wakeups,
    push: options.push ?? { vapidPublicKey: () => vapid.publicKey, httpOrigins: [pushReceiver.url] },
    attachments,
    config,
    clock,
    logger,
  };
  // The tests' view of storage: every table, and the bucket with the operator's credentials.
  const operatorS3 = new S3Client({ endpoint: s3.endpoint, forcePathStyle: true, ...LOCAL_AWS, maxAttempts: 1, ...attachmentS3ClientConfig });
  followClock(operatorS3, clock);
  const ports = createPorts({ ...services, attachmentsBucket: LOCAL_ATTACHMENTS_BUCKET, s3: operatorS3 });
  // The authorizer's ports, as its own Lambda has them.
  bound.ports = grantedPorts(authorizerSpec, authorizerAdapters, services);
  for (const [key, integration] of integrations(manifest, (spec, adapters) => grantedPorts(spec, adapters, services))) routes.set(key, integration);

  let sweeping: Promise<number> | undefined;
  const sweepBoth = async () => (await sweepExpired(dynamo.client, tables, clock.now())) + (await s3.sweep());
  const sweep = () => (sweeping ??= sweepBoth().finally(() => (sweeping = undefined)));
  const sweeper = setInterval(() => void sweep().catch(() => undefined), options.sweepIntervalMs ?? 1000);
  sweeper.unref();

  // The wake-up sender, fed by the in-process queue as the SQS event source feeds it on AWS.
  const pushWakeSpec = manifest.find((spec) => spec.entry === 'push-wake');
  const sns = new SNSClient({ endpoint: pushReceiver.snsEndpoint, ...LOCAL_AWS, maxAttempts: 1 });
  if (pushWakeSpec) {
    const wakePorts = grantedPorts(pushWakeSpec, pushWakeAdapters, services);
    const ttlSeconds = wakeTtlSeconds(config);
    const webPush = new WebPushSender({ vapidKeys: async () => vapid, subject: config.push.vapidSubject ?? LOCAL_VAPID_SUBJECT, ttlSeconds });
    const applications = {
      apns: config.push.apns ? LOCAL_PLATFORM_APPLICATIONS.apns : undefined,
      fcm: config.push.fcm ? LOCAL_PLATFORM_APPLICATIONS.fcm : undefined,
    };
    const mobilePush = new SnsMobilePush(sns, applications, ttlSeconds);
    wakeupQueue.consumer = localWakeupConsumer((event) => sendWakeups(event, { pushTokens: wakePorts.pushTokens, webPush, mobilePush, logger }));
  }

  const lifecycle = new LocalLifecycle(grantedPorts(lifecycleSpec, lifecycleAdapters, services), options.onLifecycle);
  const lifecycleTimer = setInterval(() => {
    if (!lifecycle.busy) void lifecycle.tick();
  }, options.lifecycleIntervalMs ?? 250);
  lifecycleTimer.unref();

  return {
    url: gateway.url,
    dynamodbEndpoint: dynamo.endpoint,
    s3Endpoint: s3.endpoint,
    s3Bucket: LOCAL_ATTACHMENTS_BUCKET,
    s3,
    callbackUrl: gateway.callbackUrl,
    config,
    tables,
    ports,
    gateway,
    frankingKeys,
    faults,
    wakeups: wakeupQueue,
    pushReceiver,
    vapidPublicKey: vapid.publicKey,
    sweep,
    lifecycleTick: () => lifecycle.tick(),
    async stop() {
      clearInterval(sweeper);
      clearInterval(lifecycleTimer);
      await lifecycle.idle();
      await sweeping?.catch(() => undefined);
      await wakeupQueue.idle();
      await gateway.close();
      await pushReceiver.close();
      sns.destroy();
      management.destroy();
      handlerDynamo.destroy();
      attachments.destroy();
      operatorS3.destroy();
      await dynamo.stop();
      await s3.close();
    },
  };
}

/** The VAPID `sub` of the local stack when the config names none: a contact that reaches no one. */
const LOCAL_VAPID_SUBJECT = 'mailto:operator@ebb.invalid';

/** Browsers may PUT and GET attachments from these origins, as the deployed bucket's CORS rule allows. */
function attachmentsCors(origins: readonly string[]): CorsRule {
  return { allowedOrigins: origins, allowedMethods: ['GET', 'PUT', 'HEAD'], allowedHeaders: ['*'], exposedHeaders: ['ETag'], maxAgeSeconds: 3000 };
}

/** The web chat the gateway serves (`npm start`), by either loopback name. */
function ownOrigins(gatewayUrl: string): string[] {
  const { port } = new URL(gatewayUrl);
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

function entryOf(manifest: readonly HandlerSpec[], entry: string): HandlerSpec {
  const spec = manifest.find((s) => s.entry === entry);
  if (!spec) throw new Error(`local stack: no manifest entry for ${entry}`);
  return spec;
}

/** With `EBB_LOG_FILE` set, handler logs are appended there as JSON lines (the test run checks them all). */
function logFileFromEnv(): Logger | undefined {
  const file = process.env.EBB_LOG_FILE;
  return file ? jsonLogger({ functionName: 'local' }, 'info', (line) => appendFileSync(file, `${line}\n`)) : undefined;
}
