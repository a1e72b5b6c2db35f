import { EbbClient, MemoryStore, type KeyStore } from '../client-sdk/src';
import { sleep } from './measure';
import { startMeteredStack } from './stack';
import { openWindow, type Counted } from './window';

/** One measured case: a sender with `senderDevices` devices writes to a recipient with `recipientDevices`. */
export interface DeviceCase {
  readonly senderDevices: number;
  readonly recipientDevices: number;
  /** Whether every client sends delivered receipts (the SDK's default), or none (`receipts: false`). */
  readonly receipts: boolean;
  readonly messages: number;
  /** Copies delivered per message: one per recipient device, plus a `sent` copy per other sender device. */
  readonly copiesPerMessage: number;
  readonly counted: Counted;
}

export interface DeviceCostOptions {
  /** Recipient device counts, e.g. [1, 2, 6] (at most the stack's `maxDevicesPerAccount`, 6 by default). */
  readonly recipientDevices: readonly number[];
  /** Messages sent per case, one at a time. */
  readonly messages: number;
  /** Also measure every case with delivered receipts on. */
  readonly withReceipts: boolean;
  /** Milliseconds injected before every DynamoDB request (bench/real-pace.ts: 10, as on AWS). @default 0 */
  readonly dynamoDelayMs?: number;
  /** Stack-clock milliseconds between messages (1000: one message a second). @default 0 */
  readonly paceMs?: number;
}

/**
 * Cost per message to a user with 1, 2 and 6 devices (ARCH §4.6): SDK clients on the local stack, one
 * recipient account per device count, every device linked through startLink/approveLink and connected.
 * A sender with one device sends 1 KiB texts, one at a time, each once every copy has reached its device;
 * then the sender links a second device, and the same again carries a `sent` copy to it. Every copy is
 * acked before a window closes. With `withReceipts`, each of those passes is also run with every client
 * sending delivered receipts, as the SDK does by default: each recipient device's receipt is itself a
 * message to the sender, fanned out to the sender's devices (not copied to the recipient's own).
 */
export async function measureDeviceCost(options: DeviceCostOptions): Promise<DeviceCase[]> {
  let offsetMs = 0;
  const m = await startMeteredStack({ dynamoDelayMs: options.dynamoDelayMs ?? 0, now: () => Date.now() + offsetMs });
  const pace = () => (offsetMs += options.paceMs ?? 0);
  const clients: EbbClient[] = [];
  const make = async (store: KeyStore, receipts: boolean) => {
    const client = await EbbClient.create({ url: m.stack.url, store, receipts, timeoutMs: 20_000 });
    clients.push(client);
    return client;
  };
  try {
    const cases: DeviceCase[] = [];
    const sender = await Account.register(make);
    const recipients = new Map<number, Account>();
    for (const n of options.recipientDevices) {
      const account = await Account.register(make);
      while (account.devices.length < n) await account.link(make);
      recipients.set(n, account);
    }
    const run = async (receipts: boolean) => {
      for (const n of options.recipientDevices) {
        const recipient = recipients.get(n)!;
        await exchange(sender, recipient, 1, pace); // first contact: bundles and sessions, not measured
        const close = openWindow(m);
        await exchange(sender, recipient, options.messages, pace);
        cases.push({
          senderDevices: sender.devices.length,
          recipientDevices: n,
          receipts,
          messages: options.messages,
          copiesPerMessage: n + sender.devices.length - 1,
          counted: close(),
        });
      }
    };
    // The same accounts throughout: for the other setting, every device's client is made again from its store.
    const setReceipts = async (on: boolean) => {
      for (const account of [sender, ...recipients.values()]) await account.reopen(make, on);
    };
    await run(false);
    if (options.withReceipts) await setReceipts(true).then(() => run(true));
    await sender.link(make);
    await run(options.withReceipts);
    if (options.withReceipts) await setReceipts(false).then(() => run(false));
    const order = (c: DeviceCase) => (c.receipts ? 100 : 0) + 10 * c.senderDevices + c.recipientDevices;
    return cases.sort((a, b) => order(a) - order(b));
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await m.stack.stop();
  }
}

/** One account's devices: each a client with its own store, counting what it received. */
class Account {
  readonly devices: Device[] = [];

  /** Whether its clients send delivered receipts. */
  receipts = false;

  static async register(make: Make): Promise<Account> {
    const account = new Account();
    const store = new MemoryStore();
    const client = await make(store, account.receipts);
    await client.connect();
    account.devices.push(new Device(client, store));
    return account;
  }

  get userId(): string {
    return this.devices[0]!.client.userId;
  }

  async link(make: Make): Promise<void> {
    const store = new MemoryStore();
    const client = await make(store, this.receipts);
    const { code, linked } = await client.startLink();
    await this.devices[0]!.client.approveLink(code, { name: `device ${this.devices.length + 1}` });
    await linked;
    await client.connect();
    this.devices.push(new Device(client, store));
  }

  async reopen(make: Make, receipts: boolean): Promise<void> {
    this.receipts = receipts;
    for (const [i, device] of this.devices.entries()) {
      await device.client.close();
      const client = await make(device.store, receipts);
      await client.connect();
      this.devices[i] = new Device(client, device.store);
    }
  }
}

type Make = (store: KeyStore, receipts: boolean) => Promise<EbbClient>;

class Device {
  messages = 0;
  sent = 0;
  receipts = 0;

  constructor(
    readonly client: EbbClient,
    readonly store: MemoryStore,
  ) {
    client.on('message', () => this.messages++);
    client.on('sent', () => this.sent++);
    client.on('receipt', () => this.receipts++);
  }
}

/**
 * `messages` 1 KiB texts from the sender's device 1, each sent once the previous one reached every recipient
 * device, every other sender device (as a `sent` copy) and, with receipts on, brought a receipt from every
 * recipient device to every sender device; then a pause for the batched acks.
 */
async function exchange(sender: Account, recipient: Account, messages: number, pace: () => void): Promise<void> {
  const [from, ...others] = sender.devices;
  const receipts = recipient.devices.length;
  for (let i = 0; i < messages; i++) {
    pace();
    const goal = {
      messages: recipient.devices.map((d) => d.messages + 1),
      sent: others.map((d) => d.sent + 1),
      receipts: sender.devices.map((d) => d.receipts + receipts),
    };
    await from!.client.send(recipient.userId, `devices ${i} ${'x'.repeat(1000)}`);
    await until(
      () =>
        recipient.devices.every((d, j) => d.messages >= goal.messages[j]!) &&
        others.every((d, j) => d.sent >= goal.sent[j]!) &&
        (!recipient.receipts || sender.devices.every((d, j) => d.receipts >= goal.receipts[j]!)),
      () =>
        `message ${i}: recipient devices ${recipient.devices.map((d) => d.messages)} of ${goal.messages}, sent copies ${others.map((d) => d.sent)} of ${goal.sent}, receipts ${sender.devices.map((d) => d.receipts)} of ${goal.receipts}`,
    );
  }
  await sleep(500); // acks (and receipts) are batched after a short delay
}

async function until(done: () => boolean, state: () => string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`bench: not everything arrived (${state()})`);
    await sleep(2);
  }
}
