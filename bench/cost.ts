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
