import { Limits } from '../protocol';

/**
 * What API Gateway would bill and invoke, counted since start (the benchmark's cost model reads it):
 * messages in both directions in 32 KB units, as API Gateway meters them, and integration invocations.
 */
export class GatewayMeter {
  inboundMessages = 0;
  outboundMessages = 0;
  /** Billed message units: each message counts once per started 32 KB. */
  billedUnits = 0;
  connects = 0;
  readonly invocations = new Map<string, number>();

  message(direction: 'inbound' | 'outbound', bytes: number): void {
    if (direction === 'inbound') this.inboundMessages++;
    else this.outboundMessages++;
    this.billedUnits += Math.max(1, Math.ceil(bytes / Limits.maxFrameBytes));
  }

  invoked(routeKey: string): void {
    this.invocations.set(routeKey, (this.invocations.get(routeKey) ?? 0) + 1);
  }

  reset(): void {
    this.inboundMessages = this.outboundMessages = this.billedUnits = this.connects = 0;
    this.invocations.clear();
  }
}
