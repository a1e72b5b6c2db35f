import nacl from 'tweetnacl';
import { type EbbClient, type Receipt } from '../../client-sdk/src';
import {
  MAX_CONTROL_IDS,
  RidingReceiptsError,
  decodePlaintext,
  decodeRidingReceipts,
  encodePlaintext,
  framePlaintext,
  unframePlaintext,
} from '../../client-sdk/src/crypto/plaintext';
import { userIdFromSigningKey } from '../../client-sdk/src/identity/keys';
import { RECEIPT_WAIT_MS, ReceiptBatcher } from '../../client-sdk/src/session/receipts';
import type { Control } from '../../client-sdk/src/crypto/plaintext';
import { toBase64Url } from '../../protocol/base64url';
import { Limits } from '../../protocol/limits';
import { ackedBy, clientFor, connected, fakeServerSuite, inbox, rejectionOf, waitFor } from './helpers';

/** Delivered and read receipts riding inside the next message to their user (ARCH §8.6). */

const id = (n: number): string => toBase64Url(new Uint8Array(16).fill(n));
const ids = (n: number): string[] => Array.from({ length: n }, (_, i) => id(i % 250));
// Sockets on a loaded CI machine: generous waits, never a timing assertion.
const WAIT = 8000;

function receiptsOf(client: EbbClient): Receipt[] {
  const receipts: Receipt[] = [];
  client.on('receipt', (r) => receipts.push(r));
  return receipts;
}

type Plaintexter = { plaintext: (...args: unknown[]) => Uint8Array };

/** Rewrites the header of every plaintext `client` encrypts for `to` (a sender that crafts its own plaintexts). */
function tamper(client: EbbClient, to: string, edit: (header: Record<string, unknown>) => void): void {
  const outbox = (client as unknown as { outbox: Plaintexter }).outbox;
  const original = outbox.plaintext.bind(outbox);
  outbox.plaintext = (...args: unknown[]) => {
    const framed = unframePlaintext(original(...args))!;
    const header = framed.header as Record<string, unknown>;
    if (header.to === to) edit(header);
    return framePlaintext(header, framed.body);
  };
}

/** The riding receipts of every plaintext `client` encrypts for a device (not its size checks), with the user each is for. */
function recordPlaintexts(client: EbbClient): { to: string; rc: unknown }[] {
  const seen: { to: string; rc: unknown }[] = [];
  const outbox = (client as unknown as { outbox: Plaintexter }).outbox;
  const original = outbox.plaintext.bind(outbox);
  outbox.plaintext = (...args: unknown[]) => {
    const bytes = original(...args);
    const header = unframePlaintext(bytes)!.header as { to: string; toDevice: number; rc?: unknown };
    if (header.toDevice !== Limits.maxDevice) seen.push({ to: header.to, rc: header.rc });
    return bytes;
  };
  return seen;
}

function inboxOf(client: EbbClient): { receiptsRefused: number } {
  return (client as unknown as { inbox: { receiptsRefused: number } }).inbox;
}

/** Whether `client` has a receipt waiting or being sent: once not, no receipt frame of its own can follow. */
function receiptsPending(client: EbbClient): boolean {
  return (client as unknown as { receipts: { pending: boolean } }).receipts.pending;
}

// Long enough that a reply sent at once always finds the receipts still waiting, on a loaded machine too; the
// tests never sit out this wait (a receipt that rode leaves nothing pending).
const RIDE_WAIT = { receiptWaitMs: 5000 } as const;

describe('the riding-receipts field of the plaintext', () => {
  const alice = userIdFromSigningKey(nacl.sign.keyPair().publicKey);
  const bob = userIdFromSigningKey(nacl.sign.keyPair().publicKey);
  const base = { from: alice, fromDevice: 1, to: bob, toDevice: 1, id: id(1), frankKey: nacl.randomBytes(32), text: 'hi' } as const;
  const plain = { ...base, body: new TextEncoder().encode('hi') };

  it('round-trips each kind, and is absent when empty or not given (older plaintexts decode as before)', () => {
    const receipts = { delivered: [id(2), id(3)], read: [id(2)] };
    expect(decodePlaintext(encodePlaintext({ ...plain, receipts }))?.receipts).toEqual(receipts);
    expect(decodePlaintext(encodePlaintext({ ...plain, receipts: { read: [id(4)] } }))?.receipts).toEqual({ read: [id(4)] });
    const none = decodePlaintext(encodePlaintext({ ...plain, receipts: { delivered: [] } }))!;
    expect(none).not.toHaveProperty('receipts');
    expect(unframePlaintext(encodePlaintext({ ...plain, receipts: { delivered: [] } }))!.header).not.toHaveProperty('rc');
    expect(decodePlaintext(encodePlaintext(plain))).toMatchObject({ text: 'hi', id: id(1) });
    expect(decodePlaintext(encodePlaintext(plain))).not.toHaveProperty('receipts');
  });

  it('refuses a malformed field with a typed error, and only the field: the message decodes whole', () => {
    const header = unframePlaintext(encodePlaintext(plain))!.header as Record<string, unknown>;
    for (const rc of [
      {},
      { d: [] },
      { d: ids(MAX_CONTROL_IDS + 1) },
      { r: ['not an id'] },
      { d: [id(1)], x: [id(2)] },
      { d: id(1) },
      [id(1)],
      'd',
      null,
    ]) {
      expect(() => decodeRidingReceipts(rc)).toThrow(RidingReceiptsError);
      const decoded = decodePlaintext(framePlaintext({ ...header, rc }, plain.body));
      expect(decoded).toMatchObject({ text: 'hi', from: alice, to: bob, id: id(1) });
      expect(decoded).not.toHaveProperty('receipts');
      expect(decoded?.receiptsRefused).toBeInstanceOf(RidingReceiptsError);
    }
    expect(decodeRidingReceipts({ d: ids(MAX_CONTROL_IDS), r: [id(7)] })).toEqual({ delivered: ids(MAX_CONTROL_IDS), read: [id(7)] });
    expect(() => encodePlaintext({ ...plain, receipts: { delivered: ids(MAX_CONTROL_IDS + 1) } })).toThrow(RidingReceiptsError);
  });
});

describe('ReceiptBatcher.take', () => {
  afterEach(() => jest.useRealTimers());

  function batcher() {
    const sent: { to: string; control: Control }[] = [];
    const receipts = new ReceiptBatcher({ send: async (to, control) => sent.push({ to, control }) });
    return { receipts, sent };
  }

  it("hands a message to the user both kinds of that user's receipts, nobody else's, and nothing goes alone", async () => {
    jest.useFakeTimers();
    const { receipts, sent } = batcher();
    const read = receipts.receipt('bob', 'read', id(1));
    void receipts.receipt('bob', 'delivered', id(1));
    void receipts.receipt('bob', 'delivered', id(2));
    void receipts.receipt('carol', 'delivered', id(3));
    void receipts.readSync('alice', 'bob', id(1));
    const taken = receipts.take('bob')!;
    expect(taken.receipts).toEqual({ delivered: [id(1), id(2)], read: [id(1)] });
    expect(receipts.take('bob')).toBeUndefined();
    taken.settle(true);
    await read; // markRead's promise: its batch went out inside the message
    jest.advanceTimersByTime(RECEIPT_WAIT_MS);
    await Promise.resolve();
    // Carol's receipt and the read state for this account's devices went alone; none of Bob's.
    expect(sent.map((s) => s.to).sort()).toEqual(['alice', 'carol']);
  });

  it('sends them alone at once when the message carrying them failed', async () => {
    const { receipts, sent } = batcher();
    void receipts.receipt('bob', 'delivered', id(1));
    receipts.take('bob')!.settle(false);
    await waitFor(() => sent.length === 1);
    expect(sent).toEqual([{ to: 'bob', control: { type: 'receipt', kind: 'delivered', ids: [id(1)] } }]);
  });

  it('waits RECEIPT_WAIT_MS for a message when none comes, then sends each batch alone', () => {
    jest.useFakeTimers();
    const { receipts, sent } = batcher();
    void receipts.receipt('bob', 'delivered', id(1));
    jest.advanceTimersByTime(RECEIPT_WAIT_MS - 1);
    expect(sent).toEqual([]);
    jest.advanceTimersByTime(1);
    expect(sent).toEqual([{ to: 'bob', control: { type: 'receipt', kind: 'delivered', ids: [id(1)] } }]);
  });
});

describe('receipts riding inside a reply', () => {
  const env = fakeServerSuite();

  it('a reply carries the delivered receipts: one receipt event per id, no receipt frame of its own, and the acks ride too', async () => {
    const alice = env.track(await connected(env.server));
    const bob = env.track(await connected(env.server, RIDE_WAIT));
    const receipts = receiptsOf(alice);
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    const first = await alice.send(bob.userId, 'one');
    const second = await alice.send(bob.userId, 'two');
    await waitFor(() => bobInbox.length === 2, WAIT);
    await bob.send(alice.userId, 'both arrived');
    await waitFor(() => aliceInbox.length === 1 && receipts.length === 2, WAIT);
    expect(receiptsPending(bob)).toBe(false); // nothing left to go alone

    expect(receipts.map((r) => [r.messageId, r.kind, r.from, r.fromDevice])).toEqual([
      [first.id, 'delivered', bob.userId, 1],
      [second.id, 'delivered', bob.userId, 1],
    ]);
    const bobSends = env.server.framesOf(bob.userId, 'send');
    expect(bobSends).toHaveLength(1);
    expect(bobSends[0].acks.map((a: { id: string }) => a.id).sort()).toEqual([first.id, second.id].sort());
    expect(env.server.framesOf(bob.userId, 'ack')).toEqual([]);
    expect(ackedBy(env.server, bob.userId).map((a) => a.id)).toEqual(expect.arrayContaining([first.id, second.id]));
    expect(aliceInbox.map((m) => m.text)).toEqual(['both arrived']);
  });

  it('read receipts ride too; markRead resolves once the reply carried them', async () => {
    const alice = env.track(await connected(env.server));
    const bob = env.track(await connected(env.server, RIDE_WAIT));
    const receipts = receiptsOf(alice);
    const bobInbox = inbox(bob);
    const sent = await alice.send(bob.userId, 'read me');
    await waitFor(() => bobInbox.length === 1, WAIT);
    const read = bob.markRead(bobInbox[0]!);
    await bob.send(alice.userId, 'read it');
    await read;
    await waitFor(() => receipts.length === 2, WAIT);
    expect(receiptsPending(bob)).toBe(false);
    expect(receipts.map((r) => [r.messageId, r.kind, r.from])).toEqual([
      [sent.id, 'delivered', bob.userId],
      [sent.id, 'read', bob.userId],
    ]);
    expect(env.server.framesOf(bob.userId, 'send')).toHaveLength(1);
  });

  it('goes alone when no message to its user leaves within the wait (a message to someone else takes none)', async () => {
    const alice = env.track(await connected(env.server));
    const bob = env.track(await connected(env.server, { receiptWaitMs: 300 }));
    const carol = env.track(await connected(env.server));
    const [aliceReceipts, carolReceipts] = [receiptsOf(alice), receiptsOf(carol)];
    const bobInbox = inbox(bob);
    const sent = await alice.send(bob.userId, 'no reply to this');
    await waitFor(() => bobInbox.length === 1, WAIT);
    await bob.send(carol.userId, 'to carol instead');
    await waitFor(() => aliceReceipts.length === 1, WAIT);
    expect(aliceReceipts[0]).toMatchObject({ messageId: sent.id, kind: 'delivered', from: bob.userId, fromDevice: 1 });
    expect(carolReceipts).toEqual([]);
    expect(inbox(alice)).toEqual([]);
    const toAlice = env.server.framesOf(bob.userId, 'send').filter((f) => f.to === alice.userId);
    expect(toAlice).toHaveLength(1);
    // Bob's ack of Alice's message rode on whichever send left first, once.
    await waitFor(() => ackedBy(env.server, bob.userId).some((a) => a.id === sent.id), WAIT);
    expect(ackedBy(env.server, bob.userId).filter((a) => a.id === sent.id)).toHaveLength(1);
  });

  it('receipts: false: a reply carries none', async () => {
    const alice = env.track(await connected(env.server));
    const bob = env.track(await connected(env.server, { receipts: false, receiptWaitMs: 300 }));
    const receipts = receiptsOf(alice);
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    await alice.send(bob.userId, 'hello');
    await waitFor(() => bobInbox.length === 1, WAIT);
    await bob.markRead(bobInbox[0]!);
    const seen = recordPlaintexts(bob);
    await bob.send(alice.userId, 'hi');
    await waitFor(() => aliceInbox.length === 1, WAIT);
    expect(receiptsPending(bob)).toBe(false);
    expect(receipts).toEqual([]);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.every((p) => p.rc === undefined)).toBe(true);
    expect(env.server.framesOf(bob.userId, 'send')).toHaveLength(1);
  });

  it('close() sends the receipts still waiting', async () => {
    const alice = env.track(await connected(env.server));
    const bob = await connected(env.server, { receiptWaitMs: 30_000 });
    const receipts = receiptsOf(alice);
    const bobInbox = inbox(bob);
    const sent = await alice.send(bob.userId, 'then bob leaves');
    await waitFor(() => bobInbox.length === 1, WAIT);
    await bob.close();
    await waitFor(() => receipts.length === 1, WAIT);
    expect(receipts[0]).toMatchObject({ messageId: sent.id, kind: 'delivered', from: bob.userId });
  });

  it('refuses a malformed riding field alone: the message arrives, no receipt is made up, and later receipts ride again', async () => {
    const alice = env.track(await connected(env.server));
    const bob = env.track(await connected(env.server, { receiptWaitMs: 300 }));
    const receipts = receiptsOf(alice);
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    tamper(bob, alice.userId, (header) => (header.rc = { d: ids(MAX_CONTROL_IDS + 1) }));
    await bob.send(alice.userId, 'oversized');
    await waitFor(() => aliceInbox.length === 1, WAIT);
    expect(aliceInbox[0]!.text).toBe('oversized');
    expect(inboxOf(alice).receiptsRefused).toBe(1);
    expect(receipts).toEqual([]);

    // The sessions go on: a message after it is delivered, and so is the next receipt riding in a reply.
    (bob as unknown as { outbox: Partial<Plaintexter> }).outbox.plaintext = undefined;
    delete (bob as unknown as { outbox: Partial<Plaintexter> }).outbox.plaintext;
    const sent = await alice.send(bob.userId, 'still there?');
    await waitFor(() => bobInbox.length === 1, WAIT);
    await bob.send(alice.userId, 'yes');
    await waitFor(() => aliceInbox.length === 2 && receipts.length === 1, WAIT);
    expect(receipts[0]).toMatchObject({ messageId: sent.id, kind: 'delivered', from: bob.userId, fromDevice: 1 });
    expect(inboxOf(alice).receiptsRefused).toBe(1);
  });

  it("a receipt a sender makes up claims only that sender's own delivery, as a receipt control would", async () => {
    const alice = env.track(await connected(env.server));
    const bob = env.track(await connected(env.server, { receiptWaitMs: 300 }));
    const carol = env.track(await connected(env.server));
    const receipts = receiptsOf(alice);
    const aliceInbox = inbox(alice);
    const toCarol = await alice.send(carol.userId, 'for carol only');
    // Bob names Alice's message to Carol, which he never saw.
    tamper(bob, alice.userId, (header) => (header.rc = { d: [toCarol.id] }));
    await bob.send(alice.userId, 'I got it, says bob');
    await waitFor(() => aliceInbox.length === 1 && receipts.length >= 1, WAIT);
    expect(receiptsPending(bob)).toBe(false);
    expect(receipts).toEqual([expect.objectContaining({ messageId: toCarol.id, kind: 'delivered', from: bob.userId, fromDevice: 1 })]);
    expect(receipts.some((r) => r.from === carol.userId)).toBe(false);
  });
});

describe('riding receipts with linked devices', () => {
  const env = fakeServerSuite({ clock: true });

  it("each of the peer's devices receipts once; the sent copies to the replier's own devices carry none", async () => {
    const alice = env.track(await connected(env.server, { now: env.clock.now }));
    const phone = env.track(await connected(env.server, { now: env.clock.now, ...RIDE_WAIT }));
    const laptop = env.track(await clientFor(env.server, { now: env.clock.now, receiptWaitMs: 300 }));
    const { code, linked } = await laptop.startLink();
    await phone.approveLink(code);
    await linked;
    await laptop.connect();
    const receipts = receiptsOf(alice);
    const laptopReceipts = receiptsOf(laptop);
    const [aliceInbox, phoneInbox, laptopInbox] = [inbox(alice), inbox(phone), inbox(laptop)];
    const laptopSent: string[] = [];
    laptop.on('sent', (s) => laptopSent.push(s.text ?? ''));
    const seen = recordPlaintexts(phone);
    // Alice learns both of Bob's devices from the first message's bundle.
    const sent = await alice.send(phone.userId, 'to both of bob');
    await waitFor(() => phoneInbox.length === 1 && laptopInbox.length === 1, WAIT);
    await phone.send(alice.userId, 'from the phone');
    await waitFor(() => aliceInbox.length === 1 && laptopSent.length === 1, WAIT);
    // The laptop's receipt has no message to ride in: it goes alone after its wait.
    await waitFor(() => receipts.length === 2 && !receiptsPending(phone) && !receiptsPending(laptop), WAIT);
    expect(receipts.map((r) => [r.messageId, r.kind, r.from, r.fromDevice]).sort()).toEqual([
      [sent.id, 'delivered', phone.userId, 1],
      [sent.id, 'delivered', phone.userId, 2],
    ]);
    expect(laptopReceipts).toEqual([]);
    const toAlice = seen.filter((p) => p.to === alice.userId);
    expect(toAlice.length).toBeGreaterThan(0);
    expect(toAlice.every((p) => JSON.stringify(p.rc) === JSON.stringify({ d: [sent.id] }))).toBe(true);
    const toOwn = seen.filter((p) => p.to === phone.userId);
    expect(toOwn.length).toBeGreaterThan(0);
    expect(toOwn.every((p) => p.rc === undefined)).toBe(true);
  });
});

describe('the receiptWaitMs option', () => {
  const env = fakeServerSuite();

  it('is checked', async () => {
    for (const receiptWaitMs of [-1, Number.NaN, 60_001, '5' as unknown as number]) {
      expect(await rejectionOf(clientFor(env.server, { receiptWaitMs }))).toMatchObject({ code: 'BAD_REQUEST' });
    }
    expect(env.track(await clientFor(env.server, { receiptWaitMs: 0 }))).toBeDefined();
  });
});
