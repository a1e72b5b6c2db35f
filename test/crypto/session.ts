import {
  initInitiator,
  initResponder,
  ratchetDecrypt,
  ratchetEncrypt,
  type RatchetHeader,
  type RatchetState,
} from '../../client-sdk/src/crypto/ratchet';
import { generateKeyPair } from '../../client-sdk/src/crypto/x25519';
import { x3dhInitiate, x3dhRespond } from '../../client-sdk/src/crypto/x3dh';

/** One party's side of a ratchet session, for tests: the state is replaced on each call. */
export interface Party {
  state: RatchetState;
  readonly ad: Uint8Array;
}

export interface Sent {
  readonly header: RatchetHeader;
  readonly ciphertext: Uint8Array;
  readonly plaintext: Uint8Array;
}

/** Alice and Bob after X3DH (with a one-time prekey), before any message. */
export function newSession(): { alice: Party; bob: Party } {
  const aliceIdentity = generateKeyPair();
  const bobIdentity = generateKeyPair();
  const signedPrekey = generateKeyPair();
  const oneTimePrekey = generateKeyPair();
  const init = x3dhInitiate(aliceIdentity, {
    identityKey: bobIdentity.publicKey,
    signedPrekey: { keyId: 1, publicKey: signedPrekey.publicKey },
    oneTimePrekey: { keyId: 2, publicKey: oneTimePrekey.publicKey },
  });
  const resp = x3dhRespond(bobIdentity, signedPrekey, oneTimePrekey, {
    identityKey: aliceIdentity.publicKey,
    ephemeralKey: init.ephemeralKey,
    signedPrekeyId: init.signedPrekeyId,
    oneTimePrekeyId: init.oneTimePrekeyId,
  });
  return {
    alice: { state: initInitiator(init.sharedSecret, signedPrekey.publicKey), ad: init.associatedData },
    bob: { state: initResponder(resp.sharedSecret, signedPrekey), ad: resp.associatedData },
  };
}

let counter = 0;

/** A distinct plaintext of `size` bytes (its first bytes are a counter, so no two are equal). */
export function plaintextOf(size = 8): Uint8Array {
  const out = new Uint8Array(Math.max(size, 4));
  new DataView(out.buffer).setUint32(0, counter++);
  return out;
}

export function send(from: Party, plaintext: Uint8Array = plaintextOf()): Sent {
  const result = ratchetEncrypt(from.state, plaintext, from.ad);
  from.state = result.state;
  return { header: result.header, ciphertext: result.ciphertext, plaintext };
}

/** The plaintext, updating `to`'s state, or null (state untouched). */
export function receive(to: Party, message: Sent, nowMs?: number): Uint8Array | null {
  const result = ratchetDecrypt(to.state, message.header, message.ciphertext, to.ad, nowMs);
  if (result === null) return null;
  to.state = result.state;
  return result.plaintext;
}
