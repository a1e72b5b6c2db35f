import { AsyncLocalStorage } from 'node:async_hooks';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';

/**
 * Counts the DynamoDB requests a client makes and the capacity they consume. A middleware asks every
 * request for `ReturnConsumedCapacity: 'TOTAL'` and reads `ConsumedCapacity` from the output; dynalite
 * computes it by DynamoDB's rules (writes: 1 unit per started KB of the larger of the old and new item;
 * strongly consistent reads: 1 unit per started 4 KB, eventually consistent half that; a Query sums the
 * sizes of the items it reads before rounding). A request that fails a condition returns no capacity from
 * dynalite, but DynamoDB charges it: such writes are counted as 1 WRU each (items here are under 1 KB
 * when a condition fails: markers and counters), and reported separately.
 * Requests are attributed to the route whose handler made them (see `withRoute`).
 */
export interface DynamoUsage {
  requests: number;
  readUnits: number;
  writeUnits: number;
  /** Conditional writes refused by their condition, each counted as 1 WRU. */
  conditionalFailures: number;
  readonly byOperation: Record<string, number>;
  /** Capacity units (read or write, by the operation's kind) per operation. */
  readonly unitsByOperation: Record<string, number>;
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem']);
/** Operations that accept ReturnConsumedCapacity. */
const METERED = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

export const emptyUsage = (): DynamoUsage => ({
  requests: 0,
  readUnits: 0,
  writeUnits: 0,
  conditionalFailures: 0,
  byOperation: {},
  unitsByOperation: {},
});

export function addUsage(into: DynamoUsage, from: DynamoUsage): DynamoUsage {
  into.requests += from.requests;
  into.readUnits += from.readUnits;
  into.writeUnits += from.writeUnits;
  into.conditionalFailures += from.conditionalFailures;
  for (const [op, n] of Object.entries(from.byOperation)) into.byOperation[op] = (into.byOperation[op] ?? 0) + n;
  for (const [op, n] of Object.entries(from.unitsByOperation)) into.unitsByOperation[op] = (into.unitsByOperation[op] ?? 0) + n;
  return into;
}

export function diffUsage(after: DynamoUsage, before: DynamoUsage): DynamoUsage {
  const diff = (a: Record<string, number>, b: Record<string, number>) =>
    Object.fromEntries(Object.entries(a).flatMap(([op, n]) => (n - (b[op] ?? 0) === 0 ? [] : [[op, n - (b[op] ?? 0)]])));
  return {
    requests: after.requests - before.requests,
    readUnits: after.readUnits - before.readUnits,
    writeUnits: after.writeUnits - before.writeUnits,
    conditionalFailures: after.conditionalFailures - before.conditionalFailures,
    byOperation: diff(after.byOperation, before.byOperation),
    unitsByOperation: diff(after.unitsByOperation, before.unitsByOperation),
  };
}

const cloneUsage = (u: DynamoUsage): DynamoUsage => addUsage(emptyUsage(), u);

/** Which route's handler is running: set around each integration invocation by the route timer. */
export const currentRoute = new AsyncLocalStorage<string>();

export class DynamoMeter {
  readonly total = emptyUsage();
  readonly byRoute = new Map<string, DynamoUsage>();
  /** Per table name (the capacity model's per-table throughput); a batch counts against its first table. */
  readonly byTable = new Map<string, DynamoUsage>();

  /** Installs the middleware on `client` (pass as `instrumentDynamo`, or call on any client). */
  readonly instrument = (client: DynamoDBClient): void => {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String((context as { commandName?: string }).commandName ?? 'unknown').replace(/Command$/, '');
        const input = args.input as Record<string, unknown>;
        if (METERED.has(operation)) input.ReturnConsumedCapacity = 'TOTAL';
        const usage = emptyUsage();
        usage.requests = 1;
        usage.byOperation[operation] = 1;
        try {
          const result = await next(args);
          const consumed = (result.output as { ConsumedCapacity?: unknown }).ConsumedCapacity;
          const units = [consumed].flat().reduce((sum: number, c) => sum + ((c as { CapacityUnits?: number } | undefined)?.CapacityUnits ?? 0), 0);
          if (READS.has(operation)) usage.readUnits = units;
          else usage.writeUnits = units;
          usage.unitsByOperation[operation] = units;
          return result;
        } catch (error) {
          if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
            usage.conditionalFailures = 1;
            usage.writeUnits = 1;
            usage.unitsByOperation[operation] = 1;
          }
          throw error;
        } finally {
          this.add(usage, currentRoute.getStore() ?? '(outside a handler)');
          const table = typeof input.TableName === 'string' ? input.TableName : Object.keys((input.RequestItems as object | undefined) ?? {})[0];
          if (table !== undefined) addUsage(this.byTable.get(table) ?? this.byTable.set(table, emptyUsage()).get(table)!, usage);
        }
      },
      { step: 'initialize', name: 'benchDynamoMeter', override: true },
    );
  };

  private add(usage: DynamoUsage, route: string): void {
    addUsage(this.total, usage);
    addUsage(this.byRoute.get(route) ?? this.byRoute.set(route, emptyUsage()).get(route)!, usage);
  }

  snapshot(): { total: DynamoUsage; byRoute: Map<string, DynamoUsage> } {
    return { total: cloneUsage(this.total), byRoute: new Map([...this.byRoute].map(([k, v]) => [k, cloneUsage(v)])) };
  }
}
