import { randomBytes } from 'node:crypto';
import { toBase64Url, type Envelope } from '../../protocol';
import type { LocalStack } from '../../local';
import { frankCommitment } from '../../lambdas/core/franking';
import { connectUrl, makeIdentity, messageId, oneTimePrekeys, registerFrame, signedPrekey, type ConnectOptions, type TestIdentity } from './identity';
import { RawSocket } from './raw-socket';
import type { WebPushSubscription } from '../../protocol/push';
import { webPushSubscription } from './push';

/**
 * Fixtures for test/integration/authorization-matrix.test.ts: a stack on a clock the test moves by hand
 * (connect timestamps are then exact to the millisecond), users reached over raw sockets, and an owner
 * whose queue, prekeys, username and received messages the other callers go after.
 */

/** Stands still unless moved, so the ±60 s connect window and queue order are deterministic. */
export class ManualClock {
  private ms = Date.now();
  readonly now = (): number => this.ms;
  advance(ms: number): void {
    this.ms += ms;
  }
}

export interface Member {
  readonly id: TestIdentity;
  readonly socket: RawSocket;
  /** The exact connect URL the socket was opened with (for replays). */
  readonly url: string;
}

/** A message as its recipient got it, with what only sender and recipient know (the franking key and content). */
export interface Received {
  readonly envelope: Envelope;
  readonly frankKey: Uint8Array;
  readonly text: string;
}

export interface OwnerWorld {
  readonly owner: Member;
  /** Registered; sends the owner its messages. */
  readonly peer: Member;
  readonly ownerName: string;
  /** Two messages from `peer`, queued for the owner and not acked. */
  readonly received: readonly [Received, Received];
  /** `cursor` of a one-message fetch of the owner's queue: it points into the owner's partition. */
  readonly ownerCursor: string;
  /** One-time prekeys the owner published. */
  readonly ownerPrekeys: number;
  /** The push subscription the owner's device 1 registered. */
  readonly ownerPush: WebPushSubscription;
}

const encoder = new TextEncoder();

export class MatrixCast {
  constructor(
    readonly stack: LocalStack,
    readonly clock: ManualClock,
  ) {}

  /** Opens a socket on a signed connect at the stack's clock; rejects with `{ status }` when the upgrade is refused. */
  async connect(id: TestIdentity, options: ConnectOptions = {}): Promise<Member> {
    const url = connectUrl(this.stack.url, id, { ts: this.clock.now(), ...options });
    return { id, socket: await RawSocket.open(url), url };
  }

  /** The HTTP status of a refused upgrade, or 101 when the socket opened (it is closed again). */
  async upgradeStatus(url: string): Promise<number> {
    try {
      const socket = await RawSocket.open(url);
      await socket.close();
      return 101;
    } catch (error) {
      return (error as { status?: number }).status ?? -1;
    }
  }

  async registered(id: TestIdentity = makeIdentity()): Promise<Member> {
    const member = await this.connect(id);
    const reply = await member.socket.request(registerFrame(id));
    if (reply.type !== 'result') throw new Error(`register failed: ${String(reply.code)}`);
    return member;
  }

  /** Sends `text` as the SDK would (a fresh franking key, its commitment beside an opaque ciphertext); the recipient's push is returned. */
  async sendFranked(from: Member, to: Member, text: string): Promise<Received> {
    const id = messageId();
    const frankKey = new Uint8Array(randomBytes(32));
    const commitment = frankCommitment(frankKey, { from: from.id.uid, to: to.id.uid, id, kind: 'text', body: encoder.encode(text) });
    const pushed = to.socket.next((f) => f.type === 'message' && f.id === id);
    const reply = await from.socket.request({
      action: 'send',
      id,
      to: to.id.uid,
      messages: [{ device: 1, ciphertext: toBase64Url(new Uint8Array(randomBytes(48))), commitment: toBase64Url(commitment) }],
    });
    if (reply.type !== 'result') throw new Error(`send failed: ${String(reply.code)}`);
    const { type: _type, ...envelope } = await pushed;
    // Later sends sort after this one in every queue.
    this.clock.advance(1);
    return { envelope: envelope as unknown as Envelope, frankKey, text };
  }

  /** The owner: registered, a signed prekey and three one-time prekeys, a username, two unacked messages, a push subscription. */
  async ownerWorld(): Promise<OwnerWorld> {
    const [owner, peer] = await Promise.all([this.registered(), this.registered()]);
    const ownerPrekeys = 3;
    await expectResult(
      owner.socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(owner.id), oneTimePrekeys: oneTimePrekeys(ownerPrekeys) }),
    );
    const ownerName = `owner_${toBase64Url(new Uint8Array(randomBytes(6))).replace(/-/g, '_')}`;
    await expectResult(owner.socket.request({ action: 'username.set', username: ownerName }));
    const first = await this.sendFranked(peer, owner, 'first');
    const second = await this.sendFranked(peer, owner, 'second');
    const page = await expectResult(owner.socket.request({ action: 'fetch', limit: 1 }));
    const ownerPush = webPushSubscription();
    await expectResult(owner.socket.request({ action: 'push.register', subscription: ownerPush }));
    return { owner, peer, ownerName, received: [first, second], ownerCursor: page.cursor as string, ownerPrekeys, ownerPush };
  }

  /** The report frame a recipient of `message` sends: envelope fields, franking key and content. */
  reportFrame(message: Received): Record<string, unknown> {
    const { id, from, sentAt, frank } = message.envelope;
    return {
      action: 'report',
      message: { id, from, sentAt, frank },
      frankKey: toBase64Url(message.frankKey),
      content: { kind: 'text', body: toBase64Url(encoder.encode(message.text)) },
      reason: 'spam',
    };
  }

  /** Ids in the stored queue of a user's device 1, oldest first (read through the ports, not a socket). */
  async queuedIds(userId: string): Promise<string[]> {
    const page = await this.stack.ports.queue.page({ userId, device: 1 }, null, 100, this.clock.now());
    return page.messages.map((m) => m.id);
  }

  /** The `message` push of `id` on `socket`, whether it came before the call or comes within the timeout. */
  pushOf(socket: RawSocket, id: string, timeoutMs = 2000): Promise<Record<string, unknown>> {
    const seen = socket.pushes.find((f) => f.type === 'message' && f.id === id);
    return seen ? Promise.resolve(seen) : socket.next((f) => f.type === 'message' && f.id === id, timeoutMs);
  }

  countOneTime(userId: string): Promise<number> {
    return this.stack.ports.prekeys.countOneTime({ userId, device: 1 });
  }
}

async function expectResult(reply: Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  const frame = await reply;
  if (frame.type !== 'result') throw new Error(`expected a result, got ${String(frame.code)}`);
  return frame;
}
