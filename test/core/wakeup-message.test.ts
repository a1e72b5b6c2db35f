import { encodeWakeup, parseWakeup } from '../../lambdas/adapters/wakeup-message';

import { makeIdentity } from '../support/identity';

/** The wake-up queue message (ARCH §6.13): written as a device address, read back only when it is exactly one. */
describe('wake-up messages', () => {
  const userId = makeIdentity().uid;

  it('round-trips a device address as exactly {userId, device}', () => {
    const body = encodeWakeup({ userId, device: 3 });
    expect(body).toBe(`{"userId":"${userId}","device":3}`);
    expect(parseWakeup(body)).toEqual({ userId, device: 3 });
  });

  test.each([
    ['not JSON', 'wake'],
    ['another field', JSON.stringify({ userId, device: 1, from: userId })],
    ['no device', JSON.stringify({ userId })],
    ['a device out of range', JSON.stringify({ userId, device: 0 })],
    ['a user id that is not one', JSON.stringify({ userId: 'x', device: 1 })],
    ['an array', JSON.stringify([userId, 1])],
  ])('refuses %s', (_what, body) => {
    expect(parseWakeup(body)).toBeUndefined();
  });
});
