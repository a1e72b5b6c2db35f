import { randomBytes } from 'node:crypto';
import { Actions, Limits, toBase64Url, type Action } from '../../protocol';
import { startLocalStack, type LocalStack } from '../../local';
import {
  connectUrl,
  deviceAddFrame,
  makeIdentity,
  makeLinkedDevice,
  messageId,
  oneTimePrekeys,
  registerFrame,
  signedPrekey,
} from '../support/identity';
import { UNTHROTTLED } from '../support/local-stack';
import { ManualClock, MatrixCast, type Member, type OwnerWorld } from '../support/matrix-world';
import { anyCommitment } from '../support/franking';
import { webPushSubscription } from '../support/push';

/**
 * Issue #6 item 3: who may do what, over the local stack and raw sockets, so every cell sees the exact
 * answer. Rows are `$connect` and every protocol action; columns are the callers:
 *
 * - owner: registered, acting on its own account, queue, prekeys, username and received messages;
 * - other: another registered user going after the owner's (acking the owner's ids, fetching with the
 *   owner's cursor, reporting the owner's message, taking the owner's name, spoofing `from`, …);
 * - unregistered: a valid signed connect (with `pk`) of an identity that never registered;
 * - suspended: the owner after `accounts.suspend`, on a connection opened after the suspension;
 * - replayed: the owner's exact connect URL sent again while the first connection is open;
 * - expired: the owner's connect signed with a timestamp 60 001 ms behind the server clock.
 *
 * The last two are refused at the upgrade with 401 (the authorizer can answer nothing else), so no action
 * is reachable through them: each action row tries the upgrade itself and would send its frame had the
 * socket opened, rather than trusting the `$connect` row.
 */

const OK = 'result';
const OPEN = 'upgrade 101';
const REFUSED = 'upgrade 401';
const SUSPENDED = 'ACCOUNT_SUSPENDED';

const CALLERS = ['owner', 'other', 'unregistered', 'suspended', 'replayed', 'expired'] as const;
type CallerKind = (typeof CALLERS)[number];
type Row = '$connect' | Action;

const MATRIX: readonly (readonly [Row, string, string, string, string, string, string])[] = [
  // row               owner  other        unregistered  suspended   replayed  expired
  ['$connect', OPEN, REFUSED, OPEN, OPEN, REFUSED, REFUSED],
  ['hello', OK, OK, OK, SUSPENDED, REFUSED, REFUSED],
  ['status', OK, OK, OK, OK, REFUSED, REFUSED],
  ['register', OK, 'FORBIDDEN', OK, SUSPENDED, REFUSED, REFUSED],
  ['keys.publish', OK, 'FORBIDDEN', 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['keys.count', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['keys.bundle', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['send', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['fetch', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['ack', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['report', OK, 'FORBIDDEN', 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['username.set', OK, 'CONFLICT', 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['username.lookup', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['account.delete', OK, OK, OK, SUSPENDED, REFUSED, REFUSED],
  ['deliveryToken.set', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['device.add', OK, 'FORBIDDEN', 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  // Only a device being linked (an unregistered identity) fetches a link, and only its own.
  ['link.fetch', 'FORBIDDEN', 'FORBIDDEN', OK, 'FORBIDDEN', REFUSED, REFUSED],
  ['devices.list', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['device.remove', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['fanout', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['push.register', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['push.unregister', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  ['attachment.upload', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
  // An id is a capability, as a message id is not: whoever holds one (it travels inside a message) may fetch
  // the ciphertext, which only the holders of the key in that message can open.
  ['attachment.download', OK, OK, 'FORBIDDEN', SUSPENDED, REFUSED, REFUSED],
];

/** One caller's attempt at one action: who it is, and the owner's world it goes after. */
interface Attempt {
  readonly w: OwnerWorld;
  readonly as: Exclude<CallerKind, 'replayed' | 'expired'>;
  readonly me: Member;
}

type Frame = Record<string, unknown>;

interface ActionScenario {
  /** The frame this caller sends (without `rid`). */
  frame(a: Attempt): Frame;
  /** What must hold after the reply besides its outcome: above all, what the owner still has. */
  check?(a: Attempt, reply: Frame, sent: Frame): Promise<void>;
}

const SKEW = Limits.connectSkewMs;
const clock = new ManualClock();
let stack: LocalStack;
let cast: MatrixCast;
let cellsChecked = 0;
let specificChecks = 0;

beforeAll(async () => {
  stack = await startLocalStack({
    port: 0,
    now: clock.now,
    // The clock stands still, so buckets never refill: every limit is lifted but the one under test.
    config: { rateLimits: { ...UNTHROTTLED, bundlePerMinute: 5 } },
  });
  cast = new MatrixCast(stack, clock);
});
afterAll(async () => {
  console.log(
    `authorization matrix: ${cellsChecked} cells checked (${MATRIX.length} rows × ${CALLERS.length} callers), plus ${specificChecks} specific checks`,
  );
  const shared = await refusalWorld?.catch(() => undefined);
  if (shared) await Promise.all([shared.owner.socket.close(), shared.peer.socket.close()]);
  await stack?.stop();
});

const outcomeOf = (reply: Frame): string => (reply.type === 'result' ? OK : String(reply.code));
const upgradeOutcome = (status: number): string => `upgrade ${status}`;
const ownerIds = (w: OwnerWorld) => w.received.map((m) => m.envelope.id);

const SCENARIOS: Record<Action, ActionScenario> = {
  hello: {
    // The other user names the owner: the answer is about the connection, whatever the frame says.
    frame: ({ w, as }) => ({ action: 'hello', ...(as === 'other' && { userId: w.owner.id.uid }) }),
    async check({ as, me }, reply) {
      if (reply.type === 'result') expect(reply).toMatchObject({ userId: me.id.uid, device: 1, registered: as !== 'unregistered' });
    },
  },

  status: {
    frame: () => ({ action: 'status' }),
    async check(_a, reply) {
      expect(reply).toMatchObject({ phase: 'open' });
    },
  },

  register: {
    // The other user replays the owner's register frame (the owner's identity key and signature over it).
    frame: ({ w, as, me }) => registerFrame(as === 'other' ? w.owner.id : me.id),
    async check({ w, as, me }, reply) {
      if (as === 'owner') expect(reply).toMatchObject({ created: false, rotated: false });
      if (as === 'unregistered') expect(reply).toMatchObject({ created: true, userId: me.id.uid });
      const [owner, mine] = await Promise.all([stack.ports.accounts.get(w.owner.id.uid), stack.ports.accounts.get(me.id.uid)]);
      expect(owner?.identityKey).toBe(registerFrame(w.owner.id).identityKey);
      if (as === 'other') expect(mine?.identityKey).toBe(registerFrame(me.id).identityKey);
    },
  },

  'keys.publish': {
    // The other user offers a signed prekey signed by the owner's key, and names the owner.
    frame: ({ w, as }) =>
      as === 'other'
        ? { action: 'keys.publish', user: w.owner.id.uid, signedPrekey: signedPrekey(w.owner.id, 9), oneTimePrekeys: oneTimePrekeys(4, 100) }
        : { action: 'keys.publish', oneTimePrekeys: oneTimePrekeys(2, 50) },
    async check({ w, as, me }, reply) {
      if (as === 'owner') {
        expect(reply).toMatchObject({ oneTimePrekeys: w.ownerPrekeys + 2, signedPrekeyId: 1 });
        return;
      }
      expect(await cast.countOneTime(w.owner.id.uid)).toBe(w.ownerPrekeys);
      expect((await stack.ports.prekeys.signedPrekey({ userId: w.owner.id.uid, device: 1 }))?.keyId).toBe(1);
      if (as === 'other') expect(await cast.countOneTime(me.id.uid)).toBe(0);
    },
  },

  'keys.count': {
    frame: ({ w, as }) => ({ action: 'keys.count', ...(as === 'other' && { user: w.owner.id.uid }) }),
    async check({ w, as }, reply) {
      if (as === 'owner') expect(reply).toMatchObject({ oneTimePrekeys: w.ownerPrekeys, signedPrekeyId: 1 });
      // The caller's own (empty) device, not the owner's it named.
      if (as === 'other') expect(reply).toMatchObject({ oneTimePrekeys: 0, signedPrekeyId: null });
    },
  },

  'keys.bundle': {
    // A bundle is public by design (X3DH needs it): anyone registered may take one of the owner's keys.
    frame: ({ w }) => ({ action: 'keys.bundle', user: w.owner.id.uid }),
    async check({ w }, reply) {
      const taken = reply.type === 'result' ? 1 : 0;
      if (taken) {
        expect(reply).toMatchObject({
          user: w.owner.id.uid,
          devices: [{ device: 1, signedPrekey: { keyId: 1 }, oneTimePrekey: { keyId: expect.any(Number) } }],
        });
      }
      expect(await cast.countOneTime(w.owner.id.uid)).toBe(w.ownerPrekeys - taken);
    },
  },

  send: {
    // The other user claims to be the owner: a top-level `from`, one inside the message, and a `sentAt`.
    frame: ({ w, as }) => ({
      action: 'send',
      id: messageId(),
      to: w.peer.id.uid,
      messages: [
        { device: 1, ciphertext: 'AAAA', commitment: anyCommitment(), ...(as === 'other' && { from: { user: w.owner.id.uid, device: 1 } }) },
      ],
      ...(as === 'other' && { from: { user: w.owner.id.uid, device: 1 }, sentAt: 1 }),
    }),
    async check({ w, me }, reply, sent) {
      const id = sent.id as string;
      if (reply.type !== 'result') {
        expect(await cast.queuedIds(w.peer.id.uid)).not.toContain(id);
        return;
      }
      // Extra fields are stripped, not refused: the frame is accepted and the envelope names the connection.
      const expected = { id, from: { user: me.id.uid, device: 1 }, sentAt: clock.now() };
      expect(await cast.pushOf(w.peer.socket, id)).toMatchObject(expected);
      const fetched = (await w.peer.socket.request({ action: 'fetch' })).messages as Frame[];
      expect(fetched.find((m) => m.id === id)).toMatchObject(expected);
    },
  },

  fanout: {
    // As for `send`: the other user claims to be the owner, and the envelope still names the connection.
    frame: ({ w, as }) => ({
      action: 'fanout',
      id: messageId(),
      ciphertext: 'AAAA',
      commitment: anyCommitment(),
      recipients: [{ user: w.peer.id.uid, devices: [1] }],
      ...(as === 'other' && { from: { user: w.owner.id.uid, device: 1 }, sentAt: 1 }),
    }),
    async check({ w, me }, reply, sent) {
      const id = sent.id as string;
      if (reply.type !== 'result') {
        expect(await cast.queuedIds(w.peer.id.uid)).not.toContain(id);
        return;
      }
      const expected = { id, from: { user: me.id.uid, device: 1 }, sentAt: clock.now() };
      expect(await cast.pushOf(w.peer.socket, id)).toMatchObject(expected);
      const fetched = (await w.peer.socket.request({ action: 'fetch' })).messages as Frame[];
      expect(fetched.find((m) => m.id === id)).toMatchObject(expected);
    },
  },

  fetch: {
    // The other user pages with a cursor taken from the owner's queue.
    frame: ({ w, as }) => ({ action: 'fetch', ...(as === 'other' && { after: w.ownerCursor }) }),
    async check({ w, as, me }, reply) {
      if (reply.type === 'result') {
        const ids = (reply.messages as Frame[]).map((m) => m.id);
        if (as === 'owner') expect(ids).toEqual(ownerIds(w));
        if (as === 'other') {
          expect(ids).toEqual(await cast.queuedIds(me.id.uid));
          expect(ids).toHaveLength(1);
          for (const id of ownerIds(w)) expect(ids).not.toContain(id);
        }
      }
      expect(await cast.queuedIds(w.owner.id.uid)).toEqual(ownerIds(w));
    },
  },

  ack: {
    // Everyone but the owner acks both of the owner's messages, with the owner's own id and sentAt.
    frame: ({ w, as }) => ({
      action: 'ack',
      messages: w.received.slice(0, as === 'owner' ? 1 : 2).map(({ envelope }) => ({ id: envelope.id, sentAt: envelope.sentAt })),
    }),
    async check({ w, as }, reply) {
      if (as === 'owner') {
        expect(reply).toMatchObject({ acked: 1 });
        expect(await cast.queuedIds(w.owner.id.uid)).toEqual(ownerIds(w).slice(1));
        return;
      }
      // The ack ran on the caller's own partition; `acked` counts what was asked, not what was removed.
      if (as === 'other') expect(reply).toMatchObject({ acked: 2 });
      expect(await cast.queuedIds(w.owner.id.uid)).toEqual(ownerIds(w));
      if (as === 'suspended') return;
      // And the owner is still delivered both.
      const page = await w.owner.socket.request({ action: 'fetch' });
      expect((page.messages as Frame[]).map((m) => m.id)).toEqual(ownerIds(w));
    },
  },

  report: {
    // Everyone presents the owner's evidence for the first message (the franking key and content included).
    frame: ({ w }) => cast.reportFrame(w.received[0]),
    async check({ as }, reply) {
      if (as === 'owner') expect(reply).toMatchObject({ reportId: expect.any(String), duplicate: false });
    },
  },

  'username.set': {
    // The other user asks for the owner's name in another case (names are unique regardless of case).
    frame: ({ w, as }) => ({
      action: 'username.set',
      username: as === 'other' ? w.ownerName.toUpperCase() : `n_${messageId().slice(0, 12).replace(/-/g, '_')}`,
    }),
    async check({ w, as }, reply, sent) {
      const name = String(sent.username).toLowerCase();
      if (as === 'owner') {
        expect(reply).toMatchObject({ username: sent.username });
        expect(await stack.ports.usernames.holder(name)).toBe(w.owner.id.uid);
        expect(await stack.ports.usernames.holder(w.ownerName.toLowerCase())).toBeUndefined();
        return;
      }
      expect(await stack.ports.usernames.holder(w.ownerName.toLowerCase())).toBe(w.owner.id.uid);
      if (as !== 'other') expect(await stack.ports.usernames.holder(name)).toBeUndefined();
    },
  },

  'username.lookup': {
    // The directory is public to registered users: the other user finds the owner by name.
    frame: ({ w }) => ({ action: 'username.lookup', username: w.ownerName }),
    async check({ w }, reply) {
      if (reply.type === 'result') expect(reply).toMatchObject({ userId: w.owner.id.uid });
    },
  },

  'account.delete': {
    // The other user names the owner: the frame has no target, so it deletes the caller's own account.
    frame: ({ w, as }) => ({ action: 'account.delete', ...(as === 'other' && { user: w.owner.id.uid }) }),
    async check({ w, as, me }, reply) {
      if (reply.type === 'result') expect(reply).toMatchObject({ deleted: true });
      const owner = await stack.ports.accounts.get(w.owner.id.uid);
      if (as === 'owner') {
        expect(owner).toBeUndefined();
        expect(await cast.queuedIds(w.owner.id.uid)).toEqual([]);
        return;
      }
      expect(owner).toMatchObject({ userId: w.owner.id.uid, ...(as === 'suspended' && { suspended: expect.anything() }) });
      expect(await cast.queuedIds(w.owner.id.uid)).toEqual(ownerIds(w));
      if (as === 'other') expect(await stack.ports.accounts.get(me.id.uid)).toBeUndefined();
    },
  },

  'deliveryToken.set': {
    // The other user names the owner: the frame has no target, so it sets the caller's own token.
    frame: ({ w, as }) => ({
      action: 'deliveryToken.set',
      token: toBase64Url(new Uint8Array(randomBytes(32))),
      ...(as === 'other' && { user: w.owner.id.uid }),
    }),
    async check({ w, as, me }, reply) {
      if (reply.type === 'result') expect(reply).toMatchObject({ changed: true });
      const owner = await stack.ports.accounts.get(w.owner.id.uid);
      if (as === 'owner') {
        expect(owner?.deliveryTokenHash).toEqual(expect.any(String));
        return;
      }
      expect(owner?.deliveryTokenHash).toBeUndefined();
      if (as === 'other') expect((await stack.ports.accounts.get(me.id.uid))?.deliveryTokenHash).toEqual(expect.any(String));
    },
  },

  'device.add': {
    // Everyone presents a device certified by the owner's key: it only verifies on the owner's own account.
    frame: ({ w }) => deviceAddFrame(makeLinkedDevice(w.owner.id)),
    async check({ w, as, me }, reply, sent) {
      const owner = await stack.ports.accounts.get(w.owner.id.uid);
      if (as === 'owner') {
        expect(reply).toMatchObject({ device: 2 });
        expect(owner?.linked).toEqual([expect.objectContaining({ device: 2, signingKey: sent.signingKey, ready: false })]);
        return;
      }
      expect(owner?.linked).toBeUndefined();
      expect((await stack.ports.accounts.get(me.id.uid))?.linked).toBeUndefined();
    },
  },

  'link.fetch': {
    // The frame names nothing: the owner's pending link is never anyone else's answer.
    frame: ({ w, as }) => ({ action: 'link.fetch', ...(as === 'other' && { user: w.owner.id.uid }) }),
    async check(_a, reply) {
      if (reply.type === 'result') expect(reply.link).toBeNull();
    },
  },

  'devices.list': {
    frame: ({ w, as }) => ({ action: 'devices.list', ...(as === 'other' && { user: w.owner.id.uid }) }),
    async check(_a, reply) {
      // The caller's own account: device 1 created when it registered.
      if (reply.type === 'result') expect(reply.devices).toEqual([{ device: 1, name: null, linkedAt: expect.any(Number), ready: true }]);
    },
  },

  'device.remove': {
    // Device 2 of the caller's own account (the other user names the owner, in vain): none, so nothing removed.
    frame: ({ w, as }) => ({ action: 'device.remove', device: 2, ...(as === 'other' && { user: w.owner.id.uid }) }),
    async check({ w }, reply) {
      if (reply.type === 'result') expect(reply).toMatchObject({ removed: false });
      expect((await stack.ports.accounts.get(w.owner.id.uid))?.devices).toEqual([1]);
    },
  },

  'push.register': {
    // The other user names the owner's device: the frame has no target, so it subscribes the caller's own device.
    frame: ({ w, as }) => ({
      action: 'push.register',
      subscription: webPushSubscription(),
      ...(as === 'other' && { user: w.owner.id.uid, userId: w.owner.id.uid, device: 1 }),
    }),
    async check({ w, as, me }, reply, sent) {
      const owner = await stack.ports.pushTokens.get({ userId: w.owner.id.uid, device: 1 });
      if (as === 'owner') {
        expect(reply).toMatchObject({ replaced: true });
        expect(owner).toEqual(sent.subscription);
        return;
      }
      // The suspended caller is the owner: its subscription stays as it was.
      expect(owner).toEqual(w.ownerPush);
      if (as === 'suspended') return;
      const mine = await stack.ports.pushTokens.get({ userId: me.id.uid, device: 1 });
      if (as === 'other') expect(mine).toEqual(sent.subscription);
      else expect(mine).toBeUndefined();
    },
  },

  'push.unregister': {
    // The other user names the owner's device: the frame has no target, so it forgets the caller's own (none).
    frame: ({ w, as }) => ({ action: 'push.unregister', ...(as === 'other' && { user: w.owner.id.uid, device: 1 }) }),
    async check({ w, as }, reply) {
      const owner = await stack.ports.pushTokens.get({ userId: w.owner.id.uid, device: 1 });
      if (as === 'owner') {
        expect(reply).toMatchObject({ removed: true });
        expect(owner).toBeUndefined();
        return;
      }
      if (as === 'other') expect(reply).toMatchObject({ removed: false });
      expect(owner).toEqual(w.ownerPush);
    },
  },

  'attachment.upload': {
    // The other user names the owner: the frame has no owner, and the id it gets names no one.
    frame: ({ w, as }) => ({ action: 'attachment.upload', size: 1024, ...(as === 'other' && { user: w.owner.id.uid }) }),
    async check(_a, reply) {
      if (reply.type === 'result') {
        expect(reply).toMatchObject({ id: expect.stringMatching(/^30\/[A-Za-z0-9_-]{22}$/), expiresAt: clock.now() + 600_000 });
        expect(String(reply.url)).toContain(`/${String(reply.id)}?`);
      }
    },
  },

  'attachment.download': {
    frame: () => ({ action: 'attachment.download', id: `7/${toBase64Url(new Uint8Array(randomBytes(16)))}` }),
    async check(_a, reply, sent) {
      if (reply.type === 'result') expect(String(reply.url)).toContain(`/${String(sent.id)}?`);
    },
  },
};

/** Opens the socket of `as` against the owner's world; the other user also gets one message of its own, queued after the owner's. */
async function callerSocket(w: OwnerWorld, as: Attempt['as']): Promise<Member> {
  switch (as) {
    case 'owner':
      return w.owner;
    case 'other': {
      const other = await cast.registered();
      await cast.sendFranked(w.peer, other, 'for the other user');
      return other;
    }
    case 'unregistered':
      return cast.connect(makeIdentity());
    case 'suspended':
      expect(await stack.ports.accounts.suspend(w.owner.id.uid, 'authorization matrix', clock.now())).toBe(true);
      return cast.connect(w.owner.id, { withPk: false });
  }
}

/** The owner's connect as the replayed and expired columns send it. */
function refusedUrl(w: OwnerWorld, as: 'replayed' | 'expired'): string {
  return as === 'replayed' ? w.owner.url : connectUrl(stack.url, w.owner.id, { ts: clock.now() - SKEW - 1, withPk: false });
}

/**
 * The owner world of the replayed and expired action cells. Their connect is refused at the upgrade, before any
 * frame, so nothing they do can change the world: one serves all of them, its owner connected throughout (the
 * replays are of that open connection's URL). Built on first use, closed when the file ends.
 */
let refusalWorld: Promise<OwnerWorld> | undefined;

async function runAction(action: Action, as: CallerKind): Promise<string> {
  const scenario = SCENARIOS[action];
  if (as === 'replayed' || as === 'expired') {
    const w = await (refusalWorld ??= cast.ownerWorld());
    const status = await cast.upgradeStatus(refusedUrl(w, as));
    if (status !== 101) return upgradeOutcome(status);
    // Had the upgrade been let through, show what the action would then have done.
    const me = await cast.connect(w.owner.id).catch(() => undefined);
    if (!me) return 'upgrade 101, then no second socket';
    try {
      return `upgrade 101, then ${outcomeOf(await me.socket.request(scenario.frame({ w, as: 'owner', me })))}`;
    } finally {
      await me.socket.close();
    }
  }
  const w = await cast.ownerWorld();
  const sockets: Member[] = [w.owner, w.peer];
  try {
    const me = await callerSocket(w, as);
    sockets.push(me);
    const attempt: Attempt = { w, as, me };
    const sent = scenario.frame(attempt);
    const reply = await me.socket.request(sent);
    await scenario.check?.(attempt, reply, sent);
    return outcomeOf(reply);
  } finally {
    await Promise.all(sockets.map((m) => m.socket.close()));
  }
}

/** `$connect` for each caller: the owner's (registered, without `pk`) and the forgeries and replays of it. */
async function runConnect(as: CallerKind): Promise<string> {
  const w = await cast.ownerWorld();
  const sockets: Member[] = [w.owner, w.peer];
  const status = (url: string) => cast.upgradeStatus(url);
  try {
    switch (as) {
      case 'owner':
        return upgradeOutcome(await status(connectUrl(stack.url, w.owner.id, { ts: clock.now(), withPk: false })));
      case 'other': {
        // A registered user signs a connect for the owner's uid: with its own pk (pk ≠ uid), and without (bad signature).
        const other = await cast.registered();
        sockets.push(other);
        const posing = { ...other.id, uid: w.owner.id.uid };
        const withPk = await status(connectUrl(stack.url, posing, { ts: clock.now() }));
        const withoutPk = await status(connectUrl(stack.url, posing, { ts: clock.now(), withPk: false }));
        expect(withPk).toBe(withoutPk);
        return upgradeOutcome(withPk);
      }
      case 'unregistered': {
        const id = makeIdentity();
        // Before registration only `pk` can prove the signing key: without it the authorizer knows no key.
        expect(await status(connectUrl(stack.url, id, { ts: clock.now(), withPk: false }))).toBe(401);
        return upgradeOutcome(await status(connectUrl(stack.url, id, { ts: clock.now() })));
      }
      case 'suspended':
        // Policy is never decided at connect (ARCH §4.4): the routes say ACCOUNT_SUSPENDED.
        await stack.ports.accounts.suspend(w.owner.id.uid, 'authorization matrix', clock.now());
        return upgradeOutcome(await status(connectUrl(stack.url, w.owner.id, { ts: clock.now(), withPk: false })));
      case 'replayed': {
        const exact = await status(w.owner.url);
        // The same nonce under a fresh timestamp and a valid signature is a replay too.
        const nonce = new URL(w.owner.url).searchParams.get('nonce')!;
        expect(await status(connectUrl(stack.url, w.owner.id, { ts: clock.now() + 1, nonce, withPk: false }))).toBe(401);
        // And once the first connection is gone.
        await w.owner.socket.close();
        expect(await status(w.owner.url)).toBe(401);
        return upgradeOutcome(exact);
      }
      case 'expired': {
        const at = (ts: number) => status(connectUrl(stack.url, w.owner.id, { ts, withPk: false }));
        // ±60 s is allowed (ARCH §4.3), one millisecond more either way is not.
        expect(await at(clock.now() - SKEW)).toBe(101);
        expect(await at(clock.now() + SKEW)).toBe(101);
        expect(await at(clock.now() + SKEW + 1)).toBe(401);
        return upgradeOutcome(await at(clock.now() - SKEW - 1));
      }
    }
  } finally {
    await Promise.all(sockets.map((m) => m.socket.close()));
  }
}

describe('authorization matrix', () => {
  it('has a row for $connect and for every action of the protocol', () => {
    expect(MATRIX.map(([row]) => row).sort()).toEqual(['$connect', ...Actions].sort());
  });

  describe.each(MATRIX.map(([row, ...cells]) => [row, cells] as const))('%s', (row, cells) => {
    it.each(CALLERS.map((as, i) => [as, cells[i]!] as const))('as %s → %s', async (as, expected) => {
      const observed = row === '$connect' ? await runConnect(as) : await runAction(row, as);
      expect(observed).toBe(expected);
      cellsChecked++;
    });
  });
});

describe('exhausting another user’s one-time prekeys', () => {
  it('keys.bundle beyond bundlePerMinute → RATE_LIMITED, and the victim keeps its remaining keys', async () => {
    const limit = stack.config.rateLimits.bundlePerMinute;
    const [victim, attacker] = await Promise.all([cast.registered(), cast.registered()]);
    const published = limit + 3;
    await victim.socket.request({ action: 'keys.publish', signedPrekey: signedPrekey(victim.id), oneTimePrekeys: oneTimePrekeys(published) });

    const handedOut = new Set<number>();
    for (let i = 0; i < limit; i++) {
      const reply = await attacker.socket.request({ action: 'keys.bundle', user: victim.id.uid });
      expect(reply).toMatchObject({ type: 'result' });
      handedOut.add((reply.devices as { oneTimePrekey: { keyId: number } }[])[0]!.oneTimePrekey.keyId);
    }
    expect(handedOut.size).toBe(limit);
    const refused = await attacker.socket.request({ action: 'keys.bundle', user: victim.id.uid, device: 1 });
    expect(refused).toMatchObject({ type: 'error', code: 'RATE_LIMITED', retryable: true, retryAfterSeconds: expect.any(Number) });
    expect(await cast.countOneTime(victim.id.uid)).toBe(published - limit);
    expect(await victim.socket.request({ action: 'keys.count' })).toMatchObject({ oneTimePrekeys: published - limit });

    // A second account has its own caller bucket, but the victim's per-target bucket is spent too: the
    // accomplice gets the bundle without a one-time prekey, and the victim keeps what it has left.
    const accomplice = await cast.registered();
    const bundle = await accomplice.socket.request({ action: 'keys.bundle', user: victim.id.uid });
    expect(bundle).toMatchObject({ type: 'result', devices: [{ device: 1, oneTimePrekey: null, signedPrekey: expect.any(Object) }] });
    expect(await cast.countOneTime(victim.id.uid)).toBe(published - limit);
    await Promise.all([victim, attacker, accomplice].map((m) => m.socket.close()));
    specificChecks++;
  });
});

describe('frames with fields the schema does not know', () => {
  it('are stripped, not refused: a send spoofing `from` is accepted and delivered from the connection', async () => {
    const [sender, recipient, impersonated] = await Promise.all([cast.registered(), cast.registered(), cast.registered()]);
    const id = messageId();
    const reply = await sender.socket.request({
      action: 'send',
      id,
      to: recipient.id.uid,
      from: { user: impersonated.id.uid, device: 1 },
      frank: { commitment: anyCommitment(), tag: anyCommitment(), kid: 'forged' },
      messages: [{ device: 1, ciphertext: 'AAAA', commitment: anyCommitment(), from: { user: impersonated.id.uid, device: 1 } }],
    });
    expect(reply).toMatchObject({ type: 'result', id });
    const pushed = await cast.pushOf(recipient.socket, id);
    expect(pushed.from).toEqual({ user: sender.id.uid, device: 1 });
    expect((pushed.frank as { kid: string }).kid).not.toBe('forged');
    await Promise.all([sender, recipient, impersonated].map((m) => m.socket.close()));
    specificChecks++;
  });
});

describe('refusals that do not depend on how often one asks', () => {
  // Suspended and unregistered callers are told so (not retryable) however many times they ask; a
  // RATE_LIMITED answer (retryable, with retryAfterSeconds) would have a client wait and try again forever.
  it.each(['suspended', 'unregistered'] as const)('a %s caller past bundlePerMinute is still refused with its own code', async (as) => {
    const limit = stack.config.rateLimits.bundlePerMinute;
    const w = await cast.ownerWorld();
    const me = await callerSocket(w, as);
    const expected = as === 'suspended' ? SUSPENDED : 'FORBIDDEN';
    const codes: string[] = [];
    for (let i = 0; i <= limit; i++) codes.push(outcomeOf(await me.socket.request({ action: 'keys.bundle', user: w.peer.id.uid })));
    await Promise.all([w.owner, w.peer, me].map((m) => m.socket.close()));
    expect(codes).toEqual(Array.from({ length: limit + 1 }, () => expected));
    specificChecks++;
  });
});
