import { ACK_DELAY_MS, ACK_RIDE_WAIT_MS, AckBatcher, carryingAcks, type AckEntry } from '../../client-sdk/src/session/acks';
import type { Body } from '../../client-sdk/src/transport/requests';
import type { Answer } from '../../client-sdk/src/transport/server-frames';
import { Limits } from '../../protocol/limits';
import { ackedBy, connected, inbox, waitFor, fakeServerSuite } from './helpers';

/** Acks riding on the next `send` or `fanout` (ARCH §6.5), in the batcher and on the wire. */

const entry = (n: number): AckEntry => ({ id: `m${String(n).padStart(22, '0')}`, sentAt: 1000 + n });

function recordingBatcher(sendComing?: () => boolean) {
  const posted: AckEntry[][] = [];
  const batcher = new AckBatcher(
    async () => undefined,
    (messages) => posted.push(messages) > 0,
    sendComing,
  );
  return { batcher, posted };
}

const body = (ciphertext = 'AAAA'): Body<'send'> => ({
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  to: 'bob',
  messages: [{ device: 1, ciphertext, commitment: 'c' }],
});

const answer = (acksApplied?: boolean): Answer<'send'> => ({
  id: 'AAAAAAAAAAAAAAAAAAAAAA',
  sentAt: 1,
  expiresAt: 2,
  duplicate: false,
  missing: [],
  stale: [],
  ...(acksApplied !== undefined && { acksApplied }),
});

describe('AckBatcher with riding acks', () => {
  afterEach(() => jest.useRealTimers());

  it('hands its queued acks to a send, which then owes them: nothing is posted when the batch would have been due', () => {
    jest.useFakeTimers();
    const { batcher, posted } = recordingBatcher();
    batcher.add(entry(1));
    batcher.add(entry(2));
    expect(batcher.take()).toEqual([entry(1), entry(2)]);
    jest.advanceTimersByTime(ACK_DELAY_MS * 5);
    expect(posted).toEqual([]);
    expect(batcher.take()).toEqual([]);
  });

  it('posts the acks a send gave back, one batch delay later', () => {
    jest.useFakeTimers();
    const { batcher, posted } = recordingBatcher();
    batcher.add(entry(1));
    const taken = batcher.take();
    batcher.restore(taken);
    jest.advanceTimersByTime(ACK_DELAY_MS);
    expect(posted).toEqual([[entry(1)]]);
  });

  it('keeps a due batch while a send is coming, until it comes or ACK_RIDE_WAIT_MS passed', () => {
    jest.useFakeTimers();
    let coming = true;
    const { batcher, posted } = recordingBatcher(() => coming);
    batcher.add(entry(1));
    jest.advanceTimersByTime(ACK_RIDE_WAIT_MS / 2);
    expect(posted).toEqual([]);
    // The receipt left without it (it failed to encrypt, say): the batch goes on its own.
    coming = false;
    jest.advanceTimersByTime(ACK_DELAY_MS);
    expect(posted).toEqual([[entry(1)]]);
    coming = true;
    batcher.add(entry(2));
    jest.advanceTimersByTime(ACK_RIDE_WAIT_MS - ACK_DELAY_MS);
    expect(posted).toHaveLength(1);
    jest.advanceTimersByTime(ACK_DELAY_MS * 2);
    expect(posted).toEqual([[entry(1)], [entry(2)]]);
  });

  it('gives nothing back once discarded (the client closed)', () => {
    jest.useFakeTimers();
    const { batcher, posted } = recordingBatcher();
    batcher.add(entry(1));
    const taken = batcher.take();
    batcher.discard();
    batcher.restore(taken);
    jest.advanceTimersByTime(ACK_DELAY_MS * 2);
    expect(posted).toEqual([]);
  });
});

describe('carryingAcks', () => {
  it('sends the frame as it is when no ack is queued', async () => {
    const { batcher } = recordingBatcher();
    const sent: Body<'send'>[] = [];
    await carryingAcks(batcher, 'send', body(), async (b) => (sent.push(b), answer()));
    expect(sent).toEqual([body()]);
    expect(sent[0]).not.toHaveProperty('acks');
  });

  it('attaches the queued acks, and a confirmed send leaves none to send again', async () => {
    const { batcher } = recordingBatcher();
    batcher.add(entry(1));
    batcher.add(entry(2));
    const sent: Body<'send'>[] = [];
    await carryingAcks(batcher, 'send', body(), async (b) => (sent.push(b), answer(true)));
    expect(sent[0]!.acks).toEqual([entry(1), entry(2)]);
    expect(batcher.take()).toEqual([]);
  });

  it.each([
    ['answered acksApplied: false', async () => answer(false)],
    ['answered with no acksApplied (a server that ignores the field)', async () => answer()],
  ])('gives the acks back to the batch when %s', async (_, request) => {
    const { batcher } = recordingBatcher();
    batcher.add(entry(1));
    await carryingAcks(batcher, 'send', body(), request);
    expect(batcher.take()).toEqual([entry(1)]);
  });

  it('gives the acks back when the send fails, and fails as it did', async () => {
    const { batcher } = recordingBatcher();
    batcher.add(entry(1));
    await expect(
      carryingAcks(batcher, 'send', body(), async () => {
        throw new Error('RATE_LIMITED');
      }),
    ).rejects.toThrow('RATE_LIMITED');
    expect(batcher.take()).toEqual([entry(1)]);
  });

  it('attaches only what keeps the frame under maxFrameBytes; the rest wait for an ack', async () => {
    const { batcher, posted } = recordingBatcher();
    // Fewer than a full batch, which the batcher would post at once.
    for (let i = 0; i < 60; i++) batcher.add(entry(i));
    const sent: Body<'send'>[] = [];
    const big = body('A'.repeat(Limits.maxFrameBytes - 1500));
    await carryingAcks(batcher, 'send', big, async (b) => (sent.push(b), answer(true)));
    const acks = sent[0]!.acks ?? [];
    expect(acks.length).toBeGreaterThan(0);
    expect(acks.length).toBeLessThan(60);
    const bytes = new TextEncoder().encode(JSON.stringify({ action: 'send', rid: 'r'.repeat(64), ...sent[0] })).length;
    expect(bytes).toBeLessThan(Limits.maxFrameBytes);
    // The rest stay queued for an ack, none lost and none twice.
    expect(posted).toEqual([]);
    expect([...acks, ...batcher.take()]).toEqual(Array.from({ length: 60 }, (_, i) => entry(i)));
  });
});

describe('on the wire', () => {
  const env = fakeServerSuite();
  const { track } = env;

  it('the delivered receipt carries the ack of the message it confirms: no ack frame of its own', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    const receipts: unknown[] = [];
    alice.on('receipt', (r) => receipts.push(r));
    const sent = await alice.send(bob.userId, 'hi');
    await waitFor(() => received.length === 1);
    await waitFor(() => receipts.length === 1 && env.server.queue(bob.userId).length === 0, 5000);
    const bobSends = env.server.framesOf(bob.userId, 'send');
    expect(bobSends).toHaveLength(1);
    expect(bobSends[0].acks).toEqual([{ id: sent.id, sentAt: sent.sentAt.getTime() }]);
    expect(env.server.framesOf(bob.userId, 'ack')).toEqual([]);
    // The text itself had nothing to carry.
    expect(env.server.framesOf(alice.userId, 'send')[0]).not.toHaveProperty('acks');
  });

  it('close() right after a message still removes it: the flushed receipt carries its ack', async () => {
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    const sent = await alice.send(bob.userId, 'bye');
    await waitFor(() => received.length === 1);
    await bob.close();
    expect(env.server.queue(bob.userId)).toHaveLength(0);
    expect(ackedBy(env.server, bob.userId)).toEqual([{ id: sent.id, sentAt: sent.sentAt.getTime() }]);
  });

  it('an ack the server did not apply from a send goes out again in an ack frame', async () => {
    env.server.ridingAcksFail = true;
    const bob = track(await connected(env.server));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    const sent = await alice.send(bob.userId, 'hi');
    await waitFor(() => received.length === 1);
    await waitFor(() => env.server.queue(bob.userId).length === 0, 5000);
    expect(env.server.framesOf(bob.userId, 'send')[0].acks).toEqual([{ id: sent.id, sentAt: sent.sentAt.getTime() }]);
    expect(env.server.framesOf(bob.userId, 'ack')).toMatchObject([{ quiet: true, messages: [{ id: sent.id }] }]);
  });
});
