import { measureGroupCrypto } from '../../bench/groups';

describe('bench/groups', () => {
  it('measures sender-key encryption beside exactly its primitives, and as SenderKeys.encrypt stores it per group size', async () => {
    const result = await measureGroupCrypto(0.4, [3, 30]);
    // Two chain-step HMACs of one byte each, the random nonce, one secretbox, one signature: nothing else.
    expect(result.encrypt.calls).toEqual({
      hmac: 2,
      hmacBytes: 2,
      scalarMult: 0,
      keyPair: 0,
      secretbox: 1,
      secretboxOpen: 0,
      sign: 1,
      verify: 0,
      random: 1,
    });
    expect(result.encrypt.perSecond).toBeGreaterThan(0);
    expect(result.encrypt.ratio).toBeCloseTo(result.encrypt.perSecond / result.encrypt.primitivesPerSecond, 9);
    expect(Object.keys(result.asSent)).toEqual(['3', '30']);
    for (const figure of Object.values(result.asSent)) {
      expect(figure.perSecond).toBeGreaterThan(0);
      expect(figure.primitivesPerSecond).toBeGreaterThan(0);
      expect(figure.ratio).toBeCloseTo(figure.perSecond / figure.primitivesPerSecond, 9);
    }
  });
});
