import { runInProcess } from '../support/admin-cli';
import { sdkSuite } from '../support/local-stack';
import { codeOf, inbox, until } from '../support/sdk';

/** Issue #5 end to end: franked messages through the real handlers, a verified report, and the operator's view of it. */
const env = sdkSuite();
const client = () => env.connected();

it('verifies a report of a received message and stores only who, when, why and what', async () => {
  const [alice, bob, carol] = [await client(), await client(), await client()];
  const received = inbox(bob);
  const { id } = await alice.send(bob.userId, 'ebb-canary pay up or your photos go public');
  await until(() => received.length === 1, 'bob to receive');

  const result = await bob.report(id, 'extortion');
  expect(result.duplicate).toBe(false);
  expect(await bob.report(id, 'extortion, again')).toEqual({ reportId: result.reportId, duplicate: true });

  // Carol never received it: her SDK holds nothing to report, and the server would refuse her anyway.
  expect(await codeOf(carol.report(id, 'hearsay'))).toBe('NOT_FOUND');

  const list = await runInProcess('reports', 'list', '--dynamodb-endpoint', env.stack.dynamodbEndpoint, '--json');
  expect(list.status).toBe(0);
  const listed = JSON.parse(list.stdout) as { total: number; reports: Record<string, unknown>[] };
  expect(listed.total).toBe(1);
  expect(listed.reports[0]).toMatchObject({ reportId: result.reportId, reason: 'extortion', kind: 'text' });
  expect(listed.reports[0]).not.toHaveProperty('content');

  const shown = await runInProcess('reports', 'show', result.reportId, '--dynamodb-endpoint', env.stack.dynamodbEndpoint, '--json');
  expect(shown.status).toBe(0);
  expect(JSON.parse(shown.stdout)).toMatchObject({
    reportId: result.reportId,
    reporter: { userId: bob.userId, device: 1 },
    sender: { userId: alice.userId, device: 1 },
    messageId: id,
    reason: 'extortion',
    kind: 'text',
    content: 'ebb-canary pay up or your photos go public',
  });
});
