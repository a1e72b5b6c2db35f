import nacl from 'tweetnacl';
import { EbbClient, EbbError, MemoryStore, type Receipt, type SentMessage } from '../../client-sdk/src';
import { certifyDevice } from '../../client-sdk/src/identity/keys';
import { toBase64Url } from '../../protocol/base64url';
import { SIGNED_PREKEY_CONTEXT, signedKeyMessage } from '../../protocol/connect';
import { sdkSuite } from '../support/local-stack';
import { inbox, until } from '../support/sdk';

/** A shared clock for the stack and every client: link codes expire without sleeping. */
const clock = { t: Date.now(), now: () => clock.t };
const env = sdkSuite({ now: clock.now, config: { maxDevicesPerAccount: 3 } }, { now: clock.now, reconnect: { baseDelayMs: 20, maxDelayMs: 200 } });
beforeEach(() => (clock.t = Date.now()));

function sentLog(client: EbbClient): SentMessage[] {
  const sent: SentMessage[] = [];
  client.on('sent', (s) => sent.push(s));
  return sent;
}

function receiptLog(client: EbbClient): Receipt[] {
  const receipts: Receipt[] = [];
  client.on('receipt', (r) => receipts.push(r));
  return receipts;
}

/** A second device of `phone`'s account, linked and connected. */
async function link(phone: EbbClient, name: string, store = new MemoryStore()): Promise<EbbClient> {
  const device = await env.client(store);
  const { code, linked } = await device.startLink();
  await phone.approveLink(code, { name });
  await linked;
  await device.connect();
  return device;
}

async function queued(userId: string, device: number): Promise<number> {
  return (await env.stack.ports.queue.page({ userId, device }, null, 100, clock.now())).messages.length;
}

describe('devices through the local stack', () => {
  it('links a laptop to a phone: one account, its own device number, names only its devices can read', async () => {
    const phone = await env.connected();
    const laptop = await env.client();
    const ownIdBefore = laptop.userId;
    const { code, linked } = await laptop.startLink();
    expect(code.length).toBeLessThanOrEqual(300);
    expect(await phone.approveLink(code, { name: 'laptop' })).toBe(2);
    await linked;
    expect(laptop.userId).toBe(phone.userId);
    expect(laptop.userId).not.toBe(ownIdBefore);
    expect(laptop.device).toBe(2);
    await laptop.connect();

    const devices = await phone.devices();
    expect(devices.map(({ device, name, current, ready }) => ({ device, name, current, ready }))).toEqual([
      { device: 1, name: null, current: true, ready: true },
      { device: 2, name: 'laptop', current: false, ready: true },
    ]);
    expect((await laptop.devices()).find((d) => d.current)?.device).toBe(2);
    // The service holds the name sealed: the account item never carries it in the clear.
    const account = await env.stack.ports.accounts.get(phone.userId);
    expect(JSON.stringify(account)).not.toContain('laptop');
  });

  it('puts every message on every device exactly once, with sent copies, receipts and no identity change at contacts', async () => {
    const phone = await env.connected();
    const carol = await env.connected();
    const identityChanges: string[] = [];
    carol.on('identityChanged', (e) => identityChanges.push(e.userId));
    const carolInbox = inbox(carol);
    await carol.send(phone.userId, 'before the laptop');
    await phone.send(carol.userId, 'hello carol');
    await until(() => carolInbox.length === 1, 'carol to receive');
    const safetyBefore = await carol.safetyNumber(phone.userId);

    const laptop = await link(phone, 'laptop');
    const [phoneInbox, laptopInbox] = [inbox(phone), inbox(laptop)];
    const [phoneSent, laptopSent] = [sentLog(phone), sentLog(laptop)];
    const carolReceipts = receiptLog(carol);
    const laptopReceipts = receiptLog(laptop);

    const toBoth = await carol.send(phone.userId, 'to both devices');
    await until(() => phoneInbox.length === 1 && laptopInbox.length === 1, 'both devices to receive');
    expect(phoneInbox[0]).toMatchObject({ id: toBoth.id, from: carol.userId, text: 'to both devices' });
    expect(laptopInbox[0]).toMatchObject({ id: toBoth.id, from: carol.userId, text: 'to both devices' });
    expect(laptopInbox[0]!.identityChanged).toBeUndefined();

    const fromLaptop = await laptop.send(carol.userId, 'from the laptop');
    const fromPhone = await phone.send(carol.userId, 'from the phone');
    await until(() => carolInbox.length === 3, 'carol to receive from both devices');
    expect(carolInbox.slice(1).map((m) => [m.text, m.fromDevice])).toEqual([
      ['from the laptop', 2],
      ['from the phone', 1],
    ]);
    await until(() => phoneSent.length === 1 && laptopSent.length === 1, 'sent copies');
    expect(phoneSent[0]).toMatchObject({ id: fromLaptop.id, to: carol.userId, text: 'from the laptop', fromDevice: 2 });
    expect(laptopSent[0]).toMatchObject({ id: fromPhone.id, to: carol.userId, text: 'from the phone', fromDevice: 1 });

    // Delivered receipts from each of carol's recipient devices; a read receipt and read sync on markRead.
    await until(() => carolReceipts.filter((r) => r.messageId === toBoth.id && r.kind === 'delivered').length === 2, 'delivered receipts');
    await phone.markRead(phoneInbox[0]!);
    await until(() => carolReceipts.some((r) => r.messageId === toBoth.id && r.kind === 'read'), 'read receipt');
    expect(carolReceipts.find((r) => r.kind === 'read')).toMatchObject({ from: phone.userId, fromDevice: 1 });
    await until(() => laptopReceipts.some((r) => r.kind === 'read'), 'read sync');
    expect(laptopReceipts.find((r) => r.kind === 'read')).toMatchObject({
      messageId: toBoth.id,
      from: phone.userId,
      fromDevice: 1,
      sender: carol.userId,
    });
    // Both of carol's own messages reached phone and laptop, and her devices' receipts reached her.
    await until(async () => (await queued(phone.userId, 1)) + (await queued(phone.userId, 2)) === 0, 'acks on both devices');

    await new Promise((r) => setTimeout(r, 400));
    expect(phoneInbox.map((m) => m.id)).toEqual([toBoth.id]);
    expect(laptopInbox.map((m) => m.id)).toEqual([toBoth.id]);
    expect(phoneSent).toHaveLength(1);
    expect(laptopSent).toHaveLength(1);
    expect(identityChanges).toEqual([]);
    expect(await carol.safetyNumber(phone.userId)).toBe(safetyBefore);
    expect(await carol.safetyNumber(laptop.userId)).toBe(safetyBefore);
  });

  it('refuses a malformed, expired or used code, approval from a linked device, and links past the limit', async () => {
    const phone = await env.connected();
    const laptop = await link(phone, 'laptop');

    const tablet = await env.client();
    const { code, linked } = await tablet.startLink();
    linked.catch(() => undefined);
    const malformed = await phone.approveLink(`${code}x`).catch((e: unknown) => e);
    expect(malformed).toMatchObject({ code: 'BAD_REQUEST', reason: 'malformed-link-code' });
    const fromLaptop = await laptop.approveLink(code).catch((e: unknown) => e);
    expect(fromLaptop).toMatchObject({ code: 'FORBIDDEN' });
    clock.t += 10 * 60_000;
    const expired = await phone.approveLink(code).catch((e: unknown) => e);
    expect(expired).toMatchObject({ code: 'BAD_REQUEST', reason: 'expired-link-code' });
    clock.t -= 10 * 60_000;
    expect((await phone.devices()).map((d) => d.device)).toEqual([1, 2]);

    expect(await phone.approveLink(code, { name: 'tablet' })).toBe(3);
    await linked;
    const used = await phone.approveLink(code).catch((e: unknown) => e);
    expect(used).toMatchObject({ code: 'CONFLICT', reason: 'used-link-code' });

    const fourth = await env.client();
    const next = await fourth.startLink();
    next.linked.catch(() => undefined);
    const full = await phone.approveLink(next.code).catch((e: unknown) => e);
    expect(full).toMatchObject({ code: 'CONFLICT', reason: 'device-limit' });
    expect((await phone.devices()).map((d) => d.device)).toEqual([1, 2, 3]);
  });

  it('removes a device: its queue goes, its sockets close and its connects are refused UNAUTHORIZED', async () => {
    const phone = await env.connected();
    const carol = await env.connected();
    const laptopStore = new MemoryStore();
    const laptop = await link(phone, 'laptop', laptopStore);
    const stopped: EbbError[] = [];
    laptop.on('error', (e) => stopped.push(e));
    await laptop.close();
    await carol.send(phone.userId, 'queued for the laptop');
    expect(await queued(phone.userId, 2)).toBe(1);

    expect(await phone.removeDevice(2)).toBe(true);
    expect(await queued(phone.userId, 2)).toBe(0);
    expect((await phone.devices()).map((d) => d.device)).toEqual([1]);
    const again = await env.client(laptopStore);
    expect(again.device).toBe(2);
    const refused = await again.connect().catch((e: unknown) => e);
    expect(EbbError.is(refused, 'UNAUTHORIZED')).toBe(true);

    // Senders stop at once: the next message goes to device 1 only.
    const phoneInbox = inbox(phone);
    await carol.send(phone.userId, 'after the removal');
    await until(() => phoneInbox.some((m) => m.text === 'after the removal'), 'the phone to receive');
    expect(await queued(phone.userId, 2)).toBe(0);
    expect(await phone.removeDevice(1).catch((e: unknown) => e)).toMatchObject({ code: 'FORBIDDEN' });
  });

  it('closes a removed device that is connected; a device may remove itself', async () => {
    const phone = await env.connected();
    const laptop = await link(phone, 'laptop');
    const tablet = await link(phone, 'tablet');
    const stopped: EbbError[] = [];
    laptop.on('error', (e) => stopped.push(e));
    await phone.removeDevice(2);
    await until(() => stopped.length === 1, 'the laptop to stop', 10_000);
    expect(stopped[0]!.code).toBe('UNAUTHORIZED');

    expect(await tablet.removeDevice(3)).toBe(true);
    expect((await phone.devices()).map((d) => d.device)).toEqual([1]);
  });

  it('sends nothing to a device the server invents (a ghost), certified by no one or by another account', async () => {
    const phone = await env.connected();
    const carol = await env.connected();
    await carol.send(phone.userId, 'first');
    const stranger = nacl.sign.keyPair();
    const ghosts: number[] = [];
    for (const certifier of [stranger, null]) {
      const ghost = nacl.sign.keyPair();
      const cert = certifyDevice(ghost.publicKey, (certifier ?? ghost).secretKey);
      const added = await env.stack.ports.devices.add(
        phone.userId,
        { signingKey: toBase64Url(ghost.publicKey), cert: toBase64Url(cert), name: null, linkedAt: clock.now() },
        16,
      );
      if (added.outcome !== 'added') throw new Error(`ghost not added: ${added.outcome}`);
      const prekey = nacl.box.keyPair().publicKey;
      const signature = nacl.sign.detached(signedKeyMessage(SIGNED_PREKEY_CONTEXT, prekey), ghost.secretKey);
      await env.stack.ports.prekeys.putSignedPrekey(
        { userId: phone.userId, device: added.device },
        { keyId: 1, publicKey: toBase64Url(prekey), signature: toBase64Url(signature) },
      );
      await env.stack.ports.devices.activate(phone.userId, added.device);
      ghosts.push(added.device);
    }
    const fresh = await env.connected();
    const phoneInbox = inbox(phone);
    await carol.send(phone.userId, 'after the ghosts');
    await fresh.send(phone.userId, 'from someone new');
    await until(() => phoneInbox.length === 2, 'the phone to receive');
    for (const device of ghosts) expect(await queued(phone.userId, device)).toBe(0);
  });

  it('restores a linked device from its own archive as that device', async () => {
    const phone = await env.connected();
    const laptop = await link(phone, 'laptop');
    const archive = await laptop.exportArchive('a passphrase long enough');
    await laptop.close();
    const restored = await EbbClient.importArchive(archive, 'a passphrase long enough', {
      url: env.stack.url,
      now: clock.now,
      store: new MemoryStore(),
    });
    expect([restored.userId, restored.device]).toEqual([phone.userId, 2]);
    await restored.connect();
    const inboxRestored = inbox(restored);
    const carol = await env.connected();
    await carol.send(phone.userId, 'to the restored laptop');
    await until(() => inboxRestored.length === 1, 'the restored laptop to receive');
    await restored.close();
  });
});
