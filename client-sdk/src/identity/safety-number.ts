import nacl from 'tweetnacl';
import { concatBytes } from '../crypto/bytes';

/**
 * Safety numbers after Signal's numeric fingerprint (NumericFingerprintGenerator, version 0):
 * per party, SHA-512 iterated over version ‖ identity key ‖ user id, then the identity key again on
 * every round; the first 30 bytes give 30 digits. Both halves are sorted, so the two parties see
 * the same 60 digits. The user id is the hash of the signing key, so both long-term keys count.
 */

/** Rounds of SHA-512 per party, as Signal uses: slows down a search for a colliding key. */
export const SAFETY_NUMBER_ITERATIONS = 5200;
const VERSION = new Uint8Array([0, 0]);
const CHUNKS = 6;
const CHUNK_BYTES = 5;
const DIGITS_PER_CHUNK = 5;

export interface SafetyNumberParty {
  readonly userId: string;
  /** X25519 identity public key. */
  readonly identityKey: Uint8Array;
}

/** 60 digits in 12 groups of 5, separated by spaces; equal on both sides of a conversation. */
export function safetyNumber(a: SafetyNumberParty, b: SafetyNumberParty): string {
  const halves = [partyDigits(a), partyDigits(b)].sort();
  return (halves.join('').match(/\d{5}/g) ?? []).join(' ');
}

function partyDigits(party: SafetyNumberParty): string {
  if (party.identityKey.length !== nacl.box.publicKeyLength) throw new TypeError(`identityKey: expected ${nacl.box.publicKeyLength} bytes`);
  let hash = nacl.hash(concatBytes(VERSION, party.identityKey, new TextEncoder().encode(party.userId)));
  for (let i = 0; i < SAFETY_NUMBER_ITERATIONS; i++) hash = nacl.hash(concatBytes(hash, party.identityKey));
  let digits = '';
  for (let chunk = 0; chunk < CHUNKS; chunk++) {
    let value = 0;
    // 40 bits fit exactly in a double: no BigInt needed.
    for (let j = 0; j < CHUNK_BYTES; j++) value = value * 256 + hash[chunk * CHUNK_BYTES + j]!;
    digits += String(value % 10 ** DIGITS_PER_CHUNK).padStart(DIGITS_PER_CHUNK, '0');
  }
  return digits;
}
