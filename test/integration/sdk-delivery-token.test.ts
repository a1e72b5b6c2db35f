import { randomBytes } from 'node:crypto';
import { MemoryStore } from '../../client-sdk/src';
import { StoreKeys } from '../../client-sdk/src/store/layout';
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
async function flood(victim: string, strangers = 3, devices: readonly number[] = [1]): Promise<number> {
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
        messages: devices.map((device) => ({ device, ciphertext: toBase64Url(new Uint8Array(randomBytes(64))), commitment: anyCommitment() })),
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

describe('GIVEN Bob has a phone and a laptop, and rotates his token on the laptop', () => {
  it('THEN the phone sends the new token too: Carol, who heard from the phone, still counts as a contact', async () => {
    const [phoneStore, laptopStore] = [new MemoryStore(), new MemoryStore()];
    const phone = await env.client(phoneStore);
    await phone.connect();
    const laptop = await env.client(laptopStore);
    const { code, linked } = await laptop.startLink();
    await phone.approveLink(code, { name: 'laptop' });
    await linked;
    await laptop.connect();
    // The laptop got the account's token in its provision.
    expect(await laptopStore.get(StoreKeys.deliveryToken)).toBe(await phoneStore.get(StoreKeys.deliveryToken));
    await phone.devices();
    const carol = await env.connected();
    const carolInbox = inbox(carol);

    await laptop.rotateDeliveryToken();
    const tokenOf = async (store: MemoryStore) => JSON.parse((await store.get(StoreKeys.deliveryToken)) ?? '{}').token as string | undefined;
    await until(async () => (await tokenOf(phoneStore)) === (await tokenOf(laptopStore)), 'the phone to take the new token');
    await phone.send(carol.userId, 'from the phone, after the rotation');
    await until(() => carolInbox.length === 1, 'carol to receive');
    await Promise.all([phone.close(), laptop.close()]);

    await flood(phone.userId, 1, [1, 2]);
    await expect(carol.send(phone.userId, 'back to bob')).resolves.toMatchObject({ id: expect.any(String) });
  });
});
