import { randomBytes } from 'node:crypto';
import {
  KeyringError,
  KeyringFrankingKeys,
  acceptedKey,
  newKeyring,
  parseKeyring,
  rotateKeyring,
  serializeKeyring,
} from '../../lambdas/adapters/franking-keys';

const random = (n: number) => new Uint8Array(randomBytes(n));
const DAY = 86_400_000;
const T0 = Date.UTC(2027, 0, 1);
const SECRET = 'a'.repeat(64);

describe('franking keyring', () => {
  it('reads the shape CloudFormation generates', () => {
    const keyring = parseKeyring(JSON.stringify({ current: 'k1', k1: SECRET }));
    expect(keyring.current).toBe('k1');
    expect(acceptedKey(keyring, 'k1', T0, 30)?.key).toEqual(new TextEncoder().encode(SECRET));
  });

  it.each([
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /not an object/],
    ['a current that names no key', JSON.stringify({ current: 'k2', k1: SECRET }), /current must name/],
    ['a short key', JSON.stringify({ current: 'k1', k1: 'short' }), /k1 must be a string of at least 32/],
    ['a bad retired time', JSON.stringify({ current: 'k1', k1: SECRET, retired: { k0: 'yesterday' } }), /retired\.k0/],
  ])('refuses %s without echoing any key', (_name, text, message) => {
    expect(() => parseKeyring(text)).toThrow(KeyringError);
    expect(() => parseKeyring(text)).toThrow(message);
    try {
      parseKeyring(text);
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET);
    }
  });

  it('rotates: a new current key, the old one retired now and still accepted within retentionDays', () => {
    const first = newKeyring(random);
    const second = rotateKeyring(first, random, T0, 30);
    expect(second.current).toBe('k2');
    expect(second.retired.get('k1')).toBe(T0);
    expect(parseKeyring(serializeKeyring(second))).toEqual(second);
    expect(acceptedKey(second, 'k1', T0 + 30 * DAY, 30)).toBeDefined();
    expect(acceptedKey(second, 'k1', T0 + 30 * DAY + 1, 30)).toBeUndefined();
    expect(acceptedKey(second, 'k2', T0 + 365 * DAY, 30)).toBeDefined();
  });

  it('drops keys retired longer than retentionDays at the next rotation', () => {
    const second = rotateKeyring(newKeyring(random), random, T0, 30);
    const third = rotateKeyring(second, random, T0 + 31 * DAY, 30);
    expect([...third.keys.keys()].sort()).toEqual(['k2', 'k3']);
    expect([...third.retired.keys()]).toEqual(['k2']);
  });

  it('caches the stored keyring, and re-reads it once for a kid it does not know', async () => {
    let stored = newKeyring(random);
    let loads = 0;
    const clock = {
      t: T0,
      now() {
        return this.t;
      },
    };
    const keys = new KeyringFrankingKeys(async () => (loads++, serializeKeyring(stored)), clock, 30, 60_000);
    expect((await keys.current()).kid).toBe('k1');
    expect((await keys.current()).kid).toBe('k1');
    expect(loads).toBe(1);

    stored = rotateKeyring(stored, random, T0, 30);
    clock.t += 2000;
    expect((await keys.find('k2'))?.kid).toBe('k2');
    expect(loads).toBe(2);
    expect(await keys.find('k9')).toBeUndefined();
    expect(loads).toBe(2);
  });
});
