import nacl from 'tweetnacl';
import { randomFillSync } from 'node:crypto';
import { aeadSeal } from '../../client-sdk/src/crypto/aead';
import { encodePlaintext } from '../../client-sdk/src/crypto/plaintext';
import {
  encodeHeader,
  initInitiator,
  initResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  serializeState,
  type RatchetState,
} from '../../client-sdk/src/crypto/ratchet';
import * as senderKey from '../../client-sdk/src/crypto/sender-key';
import { x3dhInitiate, x3dhRespond } from '../../client-sdk/src/crypto/x3dh';
import { parseIdentity } from '../../client-sdk/src/identity/identity';
import { userIdFromSigningKey } from '../../client-sdk/src/identity/keys';
import { PeerDirectory } from '../../client-sdk/src/identity/peers';
import { DEFAULT_PREKEY_POLICY } from '../../client-sdk/src/session/prekeys';
import { Sessions } from '../../client-sdk/src/session/sessions';
import { MemoryStore } from '../../client-sdk/src/store/memory-store';
import { toBase64Url } from '../../protocol/base64url';
import { hex, toHex } from './vectors';

/**
 * Fixed-output transcripts of the SDK's session crypto. `test/vectors/generate.ts` runs each builder
 * once with seeded randomness and writes inputs, every random draw and every output to
 * `test/vectors/*-transcript.json`; the tests run the same builders on the recorded inputs and draws
 * and compare each output byte for byte, so a changed KDF constant, info string or layout fails them.
 */

/** Where a builder's random bytes come from: each draw is recorded (generator) or replayed (test). */
export interface RandomTape {
  draw(length: number): Uint8Array;
}

/** Runs `fn` with tweetnacl's CSPRNG replaced by `tape`, then restores the platform one. */
export async function withTape<T>(tape: RandomTape, fn: () => T | Promise<T>): Promise<T> {
  nacl.setPRNG((out: Uint8Array, n: number) => out.set(tape.draw(n).subarray(0, n)));
  try {
    return await fn();
  } finally {
    nacl.setPRNG((out: Uint8Array, n: number) => randomFillSync(out, 0, n));
  }
}

/** Replays recorded draws in order; a draw of another length, or one too many, fails the test. */
export class ReplayTape implements RandomTape {
  private next = 0;
  constructor(private readonly draws: readonly string[]) {}

  draw(length: number): Uint8Array {
    const recorded = this.draws[this.next++];
    if (recorded === undefined) throw new Error(`random tape: draw ${this.next} was not recorded`);
    const bytes = hex(recorded);
    if (bytes.length !== length) throw new Error(`random tape: draw ${this.next} recorded ${bytes.length} bytes, asked for ${length}`);
    return bytes;
  }

  /** Whether every recorded draw was used. */
  get finished(): boolean {
    return this.next === this.draws.length;
  }
}

// ---- AEAD ----------------------------------------------------------------------------------

export interface AeadInput {
  readonly name: string;
  readonly key: string;
  readonly plaintext: string;
  readonly associatedData: string;
}

export interface AeadOutput {
  readonly sealed: string;
}

export function aeadTranscript(input: AeadInput): AeadOutput {
  return { sealed: toHex(aeadSeal(hex(input.key), hex(input.plaintext), hex(input.associatedData))) };
}

// ---- X3DH ----------------------------------------------------------------------------------

export interface X3dhInput {
  readonly name: string;
  readonly aliceIdentitySecret: string;
  readonly bobIdentitySecret: string;
  readonly signedPrekeyId: number;
  readonly signedPrekeySecret: string;
  readonly oneTimePrekeyId: number | null;
  readonly oneTimePrekeySecret: string | null;
}

export interface X3dhOutput {
  /** EK_A, from the random tape. */
  readonly ephemeralKey: string;
  readonly initiatorSharedSecret: string;
  readonly initiatorAssociatedData: string;
  readonly responderSharedSecret: string;
  readonly responderAssociatedData: string;
}

export function x3dhTranscript(input: X3dhInput): X3dhOutput {
  const alice = keyPair(input.aliceIdentitySecret);
  const bob = keyPair(input.bobIdentitySecret);
  const spk = keyPair(input.signedPrekeySecret);
  const opk = input.oneTimePrekeySecret === null ? null : keyPair(input.oneTimePrekeySecret);
  const init = x3dhInitiate(alice, {
    identityKey: bob.publicKey,
    signedPrekey: { keyId: input.signedPrekeyId, publicKey: spk.publicKey },
    ...(opk && input.oneTimePrekeyId !== null && { oneTimePrekey: { keyId: input.oneTimePrekeyId, publicKey: opk.publicKey } }),
  });
  const resp = x3dhRespond(bob, spk, opk, {
    identityKey: alice.publicKey,
    ephemeralKey: init.ephemeralKey,
    signedPrekeyId: init.signedPrekeyId,
    oneTimePrekeyId: init.oneTimePrekeyId,
  });
  return {
    ephemeralKey: toHex(init.ephemeralKey),
    initiatorSharedSecret: toHex(init.sharedSecret),
    initiatorAssociatedData: toHex(init.associatedData),
    responderSharedSecret: toHex(resp.sharedSecret),
    responderAssociatedData: toHex(resp.associatedData),
  };
}

// ---- Double Ratchet -------------------------------------------------------------------------

export type RatchetStep =
  | { readonly op: 'send'; readonly party: 'alice' | 'bob'; readonly plaintext: string }
  | { readonly op: 'receive'; readonly party: 'alice' | 'bob'; readonly message: number };

export interface RatchetInput {
  readonly name: string;
  /** SK from X3DH. */
  readonly sharedSecret: string;
  readonly associatedData: string;
  /** Bob's signed prekey: his first ratchet key pair. */
  readonly signedPrekeySecret: string;
  readonly nowMs: number;
  readonly steps: readonly RatchetStep[];
}

/** Per step: a sent message (encoded header and AEAD ciphertext) or what a receive opened (null when refused), and the party's state after it. */
export type RatchetStepOutput =
  | { readonly message: number; readonly header: string; readonly ciphertext: string; readonly state: RatchetState }
  | { readonly plaintext: string | null; readonly state: RatchetState };

export function ratchetTranscript(input: RatchetInput): {
  readonly initial: { alice: RatchetState; bob: RatchetState };
  readonly results: RatchetStepOutput[];
} {
  const sk = hex(input.sharedSecret);
  const ad = hex(input.associatedData);
  const spk = keyPair(input.signedPrekeySecret);
  const states = { alice: initInitiator(sk, spk.publicKey), bob: initResponder(sk, spk) };
  const initial = { ...states };
  const sent: { header: ReturnType<typeof ratchetEncrypt>['header']; ciphertext: Uint8Array }[] = [];
  const results: RatchetStepOutput[] = [];
  for (const step of input.steps) {
    if (step.op === 'send') {
      const out = ratchetEncrypt(states[step.party], hex(step.plaintext), ad);
      states[step.party] = out.state;
      sent.push({ header: out.header, ciphertext: out.ciphertext });
      results.push({
        message: sent.length - 1,
        header: toHex(encodeHeader(out.header)),
        ciphertext: toHex(out.ciphertext),
        state: roundTrip(out.state),
      });
    } else {
      const message = sent[step.message];
      if (!message) throw new Error(`ratchet transcript: no message ${step.message} yet`);
      const out = ratchetDecrypt(states[step.party], message.header, message.ciphertext, ad, input.nowMs);
      if (out) states[step.party] = out.state;
      results.push({ plaintext: out && toHex(out.plaintext), state: roundTrip(states[step.party]) });
    }
  }
  return { initial: { alice: roundTrip(initial.alice), bob: roundTrip(initial.bob) }, results };
}

/** The state as its serialized JSON reads back: what the SDK stores. */
function roundTrip(state: RatchetState): RatchetState {
  return JSON.parse(serializeState(state)) as RatchetState;
}

// ---- Sender keys ----------------------------------------------------------------------------

export type SenderKeyStep =
  | { readonly op: 'create' }
  | { readonly op: 'join'; readonly member: string }
  | { readonly op: 'send'; readonly plaintext: string }
  | { readonly op: 'receive'; readonly member: string; readonly message: number };

export interface SenderKeyInput {
  readonly name: string;
  readonly associatedData: string;
  readonly nowMs: number;
  readonly steps: readonly SenderKeyStep[];
}

/**
 * Per step: the owner's new state (create: a new sender key, rotating any earlier one), a member's
 * distribution and the state made from it, a sent message, or what a receive opened or why it refused.
 */
export type SenderKeyStepOutput =
  | { readonly state: senderKey.SenderKeyState }
  | { readonly distribution: string; readonly state: senderKey.SenderKeyState }
  | { readonly message: number; readonly bytes: string; readonly state: senderKey.SenderKeyState }
  | { readonly plaintext: string | null; readonly refusal: senderKey.SenderKeyRefusal | null; readonly state: senderKey.SenderKeyState };

export function senderKeyTranscript(input: SenderKeyInput): SenderKeyStepOutput[] {
  const ad = hex(input.associatedData);
  let owner: senderKey.SenderKeyState | null = null;
  const members = new Map<string, senderKey.SenderKeyState>();
  const sent: Uint8Array[] = [];
  const ownerState = (): senderKey.SenderKeyState => {
    if (!owner) throw new Error('sender key transcript: no sender key yet');
    return owner;
  };
  return input.steps.map((step): SenderKeyStepOutput => {
    switch (step.op) {
      case 'create':
        owner = senderKey.createSenderKey(owner?.keyId);
        return { state: storedSenderKey(owner) };
      case 'join': {
        const bytes = senderKey.encodeDistribution(senderKey.senderKeyDistribution(ownerState()));
        const state = senderKey.stateFromDistribution(senderKey.decodeDistribution(bytes)!);
        members.set(step.member, state);
        return { distribution: toHex(bytes), state: storedSenderKey(state) };
      }
      case 'send': {
        const out = senderKey.senderKeyEncrypt(ownerState(), hex(step.plaintext), ad);
        owner = out.state;
        sent.push(out.message);
        return { message: sent.length - 1, bytes: toHex(out.message), state: storedSenderKey(owner) };
      }
      case 'receive': {
        const state = members.get(step.member);
        const message = sent[step.message];
        if (!state || !message) throw new Error(`sender key transcript: no member ${step.member} or message ${step.message}`);
        const out = senderKey.senderKeyDecrypt(state, message, ad, input.nowMs);
        if (out.ok) members.set(step.member, out.state);
        return {
          plaintext: out.ok ? toHex(out.plaintext) : null,
          refusal: out.ok ? null : out.refusal,
          state: storedSenderKey(members.get(step.member)!),
        };
      }
    }
  });
}

/** The state as its serialized JSON reads back: what the SDK stores. */
function storedSenderKey(state: senderKey.SenderKeyState): senderKey.SenderKeyState {
  return JSON.parse(senderKey.serializeState(state)) as senderKey.SenderKeyState;
}

// ---- Envelope -------------------------------------------------------------------------------

export interface EnvelopeInput {
  readonly name: string;
  /** Alice's stored identity secrets (Ed25519 seed, X25519 secret key). */
  readonly aliceSigningSeed: string;
  readonly aliceIdentitySecret: string;
  readonly aliceDevice: number;
  readonly bobSigningSeed: string;
  readonly bobIdentitySecret: string;
  readonly bobDevice: number;
  readonly signedPrekeyId: number;
  readonly signedPrekeySecret: string;
  readonly oneTimePrekeyId: number;
  readonly oneTimePrekeySecret: string;
  readonly nowMs: number;
  /** Each becomes one message, sent in order: all prekey messages, as Bob has not answered. */
  readonly messages: readonly { readonly id: string; readonly text: string; readonly frankKey: string; readonly seq: number }[];
}

export interface EnvelopeOutput {
  readonly aliceUserId: string;
  readonly bobUserId: string;
  /** Per message: the plaintext encoding, then the whole ciphertext as `send` carries it. */
  readonly sent: readonly { readonly plaintext: string; readonly ciphertext: string }[];
}

/** Alice's SDK session layer (Sessions) starting a session with Bob and encrypting to him. */
export async function envelopeTranscript(input: EnvelopeInput): Promise<EnvelopeOutput> {
  const store = new MemoryStore();
  const identity = parseIdentity(JSON.stringify({ signingSeed: b64(input.aliceSigningSeed), identitySecretKey: b64(input.aliceIdentitySecret) }));
  if (!identity) throw new Error('envelope transcript: bad identity input');
  const bobUserId = userIdFromSigningKey(nacl.sign.keyPair.fromSeed(hex(input.bobSigningSeed)).publicKey);
  const peers = new PeerDirectory(
    store,
    () => Promise.reject(new Error('envelope transcript: no server')),
    () => undefined,
  );
  const sessions = new Sessions({ identity, device: input.aliceDevice, store, peers, now: () => input.nowMs, prekeyPolicy: DEFAULT_PREKEY_POLICY });
  const device = {
    device: input.bobDevice,
    signedPrekey: { keyId: input.signedPrekeyId, publicKey: keyPair(input.signedPrekeySecret).publicKey },
    oneTimePrekey: { keyId: input.oneTimePrekeyId, publicKey: keyPair(input.oneTimePrekeySecret).publicKey },
  };
  await sessions.initiate({ userId: bobUserId, identityKey: keyPair(input.bobIdentitySecret).publicKey, devices: [device], refused: [] }, device);
  const sent = [];
  for (const m of input.messages) {
    const plaintext = encodePlaintext({
      from: identity.userId,
      fromDevice: input.aliceDevice,
      to: bobUserId,
      toDevice: input.bobDevice,
      id: m.id,
      text: m.text,
      body: new TextEncoder().encode(m.text),
      frankKey: hex(m.frankKey),
      seq: m.seq,
    });
    const ciphertext = await sessions.encrypt(bobUserId, input.bobDevice, plaintext);
    sent.push({ plaintext: toHex(plaintext), ciphertext: toHex(ciphertext) });
  }
  return { aliceUserId: identity.userId, bobUserId, sent };
}

function keyPair(secretHex: string): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return nacl.box.keyPair.fromSecretKey(hex(secretHex));
}

function b64(hexText: string): string {
  return toBase64Url(hex(hexText));
}
