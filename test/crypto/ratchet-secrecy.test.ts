import fc from 'fast-check';
import { deserializeState, ratchetDecrypt, serializeState } from '../../client-sdk/src/crypto/ratchet';
import * as base64url from '../../protocol/base64url';
import { newSession, receive, send, type Party, type Sent } from './session';

/** An attacker's copy of a party's state: it can run ratchetDecrypt on captured messages. */
function copyOf(p: Party): Party {
  return { state: deserializeState(serializeState(p.state)), ad: p.ad };
}

describe('Double Ratchet secrecy', () => {
  it("forward secrecy: Bob's state after message N cannot decrypt any earlier message", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 3 })), { minLength: 1, maxLength: 6 }), (runs) => {
        const { alice, bob } = newSession();
        const toBob: Sent[] = [];
        runs.forEach(([aliceSends, count], i) => {
          for (let k = 0; k < count; k++) {
            if (i === 0 || aliceSends) {
              const m = send(alice);
              expect(receive(bob, m)).toEqual(m.plaintext);
              toBob.push(m);
            } else {
              expect(receive(alice, send(bob))).not.toBeNull();
            }
          }
        });
        const stolen = copyOf(bob);
        for (const m of toBob) expect(ratchetDecrypt(stolen.state, m.header, m.ciphertext, stolen.ad)).toBeNull();
      }),
      { numRuns: 30 },
    );
  });

  it('post-compromise security: one round trip after the copy, new messages are out of its reach', () => {
    const { alice, bob } = newSession();
    expect(receive(bob, send(alice))).not.toBeNull();
    expect(receive(alice, send(bob))).not.toBeNull();
    const stolen = copyOf(bob);

    // Alice's next message is still on the chain the copy knows: healing needs Bob's next key.
    const a1 = send(alice);
    expect(receive(bob, a1)).toEqual(a1.plaintext);
    const b1 = send(bob); // carries Bob's fresh ratchet key, whose secret the copy never saw
    expect(receive(alice, b1)).toEqual(b1.plaintext);

    const later = [send(alice), send(alice)];
    // Whether or not the copy kept up with a1, it reads nothing Alice sent after the round trip.
    const keptUp = copyOf(stolen);
    expect(receive(keptUp, a1)).toEqual(a1.plaintext);
    for (const m of later) {
      expect(ratchetDecrypt(stolen.state, m.header, m.ciphertext, stolen.ad)).toBeNull();
      expect(ratchetDecrypt(keptUp.state, m.header, m.ciphertext, keptUp.ad)).toBeNull();
      expect(receive(bob, m)).toEqual(m.plaintext);
    }
  });

  it('a state holds no message key for a message already decrypted', () => {
    const { alice, bob } = newSession();
    const late = send(alice);
    const now = send(alice);
    expect(receive(bob, now)).not.toBeNull();
    const withSkipped = serializeState(bob.state);
    expect(receive(bob, late)).not.toBeNull();
    expect(bob.state.skipped).toEqual([]);
    // The message key that opened `late` is in the earlier state only.
    const mk = (JSON.parse(withSkipped) as { skipped: { mk: string }[] }).skipped[0]!.mk;
    expect(serializeState(bob.state)).not.toContain(mk);
  });
});

describe('Double Ratchet key wiping', () => {
  /** Decodes `ratchetDecrypt` makes of the state's secrets (root, chain and ratchet keys), each with its bytes as decoded. */
  function decodedKeys(state: Party['state'], run: () => void): { bytes: Uint8Array; decoded: string }[] {
    const secret = new Set([state.rk, state.cks, state.ckr, state.dhs.secretKey].filter((k): k is string => k !== null));
    const decodes: { bytes: Uint8Array; decoded: string }[] = [];
    const original = base64url.fromBase64Url;
    const spy = jest.spyOn(base64url, 'fromBase64Url').mockImplementation((text: string) => {
      const bytes = original(text);
      if (secret.has(text)) decodes.push({ bytes, decoded: text });
      return bytes;
    });
    try {
      run();
    } finally {
      spy.mockRestore();
    }
    return decodes;
  }

  it('wipes the decoded ratchet secret key after a DH-ratchet step', () => {
    const { alice, bob } = newSession();
    expect(receive(bob, send(alice))).not.toBeNull();
    const reply = send(bob);
    const state = alice.state;
    const decodes = decodedKeys(state, () => expect(ratchetDecrypt(state, reply.header, reply.ciphertext, alice.ad)).not.toBeNull());
    expect(decodes.some((d) => d.decoded === state.dhs.secretKey)).toBe(true);
    expect(decodes.filter((d) => d.bytes.some((b) => b !== 0)).map((d) => d.decoded)).toEqual([]);
  });

  it.each([
    ['a replay of a used message', 'replay'],
    ['a message that opens', 'fresh'],
    ['a forged message', 'forged'],
  ] as const)('wipes the decoded secrets after %s', (_name, kind) => {
    const { alice, bob } = newSession();
    const first = send(alice);
    expect(receive(bob, first)).not.toBeNull();
    const second = send(alice);
    const message =
      kind === 'replay' ? first : kind === 'fresh' ? second : { ...second, ciphertext: second.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b)) };
    const state = bob.state;
    const decodes = decodedKeys(state, () => {
      const result = ratchetDecrypt(state, message.header, message.ciphertext, bob.ad);
      expect(result === null).toBe(kind !== 'fresh');
    });
    expect(decodes.length).toBeGreaterThan(0);
    expect(decodes.filter((d) => d.bytes.some((b) => b !== 0)).map((d) => d.decoded)).toEqual([]);
  });
});
