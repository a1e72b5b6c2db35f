import { randomBytes } from 'node:crypto';
import { MemoryStore } from '../../client-sdk/src';
import { toBase64Url } from '../../protocol';
import { register } from '../../lambdas/core/accounts';
import { send } from '../../lambdas/core/delivery';
import { Refusal } from '../../lambdas/core/refusal';
import { anyCommitment } from '../support/franking';
import { makeIdentity, messageId, registerFrame } from '../support/identity';
import { sdkSuite } from '../support/local-stack';
import { callerOf } from '../support/memory-ports';
import { codeOf, inbox, until } from '../support/sdk';

/** ARCH §6.6 end to end: the SDK hands its delivery token to whoever it writes to, and they present it. */
const MAX = 20;
const env = sdkSuite({ config: { maxQueueDepth: MAX, strangerQueuePercent: 50 } });

/** Fresh stranger accounts send junk to `victim` until the service refuses them; returns how many were queued. */
async function flood(victim: string, strangers = 3): Promise<number> {
  let queued = 0;
  for (let s = 0; s < strangers; s++) {
    const id = makeIdentity();
    const stranger = callerOf(id);
    await register(env.stack.ports, stranger, registerFrame(id) as never);
    for (;;) {
      const frame = {
        action: 'send' as const,
        rid: 's',
        id: messageId(),
        to: victim,
        messages: [{ device: 1, ciphertext: toBase64Url(new Uint8Array(randomBytes(64))), commitment: anyCommitment() }],
      };
      const refused = await send(env.stack.ports, stranger, frame).then(
        () => false,
        (e: unknown) => e instanceof Refusal && e.code === 'RATE_LIMITED',
      );
      if (refused) break;
      if (++queued > MAX) throw new Error('the flood was never refused');
    }
  }
  return queued;
}

describe('GIVEN Bob wrote to Carol, then went offline while strangers flooded his queue', () => {
  it('THEN Carol, who learnt his token from his message, still reaches him, and he receives her message', async () => {
    const bobStore = new MemoryStore();
    const bob = await env.client(bobStore);
    const carol = await env.connected();
    await bob.connect();
    const carolInbox = inbox(carol);
    await bob.send(carol.userId, 'hello carol');
    await until(() => carolInbox.length === 1, 'carol to receive');
    await bob.close();

    expect(await flood(bob.userId)).toBe(MAX / 2);
    const stranger = await env.connected();
    expect(await codeOf(stranger.send(bob.userId, 'let me in'))).toBe('RATE_LIMITED');
    const sent = await carol.send(bob.userId, 'still reaching you');

    const bobAgain = await env.client(bobStore);
    const bobInbox = inbox(bobAgain);
    await bobAgain.connect();
    expect(bobInbox.map((m) => ({ id: m.id, from: m.from, text: m.text }))).toEqual([
      { id: sent.id, from: carol.userId, text: 'still reaching you' },
    ]);
  });

  it('THEN after Bob rotates his token Carol counts as a stranger until his next message reaches her', async () => {
    const bobStore = new MemoryStore();
    const bob = await env.client(bobStore);
    const carol = await env.connected();
    await bob.connect();
    const carolInbox = inbox(carol);
    await bob.send(carol.userId, 'first');
    await until(() => carolInbox.length === 1, 'carol to receive');
    await bob.rotateDeliveryToken();
    await bob.close();

    await flood(bob.userId, 1);
    expect(await codeOf(carol.send(bob.userId, 'with the old token'))).toBe('RATE_LIMITED');

    const bobAgain = await env.client(bobStore);
    await bobAgain.connect(); // drains the flood
    await bobAgain.send(carol.userId, 'second');
    await until(() => carolInbox.length === 2, 'carol to receive again');
    await bobAgain.close();

    await flood(bob.userId, 1);
    await expect(carol.send(bob.userId, 'with the new token')).resolves.toMatchObject({ id: expect.any(String) });
  });
});
