import { randomBytes } from 'node:crypto';
import { resolveConfig, type EbbConfig, type EbbConfigInput } from '../../protocol';
import { silentLogger } from '../../lambdas/adapters/logger';
import { noWebPush } from '../../lambdas/adapters/wiring';
import {
  MemoryAccounts,
  MemoryAttachmentStore,
  MemoryConnections,
  MemoryDevices,
  MemoryLinks,
  MemoryNonces,
  MemoryPrekeys,
  MemoryQueue,
  MemoryRateLimiter,
  MemoryReports,
  MemoryUsernames,
  MemoryFrankingKeys,
  MemoryPushTokens,
  MemoryWakeups,
} from '../../lambdas/adapters/memory';
import type { Caller, Notifier, Ports, PushOutcome } from '../../lambdas/core/ports';
import type { TestIdentity } from './identity';

export class RecordingNotifier implements Notifier {
  readonly pushes: { connectionId: string; frame: Record<string, unknown> }[] = [];
  /** Connections API Gateway no longer knows. */
  readonly gone = new Set<string>();
  async push(connectionId: string, data: string): Promise<PushOutcome> {
    if (this.gone.has(connectionId)) return 'gone';
    this.pushes.push({ connectionId, frame: JSON.parse(data) as Record<string, unknown> });
    return 'sent';
  }
  readonly disconnected: string[] = [];
  async disconnect(connectionId: string): Promise<void> {
    this.disconnected.push(connectionId);
  }
}

export interface MemoryWorld {
  ports: Ports;
  accounts: MemoryAccounts;
  devices: MemoryDevices;
  links: MemoryLinks;
  prekeys: MemoryPrekeys;
  connections: MemoryConnections;
  queue: MemoryQueue;
  usernames: MemoryUsernames;
  nonces: MemoryNonces;
  rateLimits: MemoryRateLimiter;
  reports: MemoryReports;
  frankingKeys: MemoryFrankingKeys;
  pushTokens: MemoryPushTokens;
  wakeups: MemoryWakeups;
  /** What routes handed over to run after their answer; `settled()` waits for it. */
  afterAnswer: { add(work: Promise<void>): void; settled(): Promise<void> };
  notifier: RecordingNotifier;
  attachments: MemoryAttachmentStore;
  clock: { t: number; now(): number };
}

/** Suites that build thousands of worlds (test/core/username-races.test.ts) from one config object validate it once. */
const resolvedConfigs = new WeakMap<EbbConfigInput, EbbConfig>();

export function memoryWorld(config: EbbConfigInput = {}, start = Date.UTC(2027, 0, 1)): MemoryWorld {
  const clock = {
    t: start,
    now() {
      return this.t;
    },
  };
  const resolved = resolvedConfigs.get(config) ?? resolveConfig(config);
  resolvedConfigs.set(config, resolved);
  const accounts = new MemoryAccounts();
  const queue = new MemoryQueue();
  const world = {
    accounts,
    devices: new MemoryDevices(accounts),
    links: new MemoryLinks(queue),
    prekeys: new MemoryPrekeys(),
    connections: new MemoryConnections(),
    queue,
    usernames: new MemoryUsernames(accounts),
    nonces: new MemoryNonces(),
    rateLimits: new MemoryRateLimiter(),
    reports: new MemoryReports(),
    frankingKeys: new MemoryFrankingKeys(clock, resolved.retentionDays, (n) => new Uint8Array(randomBytes(n))),
    pushTokens: new MemoryPushTokens(),
    wakeups: new MemoryWakeups(),
    afterAnswer: afterAnswerRecorder(),
    notifier: new RecordingNotifier(),
    attachments: new MemoryAttachmentStore(),
    clock,
  };
  const ports: Ports = {
    ...world,
    rateLimiter: world.rateLimits,
    wakeupClaims: world.pushTokens,
    push: noWebPush,
    clock,
    config: resolved,
    logger: silentLogger,
  };
  return { ...world, ports };
}

function afterAnswerRecorder() {
  const pending: Promise<void>[] = [];
  return {
    add: (work: Promise<void>) => void pending.push(work.catch(() => undefined)),
    async settled() {
      while (pending.length > 0) await pending.shift();
    },
  };
}

export function callerOf(id: TestIdentity, connectionId = `c-${id.uid.slice(0, 6)}`, device = 1): Caller {
  return { userId: id.uid, device, connectionId, signingKey: id.pk };
}
