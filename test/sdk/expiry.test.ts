import { EbbError, MemoryStore } from '../../client-sdk/src';
import type { Envelope } from '../../protocol/frames';
import { clientFor, connected, inbox, fakeServerSuite } from './helpers';

/**
 * The server picks `sentAt` and `expiresAt`, and nothing authenticates them: a server (or anyone who
 * controls it) could keep a disappearing message alive for years. The recipient bounds both by the
 * `expiresInSeconds` the sender sealed inside the ciphertext, counted from when it received it at the latest.
 */

const YEAR_2036 = Date.UTC(2036, 0, 1);
const DAY_MS = 86_400_000;

describe('expiry a server cannot extend', () => {
  const env = fakeServerSuite({ clock: true });
  const { track, clock } = env;

  /** Bob offline with Alice's message queued, its envelope rewritten by the server as `forge` says. */
  async function forged(forge: (envelope: Envelope) => Pick<Envelope, 'sentAt' | 'expiresAt'>, expiresInSeconds = 60) {
    const bobStore = new MemoryStore();
    const bobId = (await connected(env.server, { store: bobStore, now: clock.now }).then(async (b) => (await b.close(), b))).userId;
    const alice = track(await connected(env.server, { now: clock.now }));
    const sent = await alice.send(bobId, 'gone in a minute', { expiresInSeconds });
    const [honest] = env.server.queue(bobId);
    const times = forge(honest!);
    const to = { user: bobId, device: 1 };
    // A malicious server can tag whatever times it likes: the tag is its own.
    const envelope: Envelope = {
      ...honest!,
      ...times,
      frank: env.server.frank(honest!.frank.commitment, honest!.from, to, times.sentAt, honest!.id),
    };
    env.server.queues.set(`${bobId}#1`, [envelope]);
    const bob = track(await clientFor(env.server, { store: bobStore, now: clock.now }));
    const received = inbox(bob);
    const receivedAt = clock.t;
    await bob.connect();
    return { bob, received, sent, receivedAt };
  }

  it('clamps a forged far-future sentAt and expiresAt to the sealed lifetime from receipt', async () => {
    const { bob, received, sent, receivedAt } = await forged(() => ({ sentAt: YEAR_2036, expiresAt: YEAR_2036 + 60_000 }));
    expect(received).toHaveLength(1);
    expect(received[0]!.expiresAt!.getTime()).toBeLessThanOrEqual(receivedAt + 60_000);

    // The report record goes with the message: after the minute, reporting it finds nothing.
    clock.t = receivedAt + 61_000;
    const err = await bob.report(sent.id, 'spam').catch((e: unknown) => e);
    expect(EbbError.is(err, 'NOT_FOUND')).toBe(true);
  });

  it('still expires a message whose envelope carries only the retention period, not the sealed lifetime', async () => {
    const { received, receivedAt } = await forged((e) => ({ sentAt: YEAR_2036, expiresAt: e.sentAt + 30 * DAY_MS }));
    expect(received).toHaveLength(1);
    expect(received[0]!.expiresAt!.getTime()).toBeLessThanOrEqual(receivedAt + 60_000);
  });

  it('keeps an honest envelope as it is: an earlier expiry from the server stands', async () => {
    const { received, sent } = await forged((e) => ({ sentAt: e.sentAt, expiresAt: e.sentAt + 10_000 }), 3600);
    expect(received[0]!.expiresAt).toEqual(new Date(sent.sentAt.getTime() + 10_000));
  });

  it('does not hand over a message queued longer ago than its sealed lifetime, whatever expiresAt says', async () => {
    const { received } = await forged((e) => {
      clock.t += 120_000; // Bob comes back two minutes later
      return { sentAt: e.sentAt, expiresAt: YEAR_2036 };
    });
    expect(received).toHaveLength(0);
  });
});
