import {
  ackOperations,
  addOperations,
  connectedUserMonth,
  dollarsPerMillion,
  wakeupDollarsPerMillion,
  type AckCosts,
  type MessageOperations,
} from '../../bench/cost';
import { Prices } from '../../bench/prices';

describe('bench cost model', () => {
  const none: MessageOperations = { apiGatewayUnits: 0, invocations: [], memoryMb: 256, readUnits: 0, writeUnits: 0 };

  it('prices one of each unit at its list price per million', () => {
    // GIVEN one API Gateway message, one RRU and one WRU per message and no Lambda
    const cost = dollarsPerMillion({ ...none, apiGatewayUnits: 1, readUnits: 1, writeUnits: 1 }, Prices);
    // THEN a million messages cost exactly those list prices
    expect(cost.apiGateway).toBeCloseTo(Prices.apiGateway.messagesPerMillion);
    expect(cost.dynamoReads).toBeCloseTo(Prices.dynamodb.readRequestUnitsPerMillion);
    expect(cost.dynamoWrites).toBeCloseTo(Prices.dynamodb.writeRequestUnitsPerMillion);
    expect(cost.total).toBeCloseTo(
      Prices.apiGateway.messagesPerMillion + Prices.dynamodb.readRequestUnitsPerMillion + Prices.dynamodb.writeRequestUnitsPerMillion,
    );
  });

  it('bills Lambda per started millisecond at the configured memory', () => {
    // GIVEN one invocation per message of 4.2 ms at 1024 MB
    const cost = dollarsPerMillion({ ...none, memoryMb: 1024, invocations: [{ route: 'send', perMessage: 1, durationMs: 4.2 }] }, Prices);
    // THEN 5 ms × 1 GB per message, and one request per message
    expect(cost.lambdaCompute).toBeCloseTo(1e6 * 0.005 * Prices.lambda.arm64PerGbSecond);
    expect(cost.lambdaRequests).toBeCloseTo(Prices.lambda.requestsPerMillion);
  });

  it('spreads what an ack request costs over the messages it names', () => {
    const ack: AckCosts = {
      perRequest: { apiGatewayUnits: 2, durationMs: 3, readUnits: 1, writeUnits: 1 },
      perMessage: { readUnits: 0, writeUnits: 2 },
    };
    const single = ackOperations(ack, 1, 256);
    const batched = ackOperations(ack, 100, 256);
    expect(single.apiGatewayUnits).toBe(2);
    expect(batched.apiGatewayUnits).toBeCloseTo(0.02);
    // Each message's DeleteItem is paid whatever the batch.
    expect(batched.writeUnits).toBeCloseTo(2 + 1 / 100);
    expect(dollarsPerMillion(batched, Prices).total).toBeLessThan(dollarsPerMillion(single, Prices).total);
    expect(() => ackOperations(ack, 0, 256)).toThrow(RangeError);
  });

  it('adds operations and refuses mixed memory sizes', () => {
    const a: MessageOperations = { ...none, apiGatewayUnits: 3, readUnits: 2, invocations: [{ route: 'send', perMessage: 1, durationMs: 5 }] };
    const sum = addOperations(a, { ...none, writeUnits: 4 });
    expect(sum).toMatchObject({ apiGatewayUnits: 3, readUnits: 2, writeUnits: 4 });
    expect(sum.invocations).toHaveLength(1);
    expect(() => addOperations(a, { ...none, memoryMb: 512 })).toThrow(RangeError);
  });

  it('prices a user connected for a 30-day month', () => {
    expect(connectedUserMonth(Prices)).toBeCloseTo((43_200 / 1e6) * Prices.apiGateway.connectionMinutesPerMillion);
  });

  it('prices a wake-up per offline message: the claim always, the rest once per wake-up, SNS only for native tokens', () => {
    const every = { messagesPerWakeup: 1, batch: 1, senderDurationMs: 99.2, memoryMb: 1024, service: 'web' } as const;
    const web = wakeupDollarsPerMillion(every, Prices);
    // GIVEN one wake-up per message, one per invocation, 100 ms at 1 GB
    expect(web.dynamoWrites).toBeCloseTo(Prices.dynamodb.writeRequestUnitsPerMillion);
    expect(web.dynamoReads).toBeCloseTo(Prices.dynamodb.readRequestUnitsPerMillion);
    expect(web.sqs).toBeCloseTo(3 * Prices.sqs.standardRequestsPerMillion);
    expect(web.lambdaRequests).toBeCloseTo(Prices.lambda.requestsPerMillion);
    expect(web.lambdaCompute).toBeCloseTo(1e6 * 0.1 * Prices.lambda.arm64PerGbSecond);
    expect(web.sns).toBe(0);
    const sns = wakeupDollarsPerMillion({ ...every, service: 'sns' }, Prices);
    expect(sns.sns).toBeCloseTo(Prices.sns.mobilePushPerMillion + Prices.sns.requestsPerMillion);
    // WHEN ten messages share a minute's wake-up THEN only the claim stays per message
    const coalesced = wakeupDollarsPerMillion({ ...every, messagesPerWakeup: 10 }, Prices);
    expect(coalesced.dynamoWrites).toBeCloseTo(web.dynamoWrites);
    expect(coalesced.total - coalesced.dynamoWrites).toBeCloseTo((web.total - web.dynamoWrites) / 10);
    expect(() => wakeupDollarsPerMillion({ ...every, messagesPerWakeup: 0.5 }, Prices)).toThrow(RangeError);
    expect(() => wakeupDollarsPerMillion({ ...every, batch: 11 }, Prices)).toThrow(RangeError);
  });
});
