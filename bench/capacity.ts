import type { PriceList } from './prices';

/**
 * Issue 18 §4: capacity on paper. From the per-message counts the real-pace run measured, what N daily
 * active users sending `messagesPerDay` each ask of API Gateway, Lambda and DynamoDB at the peak hour, each
 * beside the AWS default quota it meets. Pure arithmetic: the measured counts come in, nothing is typed by hand
 * except the usage assumptions below and the quotas, each cited.
 */

/** What a user does, assumed (not measured): the model's knobs. */
export const Usage = {
  messagesPerDay: 50,
  /** The peak hour carries this many times the mean hour's traffic. */
  peakToMean: 3,
  /** Hours a day a daily active user holds a connection, on average. */
  connectedHoursPerDay: 8,
  /** Connections opened per user a day: app opens, plus a reconnect at API Gateway's 2-hour cap. */
  connectsPerDay: 12,
  /** Devices per user that receive each message (the real-pace run measures one). */
  devicesPerUser: 1,
} as const;

/**
 * AWS default quotas, us-east-1, as documented (checked 2026-12-03):
 * - API Gateway WebSocket new connections per second per account per Region: 500, adjustable; no quota on
 *   concurrent connections, 2-hour connection duration, 32 KB frames.
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/apigateway-execution-service-websocket-limits-table.html
 * - API Gateway throttle per account per Region across REST, HTTP, WebSocket and WebSocket callback APIs:
 *   10 000 requests per second (burst 5 000), adjustable. https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html
 * - Lambda concurrent executions per Region: 1 000, adjustable. https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 * - DynamoDB on-demand: 40 000 read and 40 000 write request units per second per table (adjustable); a
 *   partition serves 3 000 RRU and 1 000 WRU per second (not adjustable: a hot key must be spread).
 *   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html
 */
export const Quotas = {
  apiGatewayNewConnectionsPerSecond: 500,
  apiGatewayRequestsPerSecond: 10_000,
  lambdaConcurrency: 1_000,
  dynamoTableReadUnitsPerSecond: 40_000,
  dynamoTableWriteUnitsPerSecond: 40_000,
  dynamoPartitionReadUnitsPerSecond: 3_000,
  dynamoPartitionWriteUnitsPerSecond: 1_000,
} as const;

/** The measured counts the model multiplies, per text message delivered (receipts and acks included). */
export interface MeasuredPerMessage {
  /** API Gateway messages (frames in, results and pushes out), in 32 KB units. */
  readonly apiGatewayUnits: number;
  /** Frames clients sent per message (inbound messages: what the account request throttle counts alongside callbacks). */
  readonly inboundFrames: number;
  readonly outboundFrames: number;
  readonly invocations: readonly { readonly route: string; readonly perMessage: number; readonly durationMs: number }[];
  readonly byTable: Record<string, { readonly readUnits: number; readonly writeUnits: number }>;
  /** Write units of one queued text item (its put and its delete each bill this). */
  readonly itemWriteUnits: number;
  /** Dollars per million messages at this pace (bench/cost.ts). */
  readonly dollarsPerMillion: number;
}

/** A measured group message by `fanout` (bench/fanout.ts). */
export interface MeasuredFanout {
  readonly recipients: number;
  readonly frames: number;
  readonly dynamoRequestsByOperation: Record<string, number>;
}

export interface SendLimits {
  readonly sendPerMinute: number;
  readonly sendCopiesPerMinute: number;
}

export interface CapacityAt {
  readonly dailyActiveUsers: number;
  readonly messagesPerSecond: { readonly mean: number; readonly peak: number };
  /** Peak invocations per second per route, and the Lambda concurrency they hold (Little's law on the measured durations). */
  readonly routes: Record<string, { readonly perSecond: number; readonly concurrency: number }>;
  readonly lambdaConcurrency: { readonly peak: number; readonly quota: number; readonly raise: boolean };
  readonly apiGateway: {
    readonly messagesPerSecond: number;
    /** Client frames plus callback posts per second, against the account throttle. */
    readonly requestsPerSecond: number;
    readonly requestQuota: number;
    readonly concurrentConnections: { readonly mean: number; readonly peak: number };
    readonly newConnectionsPerSecond: number;
    readonly newConnectionQuota: number;
    readonly raise: readonly string[];
  };
  readonly dynamodb: Record<string, { readonly readUnitsPerSecond: number; readonly writeUnitsPerSecond: number; readonly raise: boolean }>;
  readonly monthlyDollars: { readonly messages: number; readonly connectionMinutes: number; readonly total: number };
}

export interface HotPartitions {
  /** One device's queue partition: texts a second it can take in (put, then the ack's delete) before 1 000 WRU/s. */
  readonly queuePartitionMessagesPerSecond: number;
  /** The most one very chatty sender can write a second under the shipped send limit, and that against a partition. */
  readonly chattySender: {
    readonly messagesPerSecond: number;
    readonly writeUnitsPerSecondOnOneRecipient: number;
    readonly shareOfPartition: number;
  };
  /**
   * A 1000-member group message: every copy lands on its own recipient's partition; the sender's own items (the
   * per-frame checks) see a few writes per frame. Copies a second one sender may post: sendCopiesPerMinute / 60.
   */
  readonly groupMessage: {
    readonly recipients: number;
    readonly frames: number;
    readonly writesPerCopy: number;
    readonly seconds: number;
    readonly copiesPerSecondLimit: number;
  };
}

export function capacityAt(
  users: number,
  m: MeasuredPerMessage,
  prices: PriceList,
  connectionMinutePrice = prices.apiGateway.connectionMinutesPerMillion,
): CapacityAt {
  const mean = (users * Usage.messagesPerDay) / 86_400;
  const peak = mean * Usage.peakToMean;
  const routes: Record<string, { perSecond: number; concurrency: number }> = {};
  let concurrency = 0;
  for (const inv of m.invocations) {
    const perSecond = peak * inv.perMessage;
    const held = perSecond * (inv.durationMs / 1000);
    concurrency += held;
    routes[inv.route] = { perSecond: round(perSecond), concurrency: round(held) };
  }
  const meanConnections = (users * Usage.connectedHoursPerDay) / 24;
  const peakConnections = Math.min(users, meanConnections * 1.5);
  const newConnectionsPerSecond = ((users * Usage.connectsPerDay) / 86_400) * Usage.peakToMean;
  // Client frames and callback posts (outbound frames that are not the answer of a two-way route count too: taken all, an upper bound).
  const requestsPerSecond = peak * (m.inboundFrames + m.outboundFrames);
  const raise: string[] = [];
  if (requestsPerSecond > Quotas.apiGatewayRequestsPerSecond) raise.push('account throttle (requests per second)');
  if (newConnectionsPerSecond > Quotas.apiGatewayNewConnectionsPerSecond) raise.push('new connections per second');
  const dynamodb: CapacityAt['dynamodb'] = {};
  for (const [table, u] of Object.entries(m.byTable)) {
    const readUnitsPerSecond = peak * u.readUnits;
    const writeUnitsPerSecond = peak * u.writeUnits;
    dynamodb[table] = {
      readUnitsPerSecond: round(readUnitsPerSecond),
      writeUnitsPerSecond: round(writeUnitsPerSecond),
      raise: readUnitsPerSecond > Quotas.dynamoTableReadUnitsPerSecond || writeUnitsPerSecond > Quotas.dynamoTableWriteUnitsPerSecond,
    };
  }
  const monthlyMessages = users * Usage.messagesPerDay * 30;
  const messages = (monthlyMessages / 1e6) * m.dollarsPerMillion;
  const connectionMinutes = ((meanConnections * 30 * 24 * 60) / 1e6) * connectionMinutePrice;
  return {
    dailyActiveUsers: users,
    messagesPerSecond: { mean: round(mean), peak: round(peak) },
    routes,
    lambdaConcurrency: { peak: round(concurrency), quota: Quotas.lambdaConcurrency, raise: concurrency > Quotas.lambdaConcurrency },
    apiGateway: {
      messagesPerSecond: round(peak * m.apiGatewayUnits),
      requestsPerSecond: round(requestsPerSecond),
      requestQuota: Quotas.apiGatewayRequestsPerSecond,
      concurrentConnections: { mean: Math.round(meanConnections), peak: Math.round(peakConnections) },
      newConnectionsPerSecond: round(newConnectionsPerSecond),
      newConnectionQuota: Quotas.apiGatewayNewConnectionsPerSecond,
      raise,
    },
    dynamodb,
    monthlyDollars: {
      messages: Math.round(messages),
      connectionMinutes: Math.round(connectionMinutes),
      total: Math.round(messages + connectionMinutes),
    },
  };
}

export function hotPartitions(m: MeasuredPerMessage, limits: SendLimits, fanout: MeasuredFanout | undefined): HotPartitions {
  const perText = 2 * m.itemWriteUnits; // the put, then the ack's delete
  const chatty = limits.sendPerMinute / 60;
  const writes = fanout
    ? ['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem'].reduce((s, op) => s + (fanout.dynamoRequestsByOperation[op] ?? 0), 0)
    : NaN;
  const recipients = fanout?.recipients ?? NaN;
  const copiesPerSecondLimit = limits.sendCopiesPerMinute / 60;
  return {
    queuePartitionMessagesPerSecond: round(Quotas.dynamoPartitionWriteUnitsPerSecond / perText),
    chattySender: {
      messagesPerSecond: round(chatty, 2),
      writeUnitsPerSecondOnOneRecipient: round(chatty * perText, 2),
      shareOfPartition: round((chatty * perText) / Quotas.dynamoPartitionWriteUnitsPerSecond, 4),
    },
    groupMessage: {
      recipients,
      frames: fanout?.frames ?? NaN,
      writesPerCopy: round(writes / recipients, 2),
      seconds: round(recipients / copiesPerSecondLimit, 1),
      copiesPerSecondLimit: round(copiesPerSecondLimit, 1),
    },
  };
}

function round(n: number, digits = 1): number {
  const f = 10 ** digits;
  return Number.isFinite(n) ? Math.round(n * f) / f : n;
}
