import { DynamoPushTokens, DynamoWakeupClaims } from '../../lambdas/adapters/dynamodb';
import { MemoryPushTokens } from '../../lambdas/adapters/memory';
import type { DeviceAddress, PushTokens, WakeupClaims } from '../../lambdas/core/ports';
import { apnsToken, fcmToken, webPushSubscription } from '../support/push';
import { T0, freshUserId, useDynalite } from './backends';

const MINUTE = 60_000;

/**
 * The PushTokens and WakeupClaims contract (lambdas/core/ports.ts, ARCH §7.9): two ports over one store, run against
 * the memory and the DynamoDB adapters.
 */
function pushTokensContract(make: () => Promise<PushTokens & WakeupClaims>): void {
  let tokens: PushTokens & WakeupClaims;
  let phone: DeviceAddress;
  let tablet: DeviceAddress;
  beforeEach(async () => {
    tokens = await make();
    const userId = freshUserId();
    phone = { userId, device: 1 };
    tablet = { userId, device: 2 };
  });

  it('keeps one subscription per device, each kind read back exactly, and says when a put replaced one', async () => {
    const web = webPushSubscription();
    const apns = apnsToken();
    expect(await tokens.get(phone)).toBeUndefined();
    expect(await tokens.put(phone, web, T0)).toBe(false);
    expect(await tokens.put(tablet, apns, T0)).toBe(false);
    expect(await tokens.get(phone)).toEqual(web);
    expect(await tokens.get(tablet)).toEqual(apns);
    const fcm = fcmToken();
    expect(await tokens.put(phone, fcm, T0 + 1)).toBe(true);
    expect(await tokens.get(phone)).toEqual(fcm);
    expect(await tokens.get({ userId: freshUserId(), device: 1 })).toBeUndefined();
  });

  it('claims a wake-up only for a device with a subscription, at most once in each window', async () => {
    expect(await tokens.claimWakeup(phone, T0, MINUTE)).toBe(false);
    // A failed claim creates nothing.
    expect(await tokens.get(phone)).toBeUndefined();
    await tokens.put(phone, webPushSubscription(), T0);
    expect(await tokens.claimWakeup(phone, T0, MINUTE)).toBe(true);
    expect(await tokens.claimWakeup(phone, T0 + 1, MINUTE)).toBe(false);
    expect(await tokens.claimWakeup(phone, T0 + MINUTE - 1, MINUTE)).toBe(false);
    expect(await tokens.claimWakeup(tablet, T0 + 1, MINUTE)).toBe(false);
    expect(await tokens.claimWakeup(phone, T0 + MINUTE, MINUTE)).toBe(true);
    expect(await tokens.claimWakeup(phone, T0 + MINUTE + 1, MINUTE)).toBe(false);
  });

  it('concurrent claims in one window: exactly one wins', async () => {
    await tokens.put(phone, apnsToken(), T0);
    const claims = await Promise.all(Array.from({ length: 8 }, () => tokens.claimWakeup(phone, T0, MINUTE)));
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('a new subscription starts its wake-up window afresh', async () => {
    await tokens.put(phone, webPushSubscription(), T0);
    expect(await tokens.claimWakeup(phone, T0, MINUTE)).toBe(true);
    await tokens.put(phone, webPushSubscription(), T0 + 1);
    expect(await tokens.claimWakeup(phone, T0 + 2, MINUTE)).toBe(true);
  });

  it('removes a subscription, or only the one named, leaving one registered since', async () => {
    const old = webPushSubscription();
    const fresh = webPushSubscription();
    await tokens.put(phone, old, T0);
    await tokens.put(phone, fresh, T0 + 1);
    // A push service's "expired" for the old endpoint does not remove the fresh one.
    expect(await tokens.remove(phone, old)).toBe(false);
    expect(await tokens.get(phone)).toEqual(fresh);
    expect(await tokens.remove(phone, fresh)).toBe(true);
    expect(await tokens.get(phone)).toBeUndefined();
    expect(await tokens.remove(phone)).toBe(false);

    const apns = apnsToken();
    await tokens.put(tablet, apns, T0);
    expect(await tokens.remove(tablet, { platform: 'fcm', token: apns.token })).toBe(false);
    expect(await tokens.remove(tablet, apnsToken())).toBe(false);
    expect(await tokens.remove(tablet, apns)).toBe(true);
    await tokens.put(tablet, apns, T0);
    expect(await tokens.remove(tablet)).toBe(true);
    expect(await tokens.get(tablet)).toBeUndefined();
  });

  it("removes every device's subscription of one user, and only that user's", async () => {
    const other: DeviceAddress = { userId: freshUserId(), device: 1 };
    await tokens.put(phone, webPushSubscription(), T0);
    await tokens.put(tablet, fcmToken(), T0);
    await tokens.put(other, apnsToken(), T0);
    expect(await tokens.removeAll(phone.userId)).toBe(2);
    expect(await tokens.get(phone)).toBeUndefined();
    expect(await tokens.get(tablet)).toBeUndefined();
    expect(await tokens.get(other)).toEqual(expect.objectContaining({ platform: 'apns' }));
    expect(await tokens.removeAll(phone.userId)).toBe(0);
  });
}

describe('MemoryPushTokens', () => pushTokensContract(async () => new MemoryPushTokens()));

describe('DynamoPushTokens on dynalite', () => {
  const dynamo = useDynalite();
  pushTokensContract(async () => {
    const { db, names } = await dynamo.fresh();
    const [tokens, claims] = [new DynamoPushTokens(db, names.pushTokens), new DynamoWakeupClaims(db, names.pushTokens)];
    return Object.assign(tokens, { claimWakeup: claims.claimWakeup.bind(claims) });
  });
});
