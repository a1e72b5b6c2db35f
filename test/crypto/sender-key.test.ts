import { hmac } from '@noble/hashes/hmac';
import { sha512 } from '@noble/hashes/sha2';
import fc from 'fast-check';
import nacl from 'tweetnacl';
import { fromBase64Url, toBase64Url } from '../../protocol/base64url';
import { u32be } from '../../client-sdk/src/crypto/bytes';
import {
  createSenderKey,
  decodeDistribution,
  decodeSenderKeyMessage,
  deserializeState,
  DISTRIBUTION_LENGTH,
  encodeDistribution,
  MAX_FORWARD_JUMP,
  MAX_MESSAGE_KEY_AGE_MS,
  MAX_MESSAGE_KEYS,
  MAX_SENDER_KEY_MESSAGE_BYTES,
  SENDER_KEY_OVERHEAD,
  senderKeyDecrypt,
  senderKeyDistribution,
  senderKeyEncrypt,
  serializeState,
  stateFromDistribution,
  type SenderKeyDistribution,
  type SenderKeyRefusal,
  type SenderKeyState,
} from '../../client-sdk/src/crypto/sender-key';

const AD = new TextEncoder().encode('group g1, from alice device 1');
const NONCE_AT = 9;
const NONCE_END = NONCE_AT + nacl.secretbox.nonceLength;

/** One sender key's owner and the members holding its distribution; each state is replaced on each call. */
class Group {
  readonly members = new Map<string, SenderKeyState>();

  /** States never change in place, so property runs may share one owner state (and its key pair). */
  constructor(public owner: SenderKeyState = createSenderKey()) {}

  join(name: string, distribution: SenderKeyDistribution = senderKeyDistribution(this.owner)): void {
    this.members.set(name, stateFromDistribution(decodeDistribution(encodeDistribution(distribution))!));
  }

  send(plaintext: Uint8Array = nacl.randomBytes(16)): Sent {
    const out = senderKeyEncrypt(this.owner, plaintext, AD);
    this.owner = out.state;
    return { message: out.message, plaintext };
  }

  /**
   * Message `iteration` of the owner's current chain, encrypted and signed by the module from the owner
   * state at that iteration, whose chain key is derived here: a window test needs a few messages far
   * ahead, not the thousands of signatures before them. The owner's state does not move.
   */
  sendAt(iteration: number): Sent {
    const from = this.owner.iteration;
    let ck = fromBase64Url(this.owner.chainKey);
    for (let i = from; i < iteration; i++) ck = hmac(sha512, ck, Uint8Array.of(0x02)).slice(0, 32);
    const plaintext = nacl.randomBytes(16);
    const out = senderKeyEncrypt({ ...this.owner, iteration, chainKey: toBase64Url(ck) }, plaintext, AD);
    return { message: out.message, plaintext };
  }

  /** Messages at the given iterations of the owner's current chain, by iteration. */
  sendAtEach(iterations: readonly number[]): Map<number, Sent> {
    return new Map(iterations.map((i) => [i, this.sendAt(i)]));
  }

  /** The plaintext, or the refusal; the member's state moves only on success. */
  receive(name: string, sent: Sent, nowMs?: number, ad: Uint8Array = AD): Uint8Array | SenderKeyRefusal {
    const out = senderKeyDecrypt(this.members.get(name)!, sent.message, ad, nowMs);
    if (!out.ok) return out.refusal;
    this.members.set(name, out.state);
    return out.plaintext;
  }
}

interface Sent {
  readonly message: Uint8Array;
  readonly plaintext: Uint8Array;
}

/** Message key `iteration` of a chain key at `from`, derived here from the construction, not by the module. */
function rawMessageKey(chainKey: Uint8Array, from: number, iteration: number): Uint8Array {
  let ck = chainKey;
  for (let i = from; i < iteration; i++) ck = hmac(sha512, ck, Uint8Array.of(0x02)).slice(0, 32);
  return hmac(sha512, ck, Uint8Array.of(0x01)).slice(0, 32);
}

/** Whether any message key a chain key yields in the next `window` iterations opens the message's box. */
function rawOpens(distribution: { chainKey: Uint8Array; iteration: number }, message: Uint8Array, window = 50): boolean {
  const nonce = message.subarray(NONCE_AT, NONCE_END);
  const box = message.subarray(NONCE_END, message.length - nacl.sign.signatureLength);
  for (let i = distribution.iteration; i < distribution.iteration + window; i++) {
    if (nacl.secretbox.open(box, nonce, rawMessageKey(distribution.chainKey, distribution.iteration, i)) !== null) return true;
  }
  return false;
}

function flipBit(bytes: Uint8Array, bit: number): Uint8Array {
  const out = bytes.slice();
  out[Math.floor(bit / 8) % out.length]! ^= 1 << (bit % 8);
  return out;
}

describe('sender key messages', () => {
  it('round-trips random plaintexts to every member, in order', () => {
    const owner = createSenderKey();
    // Members start from the same distribution and states never change in place: a second member shows that
    // one member's reading leaves the other's unaffected, and more would only repeat the same verifications.
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { minLength: 1, maxLength: 12 }), fc.integer({ min: 1, max: 2 }), (texts, members) => {
        const g = new Group(owner);
        for (let i = 0; i < members; i++) g.join(`m${i}`);
        for (const text of texts) {
          const sent = g.send(text);
          expect(sent.message).toHaveLength(text.length + SENDER_KEY_OVERHEAD);
          for (const name of g.members.keys()) expect(g.receive(name, sent)).toEqual(text);
        }
      }),
      { numRuns: 30 },
    );
  });

  it('is built as documented: HMAC chain, secretbox under the message key, Ed25519 over context, AD and message', () => {
    const g = new Group();
    const d = senderKeyDistribution(g.owner);
    g.send();
    const sent = g.send(new TextEncoder().encode('second'));
    const m = decodeSenderKeyMessage(sent.message)!;
    expect(m).toMatchObject({ keyId: d.keyId, iteration: 1 });
    expect(nacl.secretbox.open(m.box, m.nonce, rawMessageKey(d.chainKey, 0, 1))).toEqual(sent.plaintext);
    const signed = new Uint8Array([...new TextEncoder().encode('ebb-sender-key-v1'), ...u32be(AD.length), ...AD, ...m.signed]);
    expect(nacl.sign.detached.verify(signed, m.signature, d.signingPublicKey)).toBe(true);
  });

  it('never mutates the state it is given', () => {
    const g = new Group();
    g.join('bob');
    const owner = serializeState(g.owner);
    const sent = senderKeyEncrypt(g.owner, nacl.randomBytes(8), AD);
    expect(serializeState(g.owner)).toBe(owner);
    const bob = serializeState(g.members.get('bob')!);
    expect(senderKeyDecrypt(g.members.get('bob')!, sent.message, AD).ok).toBe(true);
    expect(serializeState(g.members.get('bob')!)).toBe(bob);
  });

  it('decrypts every message exactly once in any order, and refuses every replay as stale, state unchanged', () => {
    // The messages do not depend on the run's inputs: sign them once, and give each run a fresh member.
    const sender = new Group();
    const distribution = senderKeyDistribution(sender.owner);
    const sent = Array.from({ length: 12 }, () => sender.send());
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 12 }), fc.infiniteStream(fc.nat()), (count, picks) => {
        const g = new Group(sender.owner);
        g.join('bob', distribution);
        const pending = sent.slice(0, count);
        const it = picks[Symbol.iterator]();
        const delivered: Sent[] = [];
        while (pending.length > 0) {
          const [m] = pending.splice(it.next().value % pending.length, 1);
          expect(g.receive('bob', m!)).toEqual(m!.plaintext);
          delivered.push(m!);
          const replay = delivered[it.next().value % delivered.length]!;
          const before = serializeState(g.members.get('bob')!);
          expect(g.receive('bob', replay)).toBe('stale');
          expect(serializeState(g.members.get('bob')!)).toBe(before);
        }
        expect(g.members.get('bob')!.skipped).toEqual([]);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses any flipped bit in the message, or another AD, leaving the state unchanged', () => {
    // The messages do not depend on the run's inputs: sign them once, and give each run a fresh member.
    const sender = new Group();
    const distribution = senderKeyDistribution(sender.owner);
    const first = sender.send();
    const second = sender.send();
    fc.assert(
      fc.property(fc.nat(), fc.boolean(), (bit, late) => {
        const g = new Group(sender.owner);
        g.join('bob', distribution);
        if (late) expect(g.receive('bob', second)).toEqual(second.plaintext);
        const target = late ? first : second;
        const before = serializeState(g.members.get('bob')!);
        const tampered = { ...target, message: flipBit(target.message, bit % (target.message.length * 8)) };
        expect(['malformed', 'unknown-key', 'invalid']).toContain(g.receive('bob', tampered));
        expect(g.receive('bob', target, undefined, AD.slice().reverse())).toBe('invalid');
        expect(serializeState(g.members.get('bob')!)).toBe(before);
        expect(g.receive('bob', target)).toEqual(target.plaintext);
      }),
      { numRuns: 80 },
    );
  });

  it('refuses a message forged by another member who holds the same chain key', () => {
    const g = new Group();
    g.join('mallory');
    g.join('carol');
    const d = senderKeyDistribution(g.owner); // what Mallory was given
    const genuine = g.send();
    // Mallory encrypts her own text under the real message key, in the genuine header, and signs it herself.
    const header = genuine.message.subarray(0, NONCE_END);
    const box = nacl.secretbox(new TextEncoder().encode('pay mallory'), header.subarray(NONCE_AT), rawMessageKey(d.chainKey, d.iteration, 0));
    const unsigned = new Uint8Array([...header, ...box]);
    const signed = new Uint8Array([...new TextEncoder().encode('ebb-sender-key-v1'), ...u32be(AD.length), ...AD, ...unsigned]);
    const forged = new Uint8Array([...unsigned, ...nacl.sign.detached(signed, nacl.sign.keyPair().secretKey)]);
    expect(g.receive('carol', { message: forged, plaintext: new Uint8Array() })).toBe('invalid');
    // The genuine signature does not cover her box either.
    const swapped = new Uint8Array([...unsigned, ...genuine.message.subarray(genuine.message.length - nacl.sign.signatureLength)]);
    expect(g.receive('carol', { message: swapped, plaintext: new Uint8Array() })).toBe('invalid');
    // Her state is a member's: it holds no signing key, so she cannot encrypt with it.
    expect(() => senderKeyEncrypt(g.members.get('mallory')!, new Uint8Array(1), AD)).toThrow(TypeError);
    expect(g.receive('carol', genuine)).toEqual(genuine.plaintext);
  });

  it('refuses malformed bytes without throwing', () => {
    const g = new Group();
    g.join('bob');
    const sent = g.send();
    const state = g.members.get('bob')!;
    expect(senderKeyDecrypt(state, sent.message.subarray(0, SENDER_KEY_OVERHEAD - 1), AD)).toEqual({ ok: false, refusal: 'malformed' });
    expect(senderKeyDecrypt(state, new Uint8Array(MAX_SENDER_KEY_MESSAGE_BYTES + 1), AD)).toEqual({ ok: false, refusal: 'malformed' });
    const maxIteration = sent.message.slice();
    maxIteration.set(u32be(0xffffffff), 5);
    expect(senderKeyDecrypt(state, maxIteration, AD)).toEqual({ ok: false, refusal: 'malformed' });
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(senderKeyDecrypt(state, bytes, AD).ok).toBe(false);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses to encrypt a plaintext longer than one message may carry', () => {
    const g = new Group();
    const limit = MAX_SENDER_KEY_MESSAGE_BYTES - SENDER_KEY_OVERHEAD;
    expect(senderKeyEncrypt(g.owner, new Uint8Array(limit), AD).message).toHaveLength(MAX_SENDER_KEY_MESSAGE_BYTES);
    expect(() => senderKeyEncrypt(g.owner, new Uint8Array(limit + 1), AD)).toThrow(TypeError);
  });

  it('refuses to encrypt past the last iteration', () => {
    const owner = { ...createSenderKey(), iteration: 0xffffffff };
    expect(() => senderKeyEncrypt(owner, new Uint8Array(1), AD)).toThrow('sender key: chain exhausted');
  });
});

describe('sender key window', () => {
  it(`lets one message skip at most ${MAX_FORWARD_JUMP} keys, refusing further as too-far-ahead`, () => {
    const g = new Group();
    g.join('bob');
    const messages = g.sendAtEach([0, 500, MAX_FORWARD_JUMP - 1, MAX_FORWARD_JUMP, MAX_FORWARD_JUMP + 1]);
    const message = (i: number): Sent => messages.get(i)!;
    const before = serializeState(g.members.get('bob')!);
    expect(g.receive('bob', message(MAX_FORWARD_JUMP + 1))).toBe('too-far-ahead');
    expect(serializeState(g.members.get('bob')!)).toBe(before);
    expect(g.receive('bob', message(MAX_FORWARD_JUMP))).toEqual(message(MAX_FORWARD_JUMP).plaintext);
    expect(g.members.get('bob')!.skipped).toHaveLength(MAX_FORWARD_JUMP);
    expect(g.receive('bob', message(MAX_FORWARD_JUMP + 1))).toEqual(message(MAX_FORWARD_JUMP + 1).plaintext);
    for (const i of [0, 500, MAX_FORWARD_JUMP - 1]) {
      expect(g.receive('bob', message(i))).toEqual(message(i).plaintext);
      expect(g.receive('bob', message(i))).toBe('stale');
    }
  });

  it(`keeps at most ${MAX_MESSAGE_KEYS} skipped keys, evicting the oldest`, () => {
    const g = new Group();
    g.join('bob');
    const evicted = 3 * 700 - MAX_MESSAGE_KEYS; // the first `evicted` skipped iterations are gone
    const messages = g.sendAtEach([700, 1401, 2102, evicted - 1, evicted, 2101]);
    const message = (i: number): Sent => messages.get(i)!;
    for (const at of [700, 1401, 2102]) expect(g.receive('bob', message(at))).toEqual(message(at).plaintext);
    expect(g.members.get('bob')!.skipped).toHaveLength(MAX_MESSAGE_KEYS);
    expect(g.receive('bob', message(evicted - 1))).toBe('stale');
    expect(g.receive('bob', message(evicted))).toEqual(message(evicted).plaintext);
    expect(g.receive('bob', message(2101))).toEqual(message(2101).plaintext);
  });

  it('drops skipped keys older than MAX_MESSAGE_KEY_AGE_MS', () => {
    const t0 = Date.UTC(2030, 0, 1);
    const g = new Group();
    g.join('bob');
    const late = [g.send(), g.send()];
    const now = g.send();
    expect(g.receive('bob', now, t0)).toEqual(now.plaintext);
    expect(g.receive('bob', late[0]!, t0 + MAX_MESSAGE_KEY_AGE_MS)).toEqual(late[0]!.plaintext);
    expect(g.receive('bob', late[1]!, t0 + MAX_MESSAGE_KEY_AGE_MS + 1)).toBe('stale');
    const next = g.send();
    expect(g.receive('bob', next, t0 + MAX_MESSAGE_KEY_AGE_MS + 1)).toEqual(next.plaintext);
    expect(g.members.get('bob')!.skipped).toEqual([]);
  });
});

describe('sender key rotation', () => {
  it('leaves a removed member holding the old distribution unable to read messages under the new key', () => {
    const g = new Group();
    g.join('bob');
    g.join('eve');
    const before = g.send();
    expect(g.receive('eve', before)).toEqual(before.plaintext);
    const eveOld = senderKeyDistribution(g.owner); // everything Eve could have kept
    // Eve is removed: the owner rotates and distributes to Bob only.
    const oldKeyId = g.owner.keyId;
    g.owner = createSenderKey(oldKeyId);
    expect(g.owner.keyId).not.toBe(oldKeyId);
    const eveState = g.members.get('eve')!;
    g.join('bob');
    const after = Array.from({ length: 5 }, () => g.send());
    for (const m of after) {
      expect(g.receive('bob', m)).toEqual(m.plaintext);
      expect(senderKeyDecrypt(eveState, m.message, AD)).toEqual({ ok: false, refusal: 'unknown-key' });
      // Handed the raw ciphertext, no key of her old chain opens it, whatever key id it names.
      expect(rawOpens(eveOld, m.message)).toBe(false);
      const relabelled = m.message.slice();
      relabelled.set(u32be(oldKeyId), 1);
      expect(senderKeyDecrypt(eveState, relabelled, AD)).toEqual({ ok: false, refusal: 'invalid' });
    }
  });

  it('leaves a member given only the new distribution unable to read messages from before', () => {
    const g = new Group();
    g.join('bob');
    const earlier = Array.from({ length: 5 }, () => g.send());
    g.owner = createSenderKey(g.owner.keyId);
    g.join('dave');
    const daveNew = senderKeyDistribution(g.owner);
    for (const m of earlier) {
      expect(g.receive('dave', m)).toBe('unknown-key');
      expect(rawOpens(daveNew, m.message)).toBe(false);
    }
    const now = g.send();
    expect(g.receive('dave', now)).toEqual(now.plaintext);
  });

  it('gives a member joining mid-chain nothing before its distribution', () => {
    const g = new Group();
    const earlier = [g.send(), g.send()];
    g.join('dave');
    for (const m of earlier) expect(g.receive('dave', m)).toBe('stale');
    const now = g.send();
    expect(g.receive('dave', now)).toEqual(now.plaintext);
  });
});

describe('sender key distribution', () => {
  it('round-trips exactly and refuses any other length or version', () => {
    const owner = createSenderKey();
    const d = senderKeyDistribution(owner);
    const bytes = encodeDistribution(d);
    expect(bytes).toHaveLength(DISTRIBUTION_LENGTH);
    expect(DISTRIBUTION_LENGTH).toBe(73);
    expect(decodeDistribution(bytes)).toEqual(d);
    expect(decodeDistribution(bytes.subarray(1))).toBeNull();
    expect(decodeDistribution(new Uint8Array([...bytes, 0]))).toBeNull();
    expect(decodeDistribution(new Uint8Array([2, ...bytes.subarray(1)]))).toBeNull();
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (b) => {
        const out = decodeDistribution(b);
        expect(out === null || (b.length === DISTRIBUTION_LENGTH && b[0] === 1)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses fields of the wrong size', () => {
    const d = senderKeyDistribution(createSenderKey());
    expect(() => encodeDistribution({ ...d, chainKey: new Uint8Array(31) })).toThrow(new TypeError('chainKey: expected 32 bytes'));
    expect(() => encodeDistribution({ ...d, signingPublicKey: new Uint8Array(33) })).toThrow(TypeError);
    expect(() => stateFromDistribution({ ...d, keyId: 2 ** 32 })).toThrow(TypeError);
    expect(() => stateFromDistribution({ ...d, iteration: -1 })).toThrow(TypeError);
  });
});

describe('sender key state storage', () => {
  it('serializes and deserializes owner and member states mid-conversation', () => {
    const owner = createSenderKey();
    fc.assert(
      // Every state of a chain has the same shape past its first messages: a few before and after show it.
      fc.property(fc.integer({ min: 0, max: 3 }), fc.integer({ min: 1, max: 3 }), (before, after) => {
        const g = new Group(owner);
        g.join('bob');
        for (let i = 0; i < before; i++) g.receive('bob', g.send());
        const skipped = g.send(); // leaves a skipped key in Bob's state
        expect(g.receive('bob', g.send())).not.toBe('stale');
        const ownerText = serializeState(g.owner);
        g.owner = deserializeState(ownerText);
        expect(serializeState(g.owner)).toBe(ownerText);
        const bobText = serializeState(g.members.get('bob')!);
        g.members.set('bob', deserializeState(bobText));
        expect(serializeState(g.members.get('bob')!)).toBe(bobText);
        expect(g.receive('bob', skipped)).toEqual(skipped.plaintext);
        for (let i = 0; i < after; i++) {
          const m = g.send();
          expect(g.receive('bob', m)).toEqual(m.plaintext);
        }
      }),
      { numRuns: 15 },
    );
  });

  it('refuses garbage in place of a serialized state, without echoing it', () => {
    const g = new Group();
    g.join('bob');
    g.send();
    g.receive('bob', g.send());
    const owner = JSON.parse(serializeState(g.owner)) as Record<string, unknown>;
    const member = JSON.parse(serializeState(g.members.get('bob')!)) as Record<string, unknown>;
    const other = JSON.parse(serializeState(createSenderKey())) as Record<string, unknown>;
    const skippedKey = (member.skipped as { mk: string }[])[0]!;
    const bad = [
      'not json',
      'null',
      '[]',
      '{}',
      JSON.stringify({ ...owner, version: 2 }),
      JSON.stringify({ ...owner, keyId: -1 }),
      JSON.stringify({ ...owner, iteration: 1.5 }),
      JSON.stringify({ ...owner, chainKey: (owner.chainKey as string).slice(1) }),
      JSON.stringify({ ...owner, chainKey: '!'.repeat(43) }),
      JSON.stringify({ ...owner, signingSecretKey: other.signingSecretKey }),
      JSON.stringify({ ...owner, skipped: member.skipped }),
      JSON.stringify({ ...member, skipped: [skippedKey, skippedKey] }),
      JSON.stringify({ ...member, skipped: [{ ...skippedKey, iteration: member.iteration }] }),
      JSON.stringify({ ...member, skipped: [{ ...skippedKey, mk: 'x' }] }),
      JSON.stringify({ ...member, skipped: [{ ...skippedKey, storedAt: null }] }),
      JSON.stringify({
        ...member,
        skipped: Array.from({ length: MAX_MESSAGE_KEYS + 1 }, (_, i) => ({ ...skippedKey, iteration: i })),
        iteration: 5000,
      }),
    ];
    for (const text of bad) {
      expect(() => deserializeState(text)).toThrow(TypeError);
      try {
        deserializeState(text);
      } catch (err) {
        expect((err as Error).message).not.toContain(owner.chainKey as string);
        expect((err as Error).message).not.toContain(skippedKey.mk);
      }
    }
    fc.assert(
      fc.property(fc.string(), (text) => expect(() => deserializeState(text)).toThrow(TypeError)),
      { numRuns: 100 },
    );
  });

  it('keeps the owner secret only in the owner state', () => {
    const g = new Group();
    g.join('bob');
    expect(g.members.get('bob')!.signingSecretKey).toBeNull();
    expect(fromBase64Url(g.owner.signingSecretKey!).subarray(32)).toEqual(fromBase64Url(g.owner.signingPublicKey));
  });
});
