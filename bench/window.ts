import type { MessageOperations } from './cost';
import { diffUsage, type DynamoUsage } from './dynamo-meter';
import { median } from './measure';
import type { MeteredStack } from './stack';

/** Everything the local stack counted between `openWindow` and the returned `close`. */
export interface Counted {
  readonly dynamo: DynamoUsage;
  readonly dynamoByRoute: Map<string, DynamoUsage>;
  /** API Gateway messages billed (32 KB units), received from clients and sent to them. */
  readonly gateway: { readonly billedUnits: number; readonly inbound: number; readonly outbound: number };
  readonly invocations: Map<string, number>;
  /** Handler durations (ms) per route. */
  readonly durations: Map<string, number[]>;
}

export function openWindow(m: MeteredStack): () => Counted {
  const meter = m.stack.gateway.meter;
  const gateway = { billedUnits: meter.billedUnits, inbound: meter.inboundMessages, outbound: meter.outboundMessages };
  const invocations = new Map(meter.invocations);
  const dynamo = m.dynamo.snapshot();
  const durationCounts = new Map([...m.timer.durations].map(([k, v]) => [k, v.length]));
  return () => {
    const now = m.dynamo.snapshot();
    const byRoute = new Map<string, DynamoUsage>();
    for (const [route, usage] of now.byRoute) {
      const d = diffUsage(
        usage,
        dynamo.byRoute.get(route) ?? { requests: 0, readUnits: 0, writeUnits: 0, conditionalFailures: 0, byOperation: {}, unitsByOperation: {} },
      );
      if (d.requests > 0) byRoute.set(route, d);
    }
    const calls = new Map<string, number>();
    for (const [route, n] of meter.invocations) if (n - (invocations.get(route) ?? 0) > 0) calls.set(route, n - (invocations.get(route) ?? 0));
    const durations = new Map<string, number[]>();
    for (const [route, list] of m.timer.durations)
      if (list.length > (durationCounts.get(route) ?? 0)) durations.set(route, list.slice(durationCounts.get(route) ?? 0));
    return {
      dynamo: diffUsage(now.total, dynamo.total),
      dynamoByRoute: byRoute,
      gateway: {
        billedUnits: meter.billedUnits - gateway.billedUnits,
        inbound: meter.inboundMessages - gateway.inbound,
        outbound: meter.outboundMessages - gateway.outbound,
      },
      invocations: calls,
      durations,
    };
  };
}

/** `a − b`, for subtracting a control window (e.g. a reconnect with nothing queued). */
export function subtractCounted(a: Counted, b: Counted): Counted {
  const routes = new Set([...a.dynamoByRoute.keys()]);
  const byRoute = new Map<string, DynamoUsage>();
  for (const r of routes) byRoute.set(r, diffUsage(a.dynamoByRoute.get(r)!, b.dynamoByRoute.get(r) ?? zero()));
  const invocations = new Map<string, number>();
  for (const [r, n] of a.invocations) invocations.set(r, n - (b.invocations.get(r) ?? 0));
  return {
    dynamo: diffUsage(a.dynamo, b.dynamo),
    dynamoByRoute: byRoute,
    gateway: {
      billedUnits: a.gateway.billedUnits - b.gateway.billedUnits,
      inbound: a.gateway.inbound - b.gateway.inbound,
      outbound: a.gateway.outbound - b.gateway.outbound,
    },
    invocations,
    durations: a.durations,
  };
}

const zero = (): DynamoUsage => ({ requests: 0, readUnits: 0, writeUnits: 0, conditionalFailures: 0, byOperation: {}, unitsByOperation: {} });

/** A window's operations per message, each route's invocations at its median measured duration. */
export function operationsOf(c: Counted & { messages: number }, memoryMb: number): MessageOperations {
  return {
    apiGatewayUnits: c.gateway.billedUnits / c.messages,
    invocations: [...c.invocations]
      .filter(([, n]) => n > 0)
      .map(([route, n]) => ({ route, perMessage: n / c.messages, durationMs: median(c.durations.get(route) ?? [0]) })),
    memoryMb,
    readUnits: c.dynamo.readUnits / c.messages,
    writeUnits: c.dynamo.writeUnits / c.messages,
  };
}
