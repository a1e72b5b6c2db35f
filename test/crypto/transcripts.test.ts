import { aeadOpen } from '../../client-sdk/src/crypto/aead';
import { decodeWireMessage } from '../../client-sdk/src/crypto/envelope';
import {
  type AeadInput,
  type AeadOutput,
  aeadTranscript,
  type EnvelopeInput,
  type EnvelopeOutput,
  envelopeTranscript,
  type RatchetInput,
  type RatchetStepOutput,
  ratchetTranscript,
  ReplayTape,
  type SenderKeyInput,
  type SenderKeyStepOutput,
  senderKeyTranscript,
  withTape,
  type X3dhInput,
  type X3dhOutput,
  x3dhTranscript,
} from './transcripts';
import { hex, loadVectors, toHex } from './vectors';
import type { RatchetState } from '../../client-sdk/src/crypto/ratchet';

// Known answers recorded by test/vectors/generate.ts: every output is recomputed from the recorded
// inputs and random draws and compared byte for byte (see test/vectors/README.md).

type Recorded = { readonly random: readonly string[] };

const aead = loadVectors<AeadInput & AeadOutput>('aead-transcript.json');
const x3dh = loadVectors<X3dhInput & X3dhOutput & Recorded>('x3dh-transcript.json');
const ratchet = loadVectors<RatchetInput & Recorded & { initial: { alice: RatchetState; bob: RatchetState }; results: RatchetStepOutput[] }>(
  'ratchet-transcript.json',
);
const senderKey = loadVectors<SenderKeyInput & Recorded & { results: SenderKeyStepOutput[] }>('sender-key-transcript.json');
const envelope = loadVectors<EnvelopeInput & EnvelopeOutput & Recorded>('envelope-transcript.json');

describe('AEAD transcript', () => {
  it.each(aead.tests.map((t) => [t.name, t] as const))('seals %s to the recorded bytes and opens them', (_name, t) => {
    expect(aeadTranscript(t)).toEqual({ sealed: t.sealed });
    expect(toHex(aeadOpen(hex(t.key), hex(t.sealed), hex(t.associatedData))!)).toBe(t.plaintext);
  });
});

describe('X3DH transcript', () => {
  it.each(x3dh.tests.map((t) => [t.name, t] as const))('agrees %s on the recorded secret', async (_name, t) => {
    const tape = new ReplayTape(t.random);
    const out = await withTape(tape, () => x3dhTranscript(t));
    expect(tape.finished).toBe(true);
    expect(out).toEqual({
      ephemeralKey: t.ephemeralKey,
      initiatorSharedSecret: t.initiatorSharedSecret,
      initiatorAssociatedData: t.initiatorAssociatedData,
      responderSharedSecret: t.responderSharedSecret,
      responderAssociatedData: t.responderAssociatedData,
    });
  });
});

describe('Double Ratchet transcript', () => {
  it('has a scenario with DH steps, skipped keys and a refused replay', () => {
    const [t] = ratchet.tests;
    expect(t!.results.filter((s) => 'plaintext' in s && s.plaintext === null)).toHaveLength(1);
    expect(t!.results.some((s) => s.state.skipped.length > 0)).toBe(true);
  });

  it.each(ratchet.tests.map((t) => [t.name, t] as const))('replays %s to the recorded headers, ciphertexts and states', async (_name, t) => {
    const tape = new ReplayTape(t.random);
    const out = await withTape(tape, () => ratchetTranscript(t));
    expect(tape.finished).toBe(true);
    expect(out.initial).toEqual(t.initial);
    // Step by step, so a failure names the first step that differs.
    out.results.forEach((result, i) => expect({ step: i, ...result }).toEqual({ step: i, ...t.results[i] }));
    expect(out.results).toHaveLength(t.steps.length);
  });
});

describe('sender key transcript', () => {
  it('has a scenario with skipped keys, both refusals of an old iteration, and a rotation that leaves a member out', () => {
    const [t] = senderKey.tests;
    const refusals = t!.results.flatMap((r) => ('refusal' in r && r.refusal !== null ? [r.refusal] : []));
    expect(refusals).toEqual(['stale', 'stale', 'unknown-key']);
    expect(t!.results.some((r) => r.state.skipped.length > 0)).toBe(true);
    expect(t!.steps.filter((s) => s.op === 'create')).toHaveLength(2);
  });

  it.each(senderKey.tests.map((t) => [t.name, t] as const))('replays %s to the recorded distributions, messages and states', async (_name, t) => {
    const tape = new ReplayTape(t.random);
    const out = await withTape(tape, () => senderKeyTranscript(t));
    expect(tape.finished).toBe(true);
    out.forEach((result, i) => expect({ step: i, ...result }).toEqual({ step: i, ...t.results[i] }));
    expect(out).toHaveLength(t.steps.length);
  });
});

describe('envelope transcript', () => {
  it.each(envelope.tests.map((t) => [t.name, t] as const))('encrypts %s to the recorded ciphertexts', async (_name, t) => {
    const tape = new ReplayTape(t.random);
    const out = await withTape(tape, () => envelopeTranscript(t));
    expect(tape.finished).toBe(true);
    expect(out).toEqual({ aliceUserId: t.aliceUserId, bobUserId: t.bobUserId, sent: t.sent });
    for (const m of t.sent) expect(decodeWireMessage(hex(m.ciphertext))?.prekey?.oneTimePrekeyId).toBe(t.oneTimePrekeyId);
  });
});
