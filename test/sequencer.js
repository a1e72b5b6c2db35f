const Sequencer = require('@jest/test-sequencer').default;

/**
 * Suites that take longest, longest first. Jest orders by the durations of the previous run, and without
 * them (a fresh clone, as in CI) by file size, which would start the short chaos.test.ts last and leave one
 * worker running it alone at the end. Without durations, these go first; the rest keep Jest's order.
 */
const SLOWEST = [
  'test/integration/authorization-matrix.test.ts',
  'test/infra/bundling.test.ts',
  'test/chaos/chaos.test.ts',
  'test/fuzz/routes.test.ts',
  'test/chat/session.test.ts',
  'test/browser/web-chat.test.ts',
  'test/integration/stranger-flood.test.ts',
  'test/core/username-races.test.ts',
  'test/chat/cli.test.ts',
  'test/fuzz/authorizer.test.ts',
  'test/crypto/sender-key.test.ts',
];

class SlowestFirst extends Sequencer {
  sort(tests) {
    const sorted = super.sort(tests);
    if (sorted.some((test) => test.duration !== undefined)) return sorted;
    const rank = (test) => {
      const i = SLOWEST.findIndex((suffix) => test.path.endsWith(suffix));
      return i === -1 ? SLOWEST.length : i;
    };
    return sorted
      .map((test, i) => ({ test, i }))
      .sort((a, b) => rank(a.test) - rank(b.test) || a.i - b.i)
      .map(({ test }) => test);
  }
}

module.exports = SlowestFirst;
