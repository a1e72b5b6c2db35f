import { AckBatcher, ACK_DELAY_MS, type AckEntry } from '../../client-sdk/src/session/acks';
import { connected, inbox, waitFor, fakeServerSuite } from './helpers';

const entry = (n: number): AckEntry => ({ id: `m${n}`, sentAt: 1000 + n });

describe('AckBatcher with quiet acks', () => {
  afterEach(() => jest.useRealTimers());

  it('posts a timed batch quietly, and makes it an answered request when nothing could be posted', () => {
    jest.useFakeTimers();
    const posted: AckEntry[][] = [];
    const requested: AckEntry[][] = [];
    let socketOpen = true;
    const batcher = new AckBatcher(
      async (messages) => void requested.push(messages),
      (messages) => socketOpen && posted.push(messages) > 0,
    );
    batcher.add(entry(1));
    batcher.add(entry(2));
    jest.advanceTimersByTime(ACK_DELAY_MS);
    expect(posted).toEqual([[entry(1), entry(2)]]);
    expect(requested).toEqual([]);
    socketOpen = false;
    batcher.add(entry(3));
    jest.advanceTimersByTime(ACK_DELAY_MS);
    expect(posted).toHaveLength(1);
    expect(requested).toEqual([[entry(3)]]);
  });

  it('flushes with answered acks, so close() can wait for the server to remove them', async () => {
    const posted: AckEntry[][] = [];
    const requested: AckEntry[][] = [];
    const batcher = new AckBatcher(
      async (messages) => void requested.push(messages),
      (messages) => posted.push(messages) > 0,
    );
    batcher.add(entry(1));
    await batcher.flush(1000);
    expect(requested).toEqual([[entry(1)]]);
    expect(posted).toEqual([]);
  });
});

describe('the SDK on the wire', () => {
  const env = fakeServerSuite();
  const { track } = env;

  it('acks a pushed message with a quiet ack frame, which removes it from the queue (no receipt for the ack to ride on)', async () => {
    const bob = track(await connected(env.server, { receipts: false }));
    const received = inbox(bob);
    const alice = track(await connected(env.server));
    const sent = await alice.send(bob.userId, 'hi');
    await waitFor(() => received.length === 1);
    await waitFor(() => env.server.queue(bob.userId).length === 0);
    const acks = env.server.framesOf(bob.userId, 'ack');
    expect(acks).toHaveLength(1);
    expect(acks[0]).toMatchObject({ quiet: true, messages: [{ id: sent.id, sentAt: sent.sentAt.getTime() }] });
    expect(typeof acks[0].rid).toBe('string');
  });
});
