import { measureCrypto } from '../../bench/crypto';

describe('bench/crypto', () => {
  it('measures each operation beside a replay of the exact primitive calls it makes', () => {
    const result = measureCrypto({ seconds: 0.4 });
    // X3DH with a one-time prekey on both sides (4 + 4 DH), Alice's first ratchet DH, two fresh key pairs,
    // and three HKDFs of two HMACs each.
    expect(result.sessionSetup.calls).toEqual({
      hmac: 6,
      hmacBytes: expect.any(Number),
      scalarMult: 9,
      keyPair: 2,
      secretbox: 0,
      secretboxOpen: 0,
      sign: 0,
      verify: 0,
      random: 0,
    });
    // Two chain steps of two HMACs, two AEAD HKDFs (1 + 2 HMACs) and two tags: 12 HMACs.
    expect(result.steadyChain.calls).toMatchObject({ hmac: 12, scalarMult: 0, keyPair: 0, secretbox: 1, secretboxOpen: 1 });
    // A DH-ratchet step adds two DHs, a key pair and two root-key HKDFs.
    expect(result.ratchetStepMessage.calls).toMatchObject({ hmac: 16, scalarMult: 2, keyPair: 1, secretbox: 1, secretboxOpen: 1 });
    // A sender-key message: two chain steps of two HMACs, a box made and opened, one signature made and checked, one nonce.
    expect(result.senderKeyMessage.calls).toMatchObject({
      hmac: 4,
      scalarMult: 0,
      keyPair: 0,
      secretbox: 1,
      secretboxOpen: 1,
      sign: 1,
      verify: 1,
      random: 1,
    });
    for (const figure of [result.sessionSetup, result.steadyChain, result.ratchetStepMessage, result.senderKeyMessage]) {
      expect(figure.perSecond).toBeGreaterThan(0);
      expect(figure.ratio).toBeGreaterThan(0);
    }
  });
});
