const Sequencer = require('@jest/test-sequencer').default;

/**
 * Suites that take longest, longest first. Jest orders by the durations of the previous run, and without
 * them (a fresh clone, as in CI) by file size, which would start the short chaos.test.ts last and leave one
 * worker running it alone at the end. Without durations, these go first; the rest keep Jest's order.
 * The list is every suite over ~15 s in a full local run (2 workers), longest first.
 */
const SLOWEST = [
  'test/fuzz/routes.test.ts',
  'test/integration/authorization-matrix.test.ts',
  'test/integration/fanout.test.ts',
  'test/infra/bundling.test.ts',
  'test/browser/web-chat.test.ts',
  'test/chat/session.test.ts',
  'test/chaos/chaos.test.ts',
  'test/crypto/sender-key.test.ts',
  'test/integration/groups-lifecycle.test.ts',
  'test/integration/push-wakeups.test.ts',
  'test/integration/attachments-sdk.test.ts',
  'test/integration/devices-sdk.test.ts',
  'test/integration/groups-changes.test.ts',
  'test/chat/groups.test.ts',
  'test/package/sdk-package.test.ts',
  'test/browser/groups.test.ts',
  'test/chat/devices.test.ts',
  'test/integration/groups.test.ts',
  'test/push/wakeups-e2e.test.ts',
  'test/browser/devices.test.ts',
  'test/e2e/npm-start.test.ts',
  'test/web/controller.test.ts',
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
