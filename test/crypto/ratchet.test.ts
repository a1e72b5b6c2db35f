import fc from 'fast-check';
import {
  decodeHeader,
  deserializeState,
  encodeHeader,
  HEADER_LENGTH,
  MAX_SKIP,
  MAX_SKIPPED_AGE_MS,
  MAX_SKIPPED_KEYS,
  ratchetDecrypt,
  ratchetEncrypt,
  serializeState,
} from '../../client-sdk/src/crypto/ratchet';
import { newSession, plaintextOf, receive, send, type Party, type Sent } from './session';

/** Runs of [sender is Alice?, message count]; the first run is Alice's (Bob sends only after receiving). */
const runsArb = fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 1, max: 4 })), { minLength: 1, maxLength: 6 });

function talk(alice: Party, bob: Party, runs: ReadonlyArray<readonly [boolean, number]>, size = 8): void {
  runs.forEach(([aliceSends, count], i) => {
    const [from, to] = i === 0 || aliceSends ? [alice, bob] : [bob, alice];
    for (let k = 0; k < count; k++) {
      const m = send(from, plaintextOf(size));
      expect(receive(to, m)).toEqual(m.plaintext);
    }
  });
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[Math.floor(bit / 8) % out.length]! ^= 1 << (bit % 8);
  return out;
}

describe('ratchet header', () => {
  it('round-trips and rejects the wrong length', () => {
    const h = { dh: new Uint8Array(32).fill(3), pn: 0xffffffff, n: 7 };
    const bytes = encodeHeader(h);
    expect(bytes).toHaveLength(HEADER_LENGTH);
    expect(HEADER_LENGTH).toBe(40);
    expect(decodeHeader(bytes)).toEqual(h);
    expect(decodeHeader(bytes.subarray(1))).toBeNull();
    expect(decodeHeader(new Uint8Array(HEADER_LENGTH + 1))).toBeNull();
    expect(() => encodeHeader({ ...h, dh: new Uint8Array(31) })).toThrow(new TypeError('header.dh: expected 32 bytes'));
    expect(() => encodeHeader({ ...h, n: -1 })).toThrow(TypeError);
  });
});

describe('Double Ratchet', () => {
  it('round-trips random conversations with alternating senders', () => {
    fc.assert(
      fc.property(runsArb, fc.integer({ min: 0, max: 300 }), (runs, size) => {
        const { alice, bob } = newSession();
        talk(alice, bob, runs, size);
      }),
      { numRuns: 30 },
    );
  });

  it('lets the responder send only after receiving', () => {
    const { bob } = newSession();
    expect(() => ratchetEncrypt(bob.state, plaintextOf(), bob.ad)).toThrow('ratchet: no sending chain until the first message is received');
  });

  it('never mutates the state it is given', () => {
    const { alice, bob } = newSession();
    const before = serializeState(alice.state);
    const m = ratchetEncrypt(alice.state, plaintextOf(), alice.ad);
    expect(serializeState(alice.state)).toBe(before);
    const bobBefore = serializeState(bob.state);
    expect(ratchetDecrypt(bob.state, m.header, m.ciphertext, bob.ad)).not.toBeNull();
    expect(serializeState(bob.state)).toBe(bobBefore);
  });

  it('rejects any flipped bit in the header or ciphertext, leaving the state unchanged', () => {
    fc.assert(
      fc.property(runsArb, fc.boolean(), fc.nat(), fc.boolean(), (runs, inHeader, bit, late) => {
        const { alice, bob } = newSession();
        talk(alice, bob, runs);
        // A message from the live chain, or one whose key was skipped (it arrives late).
        const first = send(alice);
        const second = late ? send(alice) : first;
        if (late) expect(receive(bob, second)).toEqual(second.plaintext);
        const target = late ? first : second;

        const before = serializeState(bob.state);
        const header = inHeader ? decodeHeader(flipBit(encodeHeader(target.header), bit % (HEADER_LENGTH * 8)))! : target.header;
        const ciphertext = inHeader ? target.ciphertext : flipBit(target.ciphertext, bit % (target.ciphertext.length * 8));
        expect(ratchetDecrypt(bob.state, header, ciphertext, bob.ad)).toBeNull();
        expect(serializeState(bob.state)).toBe(before);
        // The genuine message still decrypts afterwards.
        expect(receive(bob, target)).toEqual(target.plaintext);
      }),
      { numRuns: 60 },
    );
  });

  it('rejects a wrong associated data and a malformed header without throwing', () => {
    const { alice, bob } = newSession();
    const m = send(alice);
    expect(ratchetDecrypt(bob.state, m.header, m.ciphertext, alice.ad.slice().reverse())).toBeNull();
    expect(ratchetDecrypt(bob.state, { ...m.header, dh: new Uint8Array(31) }, m.ciphertext, bob.ad)).toBeNull();
    expect(ratchetDecrypt(bob.state, { ...m.header, n: 1.5 }, m.ciphertext, bob.ad)).toBeNull();
    expect(ratchetDecrypt(bob.state, { ...m.header, dh: new Uint8Array(32) }, m.ciphertext, bob.ad)).toBeNull();
    expect(receive(bob, m)).toEqual(m.plaintext);
  });

  it('decrypts every message exactly once under random reordering across chains, and rejects replays', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 3 }),
        fc.infiniteStream(fc.nat()),
        (k1, k2, k3, picks) => {
          const { alice, bob } = newSession();
          const opener = send(alice);
          expect(receive(bob, opener)).toEqual(opener.plaintext);
          const pending: Sent[] = [];
          for (let i = 0; i < k1; i++) pending.push(send(alice));
          // Bob replies and Alice receives it, so her next messages are on a new chain.
          const reply = send(bob);
          expect(receive(alice, reply)).toEqual(reply.plaintext);
          for (let i = 0; i < k2; i++) pending.push(send(alice));
          for (let i = 0; i < k3; i++) {
            const r = send(bob);
            expect(receive(alice, r)).toEqual(r.plaintext);
            pending.push(send(alice));
          }

          const order = pending.slice();
          const it = picks[Symbol.iterator]();
          const delivered: Sent[] = [];
          while (order.length > 0) {
            const [m] = order.splice(it.next().value % order.length, 1);
            expect(receive(bob, m!)).toEqual(m!.plaintext);
            delivered.push(m!);
            // Anything already delivered is a replay now.
            const replay = delivered[it.next().value % delivered.length]!;
            const before = serializeState(bob.state);
            expect(receive(bob, replay)).toBeNull();
            expect(serializeState(bob.state)).toBe(before);
          }
          expect(deserializeState(serializeState(bob.state)).skipped).toEqual([]);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('rejects a replay of the latest message', () => {
    const { alice, bob } = newSession();
    const m = send(alice);
    expect(receive(bob, m)).toEqual(m.plaintext);
    const before = serializeState(bob.state);
    expect(receive(bob, m)).toBeNull();
    expect(serializeState(bob.state)).toBe(before);
  });

  it('skips at most MAX_SKIP message keys per message, leaving the state unchanged beyond that', () => {
    const { alice, bob } = newSession();
    const messages: Sent[] = [];
    for (let i = 0; i <= MAX_SKIP + 1; i++) messages.push(send(alice));
    const before = serializeState(bob.state);
    expect(receive(bob, messages[MAX_SKIP + 1]!)).toBeNull();
    expect(serializeState(bob.state)).toBe(before);
    // Exactly MAX_SKIP skipped keys is allowed, and each opens its message once.
    expect(receive(bob, messages[MAX_SKIP]!)).toEqual(messages[MAX_SKIP]!.plaintext);
    expect(receive(bob, messages[MAX_SKIP + 1]!)).toEqual(messages[MAX_SKIP + 1]!.plaintext);
    for (const i of [0, 1, 500, MAX_SKIP - 1]) {
      expect(receive(bob, messages[i]!)).toEqual(messages[i]!.plaintext);
      expect(receive(bob, messages[i]!)).toBeNull();
    }
    expect(bob.state.skipped).toHaveLength(MAX_SKIP - 4);
  });

  it('counts the previous chain (pn) against MAX_SKIP too', () => {
    const { alice, bob } = newSession();
    expect(receive(bob, send(alice))).not.toBeNull();
    for (let i = 0; i < MAX_SKIP + 1; i++) send(alice);
    expect(receive(alice, send(bob))).not.toBeNull();
    const next = send(alice);
    expect(next.header.pn).toBe(MAX_SKIP + 2);
    const before = serializeState(bob.state);
    expect(receive(bob, next)).toBeNull();
    expect(serializeState(bob.state)).toBe(before);
  });

  it(`keeps at most ${MAX_SKIPPED_KEYS} skipped keys, evicting the oldest`, () => {
    const { alice, bob } = newSession();
    expect(receive(bob, send(alice))).not.toBeNull();
    const chains: Sent[][] = [];
    const perChain = 700;
    for (let c = 0; c < 3; c++) {
      const chain: Sent[] = [];
      for (let i = 0; i <= perChain; i++) chain.push(send(alice));
      expect(receive(bob, chain[perChain]!)).not.toBeNull();
      expect(receive(alice, send(bob))).not.toBeNull();
      chains.push(chain);
    }
    expect(bob.state.skipped).toHaveLength(MAX_SKIPPED_KEYS);
    const evicted = 3 * perChain - MAX_SKIPPED_KEYS;
    expect(receive(bob, chains[0]![evicted - 1]!)).toBeNull();
    expect(receive(bob, chains[0]![evicted]!)).not.toBeNull();
    expect(receive(bob, chains[2]![0]!)).not.toBeNull();
  });

  it('drops skipped keys older than MAX_SKIPPED_AGE_MS', () => {
    const t0 = Date.UTC(2030, 0, 1);
    const { alice, bob } = newSession();
    const late = [send(alice), send(alice)];
    const now = send(alice);
    expect(receive(bob, now, t0)).toEqual(now.plaintext);
    expect(receive(bob, late[0]!, t0 + MAX_SKIPPED_AGE_MS)).toEqual(late[0]!.plaintext);
    expect(receive(bob, late[1]!, t0 + MAX_SKIPPED_AGE_MS + 1)).toBeNull();
    // The successful decrypt that saw the expiry also forgets the key.
    const next = send(alice);
    expect(receive(bob, next, t0 + MAX_SKIPPED_AGE_MS + 1)).toEqual(next.plaintext);
    expect(bob.state.skipped).toEqual([]);
  });

  it('serializes and deserializes mid-conversation', () => {
    fc.assert(
      fc.property(runsArb, runsArb, (before, after) => {
        const { alice, bob } = newSession();
        talk(alice, bob, before);
        const skipped = send(alice); // leaves a skipped key in Bob's state
        expect(receive(bob, send(alice))).not.toBeNull();
        for (const p of [alice, bob]) {
          const text = serializeState(p.state);
          p.state = deserializeState(text);
          expect(serializeState(p.state)).toBe(text);
        }
        expect(receive(bob, skipped)).toEqual(skipped.plaintext);
        talk(alice, bob, [[true, 1], ...after]);
      }),
      { numRuns: 30 },
    );
  });

  it('refuses garbage in place of a serialized state, without echoing it', () => {
    const { alice } = newSession();
    const good = JSON.parse(serializeState(alice.state)) as Record<string, unknown>;
    const bad = [
      'not json',
      'null',
      '[]',
      '{}',
      JSON.stringify({ ...good, version: 2 }),
      JSON.stringify({ ...good, rk: (good.rk as string).slice(1) }),
      JSON.stringify({ ...good, rk: '!'.repeat(43) }),
      JSON.stringify({ ...good, ns: -1 }),
      JSON.stringify({ ...good, ns: 1.5 }),
      JSON.stringify({ ...good, skipped: [{ dh: good.dhr, n: 0, mk: 'x', storedAt: 0 }] }),
      JSON.stringify({ ...good, dhr: null, ckr: good.cks }),
    ];
    for (const text of bad) {
      expect(() => deserializeState(text)).toThrow(TypeError);
      try {
        deserializeState(text);
      } catch (err) {
        expect((err as Error).message).not.toContain(good.rk as string);
      }
    }
    fc.assert(
      fc.property(fc.string(), (text) => expect(() => deserializeState(text)).toThrow(TypeError)),
      { numRuns: 100 },
    );
  });
});
