import type { PriceList } from './prices';

/** Operations per delivered message, as counted by the bench. */
export interface MessageOperations {
  /** API Gateway messages billed, in 32 KB units (inbound frames, replies and pushes). */
  readonly apiGatewayUnits: number;
  /** Lambda invocations per message, each with its measured duration. */
  readonly invocations: readonly { readonly route: string; readonly perMessage: number; readonly durationMs: number }[];
  /** Function memory, MB (infra/handler-function.ts's default). */
  readonly memoryMb: number;
  readonly readUnits: number;
  readonly writeUnits: number;
}

export interface CostBreakdown {
  readonly apiGateway: number;
  readonly lambdaRequests: number;
  readonly lambdaCompute: number;
  readonly dynamoReads: number;
  readonly dynamoWrites: number;
  readonly total: number;
}

/**
 * Dollars per million messages. Lambda bills each invocation's duration rounded up to the millisecond,
 * times its memory in GB (1 GB = 1024 MB for Lambda's GB-second).
 */
export function dollarsPerMillion(ops: MessageOperations, prices: PriceList): CostBreakdown {
  const invocations = ops.invocations.reduce((sum, i) => sum + i.perMessage, 0);
  const gbSeconds = ops.invocations.reduce((sum, i) => sum + i.perMessage * (Math.ceil(i.durationMs) / 1000) * (ops.memoryMb / 1024), 0);
  const parts = {
    apiGateway: ops.apiGatewayUnits * prices.apiGateway.messagesPerMillion,
    lambdaRequests: invocations * prices.lambda.requestsPerMillion,
    lambdaCompute: gbSeconds * 1e6 * prices.lambda.arm64PerGbSecond,
    dynamoReads: ops.readUnits * prices.dynamodb.readRequestUnitsPerMillion,
    dynamoWrites: ops.writeUnits * prices.dynamodb.writeRequestUnitsPerMillion,
  };
  return { ...parts, total: parts.apiGateway + parts.lambdaRequests + parts.lambdaCompute + parts.dynamoReads + parts.dynamoWrites };
}

/** One `ack` request: what it costs whatever its size, and what each message it names adds. */
export interface AckCosts {
  /** Per request: inbound frame + result (API Gateway units), one invocation, the account read and queue-counter update. */
  readonly perRequest: { readonly apiGatewayUnits: number; readonly durationMs: number; readonly readUnits: number; readonly writeUnits: number };
  /** Per acked message: its DeleteItem. */
  readonly perMessage: { readonly readUnits: number; readonly writeUnits: number };
}

/** The ack share of a message's operations when acks name `batch` messages each. */
export function ackOperations(ack: AckCosts, batch: number, memoryMb: number): MessageOperations {
  if (!(batch >= 1)) throw new RangeError('batch: expected at least 1');
  return {
    apiGatewayUnits: ack.perRequest.apiGatewayUnits / batch,
    invocations: [{ route: 'ack', perMessage: 1 / batch, durationMs: ack.perRequest.durationMs }],
    memoryMb,
    readUnits: ack.perRequest.readUnits / batch + ack.perMessage.readUnits,
    writeUnits: ack.perRequest.writeUnits / batch + ack.perMessage.writeUnits,
  };
}

/** Sums per-message operations (e.g. send's share and ack's share); memory must agree. */
export function addOperations(a: MessageOperations, b: MessageOperations): MessageOperations {
  if (a.memoryMb !== b.memoryMb) throw new RangeError('memoryMb: the operations must share one memory size');
  return {
    apiGatewayUnits: a.apiGatewayUnits + b.apiGatewayUnits,
    invocations: [...a.invocations, ...b.invocations],
    memoryMb: a.memoryMb,
    readUnits: a.readUnits + b.readUnits,
    writeUnits: a.writeUnits + b.writeUnits,
  };
}

/** A user connected all month, in dollars (API Gateway connection minutes; 30-day month). */
export function connectedUserMonth(prices: PriceList): number {
  return ((30 * 24 * 60) / 1e6) * prices.apiGateway.connectionMinutesPerMillion;
}

/**
 * What push wake-ups add to a message for an offline device (ARCH §6.13). Every copy queued for an offline
 * device pays the wake-up claim (one conditional UpdateItem of its push subscription, succeeding at most once a
 * minute); each claim that succeeds pays one wake-up: an SQS SendMessage, its share of the event source's
 * ReceiveMessage and DeleteMessageBatch, its share of a sender invocation, the subscription read, and for APNs
 * and FCM an SNS publish (and a CreatePlatformEndpoint once per token per warm container, left out). Web Push
 * posts straight to the browser's push service, which charges nothing.
 */
export interface WakeupProfile {
  /** Messages an offline device receives per minute-long wake-up window, ≥ 1: 1 wakes it for every message. */
  readonly messagesPerWakeup: number;
  /** Wake-ups the sender handles per invocation (SQS batches of up to 10; 1 when traffic is light). */
  readonly batch: number;
  /** How long one sender invocation runs: mostly the push service's round trip. */
  readonly senderDurationMs: number;
  readonly memoryMb: number;
  readonly service: 'web' | 'sns';
}

export interface WakeupCostBreakdown {
  readonly dynamoWrites: number;
  readonly dynamoReads: number;
  readonly sqs: number;
  readonly lambdaRequests: number;
  readonly lambdaCompute: number;
  readonly sns: number;
  readonly total: number;
}

/** Dollars per million offline messages that wake-ups add, per `profile`. */
export function wakeupDollarsPerMillion(profile: WakeupProfile, prices: PriceList): WakeupCostBreakdown {
  if (!(profile.messagesPerWakeup >= 1)) throw new RangeError('messagesPerWakeup: expected at least 1');
  if (!(profile.batch >= 1 && profile.batch <= 10)) throw new RangeError('batch: expected 1 to 10');
  const wakeups = 1 / profile.messagesPerWakeup;
  const invocations = wakeups / profile.batch;
  const gbSeconds = invocations * (Math.ceil(profile.senderDurationMs) / 1000) * (profile.memoryMb / 1024);
  const parts = {
    // The claim: one conditional write per message, paid whether it succeeds or not.
    dynamoWrites: 1 * prices.dynamodb.writeRequestUnitsPerMillion,
    // The subscription, read strongly consistent (1 RRU up to 4 KB) per wake-up.
    dynamoReads: wakeups * prices.dynamodb.readRequestUnitsPerMillion,
    // SendMessage per wake-up; one ReceiveMessage and one DeleteMessageBatch per batch.
    sqs: (wakeups + 2 * invocations) * prices.sqs.standardRequestsPerMillion,
    lambdaRequests: invocations * prices.lambda.requestsPerMillion,
    lambdaCompute: gbSeconds * 1e6 * prices.lambda.arm64PerGbSecond,
    sns: profile.service === 'sns' ? wakeups * (prices.sns.mobilePushPerMillion + prices.sns.requestsPerMillion) : 0,
  };
  return { ...parts, total: Object.values(parts).reduce((sum, v) => sum + v, 0) };
}
