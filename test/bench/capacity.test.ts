import { capacityAt, hotPartitions, Quotas, Usage, type MeasuredPerMessage } from '../../bench/capacity';
import { Prices } from '../../bench/prices';

describe('bench capacity model', () => {
  const measured: MeasuredPerMessage = {
    apiGatewayUnits: 4,
    inboundFrames: 2,
    outboundFrames: 2,
    invocations: [
      { route: 'send', perMessage: 1, durationMs: 100 },
      { route: 'ack', perMessage: 1, durationMs: 20 },
    ],
    byTable: { queue: { readUnits: 1, writeUnits: 4 } },
    itemWriteUnits: 2,
    dollarsPerMillion: 10,
  };

  it('scales the measured counts to the peak hour and holds concurrency by Little’s law', () => {
    // GIVEN 864 000 users (so the mean is 50 × 10 = 500 messages a second)
    const c = capacityAt(864_000, measured, Prices);
    const peak = 500 * Usage.peakToMean;
    expect(c.messagesPerSecond).toEqual({ mean: 500, peak });
    expect(c.routes.send).toEqual({ perSecond: peak, concurrency: peak * 0.1 });
    expect(c.lambdaConcurrency.peak).toBeCloseTo(peak * 0.12);
    expect(c.lambdaConcurrency.raise).toBe(peak * 0.12 > Quotas.lambdaConcurrency);
    expect(c.dynamodb.queue).toEqual({ readUnitsPerSecond: peak, writeUnitsPerSecond: 4 * peak, raise: false });
    expect(c.apiGateway.requestsPerSecond).toBe(4 * peak);
    // AND the month's messages are priced at the measured dollars per million
    expect(c.monthlyDollars.messages).toBe(Math.round(((864_000 * Usage.messagesPerDay * 30) / 1e6) * 10));
  });

  it('flags what passes a default quota', () => {
    const c = capacityAt(10_000_000, measured, Prices);
    expect(c.apiGateway.raise).toContain('account throttle (requests per second)');
    expect(c.lambdaConcurrency.raise).toBe(true);
    expect(c.dynamodb.queue!.raise).toBe(true);
  });

  it('bounds one queue partition by its put and delete', () => {
    const hot = hotPartitions(
      measured,
      { sendPerMinute: 120, sendCopiesPerMinute: 6000 },
      {
        recipients: 1000,
        frames: 4,
        dynamoRequestsByOperation: { PutItem: 2000, UpdateItem: 1004, Query: 1000, BatchGetItem: 12 },
      },
    );
    expect(hot.queuePartitionMessagesPerSecond).toBe(250);
    expect(hot.chattySender).toEqual({ messagesPerSecond: 2, writeUnitsPerSecondOnOneRecipient: 8, shareOfPartition: 0.008 });
    expect(hot.groupMessage).toMatchObject({ recipients: 1000, writesPerCopy: 3, seconds: 10, copiesPerSecondLimit: 100 });
  });
});
