import { EbbError, MemoryStore, type Receipt } from '../../client-sdk/src';
import { StoreKeys } from '../../client-sdk/src/store/layout';
import { connected, clientFor, fakeServerSuite, inbox, rejectionOf, waitFor } from './helpers';

describe('receipts', () => {
  const env = fakeServerSuite();

  it('costs a burst of 50 messages a handful of receipt sends, not 50', async () => {
    const alice = env.track(await connected(env.server));
    const bob = env.track(await connected(env.server));
    const receipts: Receipt[] = [];
    alice.on('receipt', (r) => receipts.push(r));
    const received = inbox(bob);
    const ids = await Promise.all(Array.from({ length: 50 }, (_, i) => alice.send(bob.userId, `message ${i}`).then((s) => s.id)));
    await waitFor(() => received.length === 50, 5000);
    await waitFor(() => receipts.length === 50, 5000);

    expect(new Set(receipts.map((r) => r.messageId))).toEqual(new Set(ids));
    expect(receipts.every((r) => r.kind === 'delivered' && r.from === bob.userId && r.fromDevice === 1)).toBe(true);
    const receiptSends = env.server.framesOf(bob.userId, 'send');
    expect(receiptSends.length).toBeGreaterThanOrEqual(1);
    expect(receiptSends.length).toBeLessThanOrEqual(5);
    // Receipts are control content: they never reach 'message' and are not receipted in turn.
    expect(inbox(alice)).toEqual([]);
    expect(env.server.framesOf(alice.userId, 'send')).toHaveLength(50);
  });

  it('sends a read receipt on markRead, and none of either kind with receipts: false', async () => {
    const alice = env.track(await connected(env.server));
    const quiet = env.track(await connected(env.server, { receipts: false }));
    const chatty = env.track(await connected(env.server));
    const receipts: Receipt[] = [];
    alice.on('receipt', (r) => receipts.push(r));
    const [quietInbox, chattyInbox] = [inbox(quiet), inbox(chatty)];
    await alice.send(quiet.userId, 'to the quiet one');
    await alice.send(chatty.userId, 'to the chatty one');
    await waitFor(() => quietInbox.length === 1 && chattyInbox.length === 1);
    await Promise.all([quiet.markRead(quietInbox[0]!), chatty.markRead(chattyInbox[0]!)]);
    await waitFor(() => receipts.length === 2);
    expect(receipts.map((r) => [r.from, r.kind])).toEqual([
      [chatty.userId, 'delivered'],
      [chatty.userId, 'read'],
    ]);
    expect(env.server.framesOf(quiet.userId, 'send')).toEqual([]);
    // A receipts: false client still hears others' receipts.
    const quietReceipts: Receipt[] = [];
    quiet.on('receipt', (r) => quietReceipts.push(r));
    await quiet.send(chatty.userId, 'hi');
    await waitFor(() => quietReceipts.length === 1);
    expect(await rejectionOf(quiet.markRead({ id: 'not an id', from: chatty.userId }))).toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('control messages', () => {
  const env = fakeServerSuite();

  it('take no sequence number: a receipt leaves no gap for the next message to wait on', async () => {
    const aliceStore = new MemoryStore();
    const bobStore = new MemoryStore();
    const alice = env.track(await connected(env.server, { store: aliceStore }));
    const bob = env.track(await connected(env.server, { store: bobStore }));
    const receipts: Receipt[] = [];
    alice.on('receipt', (r) => receipts.push(r));
    const [aliceInbox, bobInbox] = [inbox(alice), inbox(bob)];
    await alice.send(bob.userId, 'one');
    await waitFor(() => bobInbox.length === 1 && receipts.length === 1);
    await bob.send(alice.userId, 'two');
    await waitFor(() => aliceInbox.length === 1);
    // Bob numbered his message 1 to Alice's device: the receipt before it took no number.
    expect(await bobStore.get(StoreKeys.sentSeq(alice.userId, 1))).toBe('1');
    expect(await aliceStore.get(StoreKeys.expectedSeq(bob.userId, 1))).toBe('2');
  });
});

describe('linking', () => {
  const env = fakeServerSuite({ clock: true });

  it('refuses to start on a store that holds an account, or after connect()', async () => {
    const registered = env.track(await connected(env.server, { now: env.clock.now }));
    expect(await rejectionOf(registered.startLink())).toMatchObject({ code: 'BAD_REQUEST' });
    const again = env.track(
      await clientFor(env.server, { now: env.clock.now, store: (registered as unknown as { settings: { store: never } }).settings.store }),
    );
    expect(await rejectionOf(again.startLink())).toMatchObject({ code: 'CONFLICT' });
  });

  it('sends nothing for a bad code, and rejects `linked` once the code expired', async () => {
    const phone = env.track(await connected(env.server, { now: env.clock.now }));
    const laptop = env.track(await clientFor(env.server, { now: env.clock.now }));
    const { code, linked } = await laptop.startLink();
    const before = env.server.frames.length;
    for (const bad of ['', 'ebb-link:', code.slice(0, -2), code.replace('ebb-link:', 'ebb-lnk:')]) {
      expect(await rejectionOf(phone.approveLink(bad))).toMatchObject({ code: 'BAD_REQUEST', reason: 'malformed-link-code' });
    }
    expect(await rejectionOf(phone.approveLink(code, { name: 'x'.repeat(128) }))).toMatchObject({ code: 'BAD_REQUEST' });
    expect(env.server.frames.slice(before).filter((f) => f.user === phone.userId)).toEqual([]);

    env.clock.t += 10 * 60_000;
    expect(await rejectionOf(phone.approveLink(code))).toMatchObject({ code: 'BAD_REQUEST', reason: 'expired-link-code' });
    const err = await rejectionOf(linked);
    expect(EbbError.is(err, 'BAD_REQUEST') && err.reason).toBe('expired-link-code');
    expect(env.server.framesOf(phone.userId, 'device.add')).toEqual([]);
  });

  it('links through the push: the new device connects as device 2 with its own key and never registers', async () => {
    const phone = env.track(await connected(env.server, { now: env.clock.now }));
    const laptop = env.track(await clientFor(env.server, { now: env.clock.now }));
    const { code, linked } = await laptop.startLink();
    expect(await phone.approveLink(code, { name: 'laptop' })).toBe(2);
    await linked;
    await laptop.connect();
    expect([laptop.userId, laptop.device]).toEqual([phone.userId, 2]);
    const actions = env.server.frames.filter((f) => f.user === phone.userId && f.device === 2).map((f) => f.frame.action);
    expect(actions).not.toContain('register');
    expect(actions.slice(0, 2)).toEqual(['hello', 'keys.count']);
    expect(env.server.upgrades.at(-1)!.query.get('pk')).toBeNull();
    expect(await laptop.devices()).toEqual([
      { device: 1, name: null, linkedAt: expect.any(Date), current: false, ready: true },
      { device: 2, name: 'laptop', linkedAt: expect.any(Date), current: true, ready: true },
    ]);
  });

  it('finds the approval with link.fetch when the push is lost', async () => {
    env.server.pushLinks = false;
    const phone = env.track(await connected(env.server, { now: env.clock.now }));
    const laptop = env.track(await clientFor(env.server, { now: env.clock.now }));
    const tmp = laptop.userId;
    const { code, linked } = await laptop.startLink();
    await phone.approveLink(code);
    await linked;
    expect(laptop.device).toBe(2);
    // One on connect, found nothing; a poll found it.
    expect(env.server.framesOf(tmp, 'link.fetch').length).toBeGreaterThanOrEqual(2);
  });

  it('asks once for a linked device that has not connected yet, and sends it copies once it has', async () => {
    const phone = env.track(await connected(env.server, { now: env.clock.now }));
    const carol = env.track(await connected(env.server, { now: env.clock.now }));
    const laptop = env.track(await clientFor(env.server, { now: env.clock.now }));
    const { code, linked } = await laptop.startLink();
    await phone.approveLink(code);
    await linked;
    for (const text of ['one', 'two', 'three']) await phone.send(carol.userId, text);
    const ownBundles = () => env.server.framesOf(phone.userId, 'keys.bundle').filter((f) => f.user === phone.userId);
    expect(ownBundles()).toHaveLength(1);
    expect(env.server.framesOf(phone.userId, 'send').every((f) => f.to === carol.userId)).toBe(true);

    await laptop.connect();
    const sent: string[] = [];
    phone.on('sent', (s) => sent.push(s.text ?? ''));
    await laptop.send(carol.userId, 'from the laptop');
    await waitFor(() => sent.length === 1);
    const laptopSent: string[] = [];
    laptop.on('sent', (s) => laptopSent.push(s.text ?? ''));
    await phone.send(carol.userId, 'four');
    await waitFor(() => laptopSent.length === 1);
    expect(laptopSent).toEqual(['four']);
  });
});
