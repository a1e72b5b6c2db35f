import { measureCrypto } from '../../bench/crypto';

describe('bench/crypto', () => {
  it('measures setup and steady chain beside the primitives each performs', async () => {
    const result = await measureCrypto({ seconds: 0.3 });
    expect(result.perOp).toEqual({ setup: { scalarMults: 11, hmacs: 6 }, steady: { shortHmacs: 10, longHmacs: 2, secretboxes: 2 } });
    for (const value of [result.sessionSetupPerSecond, result.steadyChainPerSecond, ...Object.values(result.primitives)]) expect(value).toBeGreaterThan(0);
    expect(result.ratios.setupVsPrimitives).toBeGreaterThan(0);
    expect(result.ratios.steadyVsPrimitives).toBeGreaterThan(0);
  });
});
