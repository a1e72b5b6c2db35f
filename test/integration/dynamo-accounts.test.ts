import { startLocalStack, type LocalStack } from '../../local';
import { register } from '../../lambdas/core/accounts';
import { makeIdentity, registerFrame } from '../support/identity';
import { callerOf } from '../support/memory-ports';

/** The accounts adapter's one-request pair read (send's path) against dynalite. */
let stack: LocalStack;
beforeAll(async () => {
  stack = await startLocalStack({ port: 0 });
});
afterAll(() => stack.stop());

it('reads two accounts in one request, the same one twice, and a missing one as undefined', async () => {
  const [alice, bob] = [makeIdentity(), makeIdentity()];
  for (const id of [alice, bob]) await register(stack.ports, callerOf(id), registerFrame(id) as never);
  const requests: string[] = [];
  stack.faults.dynamodb = (operation) => (requests.push(operation), undefined);
  try {
    const [a, b] = await stack.ports.accounts.getPair(alice.uid, bob.uid);
    expect([a?.userId, b?.userId]).toEqual([alice.uid, bob.uid]);
    expect(requests).toEqual(['BatchGetItem']);

    const [same, again] = await stack.ports.accounts.getPair(alice.uid, alice.uid);
    expect([same?.userId, again?.userId]).toEqual([alice.uid, alice.uid]);

    const [known, unknown] = await stack.ports.accounts.getPair(bob.uid, makeIdentity().uid);
    expect(known?.userId).toBe(bob.uid);
    expect(unknown).toBeUndefined();
  } finally {
    stack.faults.dynamodb = undefined;
  }
});
