import { contributor } from '../../bench/cold-start';
import { addUsage, diffUsage, emptyUsage } from '../../bench/dynamo-meter';
import { median, quantile } from '../../bench/measure';

describe('bench helpers', () => {
  it('takes nearest-rank quantiles', () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(sorted, 0.5)).toBe(50);
    expect(quantile(sorted, 0.95)).toBe(95);
    expect(quantile(sorted, 0.99)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
    expect(median([3, 1, 2])).toBe(2);
  });

  it('adds and subtracts DynamoDB usage by operation', () => {
    const a = addUsage(emptyUsage(), {
      requests: 3,
      readUnits: 1.5,
      writeUnits: 2,
      conditionalFailures: 0,
      byOperation: { GetItem: 2, PutItem: 1 },
      unitsByOperation: { GetItem: 1.5, PutItem: 2 },
    });
    const b = addUsage(emptyUsage(), {
      requests: 1,
      readUnits: 0.5,
      writeUnits: 0,
      conditionalFailures: 0,
      byOperation: { GetItem: 1 },
      unitsByOperation: { GetItem: 0.5 },
    });
    const d = diffUsage(a, b);
    expect(d).toMatchObject({
      requests: 2,
      readUnits: 1,
      writeUnits: 2,
      byOperation: { GetItem: 1, PutItem: 1 },
      unitsByOperation: { GetItem: 1, PutItem: 2 },
    });
  });

  it('names bundle contributors by package subpath or project file', () => {
    expect(contributor('node_modules/zod/v4/core/schemas.js')).toBe('zod/v4/core');
    expect(contributor('node_modules/@noble/hashes/esm/sha2.js')).toBe('@noble/hashes');
    expect(contributor('lambdas/adapters/dynamodb.ts')).toBe('lambdas/adapters/dynamodb.ts');
    expect(contributor('../protocol/frames.ts')).toBe('protocol/frames.ts');
  });
});
