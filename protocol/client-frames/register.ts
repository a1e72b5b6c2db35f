import * as v from 'valibot';
import { Rid, PublicKey, Signature } from '../fields';

/** What a client sends for `register`; parsed at the edge by its route. */
export const RegisterFrame = v.object({
  action: v.literal('register'),
  rid: Rid,
  /** X25519 identity public key. */
  identityKey: PublicKey,
  /**
   * Ed25519 signature by the connection's signing key over `IDENTITY_CONTEXT\n ‖ identityKey`. Registering
   * an existing account with another identity key signed this way rotates it (peers see an identity change).
   */
  identitySig: Signature,
});
