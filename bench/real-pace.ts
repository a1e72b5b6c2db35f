import { EbbClient, MemoryStore } from '../client-sdk/src';
import { ACK_RIDE_MARGIN_MS } from '../client-sdk/src/session/acks';
import { RECEIPT_WAIT_MS } from '../client-sdk/src/session/receipts';
import { sleep } from './measure';
import { startMeteredStack } from './stack';
import { openWindow, type Counted } from './window';

/** One real-pace run: what `messages` texts of `textBytes` cost, receipts and acks as the SDK ships them. */
export interface RealPaceRun {
  readonly textBytes: number;
  readonly conversations: number;
  /** Texts delivered in the window (conversations × rounds). */
  readonly messages: number;
  readonly counted: Counted;
  /** Write units of one queued text: the DeleteItem of its ack bills the item's size, as its PutItem did. */
  readonly itemWriteUnits: number;
  /** DynamoDB requests and units per text, per table (logical name, as in local/index.ts's `tables`). */
  readonly byTable: Record<string, { readonly requests: number; readonly readUnits: number; readonly writeUnits: number }>;
  /** Texts that had not arrived when their round gave up waiting (20 s), and receipts missing at the end: best effort on a loaded machine. */
  readonly missing: { readonly messages: number; readonly receipts: number };
}

export interface RealPaceOptions {
  readonly conversations: number;
  /** Texts per conversation, one a second (real time, which is also the stack's clock), alternating direction. */
  readonly rounds: number;
  readonly textBytes: readonly number[];
  /** Milliseconds injected before every DynamoDB request. */
  readonly dynamoDelayMs: number;
  /** Quiet acks (the SDK's default) or every ack answered (the SDK before quiet acks). */
  readonly quietAcks?: boolean;
  /** Acks riding on the next send (the SDK's default, ARCH §6.5), or always in an `ack` frame of their own. */
  readonly ridingAcks?: boolean;
  /**
   * The clients' `receiptWaitMs`: the SDK's default (receipts ride inside the reply, ARCH §8.6), or 300 for the
   * SDK before riding receipts (each receipt alone, 300 ms after its message, carrying its ack).
   */
  readonly receiptWaitMs?: number;
  /** Receipts riding inside the next message to their user (the SDK's default), or never (the SDK before). */
  readonly ridingReceipts?: boolean;
}

/**
 * Issue 18 §2: cost under real pacing. A metered local stack with `dynamoDelayMs` before every DynamoDB
 * request; `conversations` pairs of SDK clients (receipts on, as shipped) that have exchanged a first message
 * each way (sessions made, not measured). Then `rounds` rounds, one a second of real time: every conversation
 * sends one text (alternating who writes), staggered a little, and the round waits for the texts to arrive,
 * then for the rest of its second. Real time, not a stack clock moved ahead: the SDK's receipt and ack waits
 * are timers (ARCH §8.6, §6.5), so only real pacing lets a receipt ride inside the reply as it would between
 * people, or go alone when the reply is late. The stack's clock is the real one. After the last round the run
 * waits for every receipt (the last text's goes alone once its wait is over) and for the acks of those.
 * Conversations overlap; each device still receives at most one text per round, so acks name one message
 * each as they do at human pace.
 */
export async function measureRealPace(options: RealPaceOptions): Promise<RealPaceRun[]> {
  const runs: RealPaceRun[] = [];
  for (const textBytes of options.textBytes) runs.push(await run(options, textBytes));
  return runs;
}

async function run(options: RealPaceOptions, textBytes: number): Promise<RealPaceRun> {
  const m = await startMeteredStack({ dynamoDelayMs: options.dynamoDelayMs });
  const clients: EbbClient[] = [];
  const receiptWaitMs = options.receiptWaitMs ?? RECEIPT_WAIT_MS;
  // What a receipt and the ack riding on it take to leave once nothing else carries them (ARCH §6.5).
  const settleMs = receiptWaitMs + ACK_RIDE_MARGIN_MS + 400;
  try {
    const make = async () => {
      const client = await EbbClient.create({
        url: m.stack.url,
        store: new MemoryStore(),
        timeoutMs: 120_000,
        ...(options.receiptWaitMs !== undefined && { receiptWaitMs: options.receiptWaitMs }),
      });
      if (options.ridingAcks === false) {
        // The SDK before acks rode on sends: no send carries one, and none waits for a receipt.
        const acks = (client as unknown as { acks: { sendComing?: unknown; take: () => unknown[] } }).acks;
        acks.sendComing = undefined;
        acks.take = () => [];
      }
      if (options.ridingReceipts === false) {
        // The SDK before riding receipts: no message takes the receipts waiting for its recipient.
        const outbox = (client as unknown as { outbox: { options: object } }).outbox;
        outbox.options = { ...outbox.options, ridingReceipts: undefined };
      }
      if (options.quietAcks === false) {
        // The SDK before quiet acks: every ack batch is a request answered with a result.
        (client as unknown as { acks: { postAcks?: unknown } }).acks.postAcks = undefined;
      }
      clients.push(client);
      await client.connect();
      return new Counter(client);
    };
    const missing = { messages: 0, receipts: 0 };
    const pairs: [Counter, Counter][] = [];
    for (let i = 0; i < options.conversations; i++) pairs.push([await make(), await make()]);
    const body = 'x'.repeat(textBytes);
    let sentTexts = 0;
    const round = async (r: number, text: string) => {
      const started = performance.now();
      const goals = pairs.map(([a, b]) => {
        const [from, to] = r % 2 === 0 ? [a, b] : [b, a];
        return { from, to, messages: to.messages + 1 };
      });
      const sends: Promise<unknown>[] = [];
      for (const g of goals) {
        sends.push(g.from.client.send(g.to.client.userId, text));
        await sleep(5);
      }
      await Promise.all(sends); // a send that fails fails the bench, rather than a wait that never ends
      sentTexts += goals.length;
      // A push may be lost (the message then waits in the queue for the next fetch): a round waits a while, then
      // counts what is missing. Receipts are not waited for: the next round's texts are what they ride in.
      if (!(await until(() => goals.every((g) => g.to.messages >= g.messages), 20_000))) {
        missing.messages += goals.filter((g) => g.to.messages < g.messages).length;
      }
      await sleep(Math.max(0, 1000 - (performance.now() - started)));
    };
    // Every text sent so far has its delivered receipt (best effort: counted missing after 20 s), then its acks went.
    const settle = async () => {
      const receipts = () => pairs.reduce((n, [a, b]) => n + a.receipts + b.receipts, 0);
      if (!(await until(() => receipts() >= sentTexts, 20_000))) missing.receipts += sentTexts - receipts();
      await sleep(settleMs);
    };
    await round(0, 'first contact');
    await round(1, 'first contact back');
    await settle();
    missing.messages = 0;
    missing.receipts = 0;
    const tablesBefore = new Map([...m.dynamo.byTable].map(([t, u]) => [t, { ...u }]));
    const close = openWindow(m);
    for (let r = 0; r < options.rounds; r++) await round(r, body);
    await settle();
    const counted = close();
    const messages = options.conversations * options.rounds;
    const byTable: RealPaceRun['byTable'] = {};
    for (const [logical, name] of Object.entries(m.stack.tables as Record<string, string>)) {
      const now = m.dynamo.byTable.get(name);
      if (!now) continue;
      const was = tablesBefore.get(name) ?? { requests: 0, readUnits: 0, writeUnits: 0 };
      const requests = (now.requests - was.requests) / messages;
      if (requests > 0) {
        byTable[logical] = {
          requests,
          readUnits: (now.readUnits - was.readUnits) / messages,
          writeUnits: (now.writeUnits - was.writeUnits) / messages,
        };
      }
    }
    // Each text is deleted once by its recipient's ack; so is each receipt that went alone, a small item of one
    // write unit (standalone receipts: the `send` frames beyond one a text). An ack riding on a send (ARCH §6.5)
    // deletes in the `send` route, which at this pace deletes nothing else.
    const deletesIn = (route: string) => counted.dynamoByRoute.get(route)?.unitsByOperation.DeleteItem ?? 0;
    const deletes = deletesIn('ack') + deletesIn('send') || NaN;
    const aloneReceipts = Math.max(0, (counted.invocations.get('send') ?? 0) - messages);
    const itemWriteUnits = (deletes - aloneReceipts) / messages;
    return { textBytes, conversations: options.conversations, messages, counted, itemWriteUnits, byTable, missing };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    await m.stack.stop();
  }
}

class Counter {
  messages = 0;
  receipts = 0;
  constructor(readonly client: EbbClient) {
    client.on('message', () => this.messages++);
    client.on('receipt', () => this.receipts++);
  }
}

/** Whether `done` came true within `timeoutMs`. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (!done()) {
    if (performance.now() > deadline) return false;
    await sleep(5);
  }
  return true;
}
