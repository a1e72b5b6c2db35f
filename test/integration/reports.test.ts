import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoReports, documentClient } from '../../lambdas/adapters/dynamodb';
import { LOCAL_AWS } from '../../local/dynamo';
import { runInProcess } from '../support/admin-cli';
import { messageId } from '../support/identity';
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

describe('a sock puppet reusing the abusive message id', () => {
  it('neither hides the abuse nor takes the report: the operator sees the abuser and the abuser’s words', async () => {
    const [abuser, puppet, victim] = [await client(), await client(), await client()];
    const received = inbox(victim);
    const id = messageId();
    await abuser.send(victim.userId, 'ebb-canary the abuse itself', { id });
    await until(() => received.length === 1, 'the abuse to arrive');
    await puppet.send(victim.userId, 'ebb-canary something harmless', { id });
    // Receive dedupe is by (sender, id): the puppet's message is shown too, neither hides the other.
    await until(() => received.length === 2, 'the puppet message to arrive');
    expect(received.map((m) => [m.from, m.id])).toEqual([
      [abuser.userId, id],
      [puppet.userId, id],
    ]);

    // The id alone no longer names one message.
    expect(await codeOf(victim.report(id, 'abuse'))).toBe('CONFLICT');
    const abuse = received[0]!;
    const { reportId } = await victim.report(abuse, 'abuse');
    expect(await victim.report({ id, from: abuser.userId }, 'abuse')).toEqual({ reportId, duplicate: true });

    const stored = await new DynamoReports(
      documentClient(new DynamoDBClient({ endpoint: env.stack.dynamodbEndpoint, ...LOCAL_AWS })),
      env.stack.tables.reports,
    ).get(reportId);
    expect(stored).toMatchObject({
      sender: { userId: abuser.userId, device: 1 },
      reporter: { userId: victim.userId, device: 1 },
      messageId: id,
      content: 'ebb-canary the abuse itself',
    });

    // The puppet's message is reportable on its own, as a separate report.
    const other = await victim.report(received[1]!, 'spam');
    expect(other.reportId).not.toBe(reportId);
  });
});
