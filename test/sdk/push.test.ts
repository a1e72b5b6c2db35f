import { EbbError } from '../../client-sdk/src';
import { connected, fakeServerSuite } from './helpers';
import { apnsToken, webPushSubscription } from '../support/push';

/** registerPush / unregisterPush against the fake server: the exact frames, and what is refused before sending. */
describe('push subscriptions', () => {
  const env = fakeServerSuite();

  it('sends a browser subscription as push.register with only its endpoint and unpadded keys', async () => {
    const alice = env.track(await connected(env.server));
    const good = webPushSubscription();
    // As a browser's PushSubscription gives it: an object with toJSON(), keys maybe padded, an expiration time.
    const live = { toJSON: () => ({ ...good, expirationTime: null, keys: { p256dh: `${good.keys.p256dh}=`, auth: `${good.keys.auth}==` } }) };
    await alice.registerPush(live);
    expect(env.server.framesOf(alice.userId, 'push.register')).toEqual([
      { action: 'push.register', rid: expect.any(String), subscription: { endpoint: good.endpoint, keys: good.keys } },
    ]);
    expect(env.server.pushSubscriptions.get(`${alice.userId}#1`)).toEqual(good);
  });

  it('sends a native token as it is, and unregisters with a bare push.unregister', async () => {
    const alice = env.track(await connected(env.server));
    const token = apnsToken();
    await alice.registerPush(token);
    expect(await alice.unregisterPush()).toBe(true);
    expect(await alice.unregisterPush()).toBe(false);
    const sent = env.server.frames.filter((f) => f.user === alice.userId && String(f.frame.action).startsWith('push.')).map((f) => f.frame);
    expect(sent).toEqual([
      { action: 'push.register', rid: expect.any(String), subscription: token },
      { action: 'push.unregister', rid: expect.any(String) },
      { action: 'push.unregister', rid: expect.any(String) },
    ]);
  });

  test.each([
    ['no keys', { endpoint: 'https://push.example.net/w/1' }],
    ['an endpoint that is no URL', { ...webPushSubscription(), endpoint: 'push.example.net/w/1' }],
    ['a short auth secret', { ...webPushSubscription(), keys: { ...webPushSubscription().keys, auth: 'AAAA' } }],
    ['a token of the wrong alphabet', { platform: 'apns' as const, token: 'not hex at all, and long enough to be a token '.repeat(2) }],
    ['another platform', { platform: 'wns', token: 'a'.repeat(64) }],
  ])('refuses %s with BAD_REQUEST before anything is sent', async (_what, subscription) => {
    const alice = env.track(await connected(env.server));
    const error = await alice.registerPush(subscription as never).catch((e: unknown) => e);
    expect(EbbError.is(error, 'BAD_REQUEST')).toBe(true);
    expect((error as EbbError).retryable).toBe(false);
    expect((error as EbbError).message).toMatch(/^subscription/);
    expect(env.server.framesOf(alice.userId, 'push.register')).toEqual([]);
  });
});
