import { check, runChaos } from './harness';

/**
 * Bounded chaos run inside `npm test` (8 clients, ~20 s of traffic); `npm run test:chaos` runs the long
 * one (CHAOS_LONG=1: 24 clients, 3 minutes). CHAOS_SEED replays a run's schedule of faults and sends.
 */
const long = process.env.CHAOS_LONG === '1';
const seed = process.env.CHAOS_SEED ? Number(process.env.CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31);
const clients = Number(process.env.CHAOS_CLIENTS ?? (long ? 24 : 8));
const trafficMs = Number(process.env.CHAOS_TRAFFIC_MS ?? (long ? 180_000 : 20_000));
const settleMs = long ? 60_000 : 15_000;

it(
  `delivers every sent message exactly once and in order despite faults (seed ${seed})`,
  async () => {
    const result = await runChaos({ seed, clients, trafficMs, settleMs, log: (line) => process.stdout.write(`${line}\n`) });
    const outcome = check(result);
    expect(result.sent.length).toBeGreaterThan(clients);
    expect({ lost: outcome.lost, duplicates: outcome.duplicates, outOfOrder: outcome.outOfOrder, queuedLeft: result.queuedLeft }).toEqual({
      lost: [],
      duplicates: [],
      outOfOrder: [],
      queuedLeft: 0,
    });
  },
  trafficMs + settleMs + 120_000,
);
