import nacl from 'tweetnacl';

/** X25519 (RFC 7748) over tweetnacl's `nacl.scalarMult`, rejecting low-order points. */

export interface X25519KeyPair {
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
}

/**
 * The shared secret between `secretKey` and `publicKey`. Throws TypeError on a wrong length, and
 * `Error('x25519: low-order public key')` when the result is all zero (RFC 7748 §6.1): a peer who
 * sends a low-order point would otherwise force a secret everyone can compute.
 */
export function x25519(secretKey: Uint8Array, publicKey: Uint8Array): Uint8Array {
  if (secretKey.length !== nacl.scalarMult.scalarLength) throw new TypeError(`secretKey: expected ${nacl.scalarMult.scalarLength} bytes`);
  if (publicKey.length !== nacl.scalarMult.groupElementLength) throw new TypeError(`publicKey: expected ${nacl.scalarMult.groupElementLength} bytes`);
  const shared = nacl.scalarMult(secretKey, publicKey);
  // Constant time: OR every byte rather than stopping at the first non-zero one.
  let acc = 0;
  for (let i = 0; i < shared.length; i++) acc |= shared[i]!;
  if (acc === 0) throw new Error('x25519: low-order public key');
  return shared;
}

/** A fresh X25519 key pair from the platform CSPRNG. */
export function generateKeyPair(): { publicKey: Uint8Array; secretKey: Uint8Array } {
  return nacl.box.keyPair();
}
