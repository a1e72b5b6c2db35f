import * as v from 'valibot';
import { Ciphertext, DeviceName, PublicKey, Rid, Signature } from '../fields';

/** What device 1 sends for `device.add`: it links a new device to its account (ARCH §4.6). */
export const DeviceAddFrame = v.object({
  action: v.literal('device.add'),
  rid: Rid,
  /** The new device's Ed25519 signing key (DSK), from the link code. */
  signingKey: PublicKey,
  /** The account signing key's signature over `DEVICE_CONTEXT\n ‖ signingKey`. */
  cert: Signature,
  /** Sealed by the SDK so that only the account's devices can read it. */
  name: v.optional(DeviceName),
  /** Sealed to the link key in the code: what the new device needs to act for the account. Relayed, never read. */
  provision: Ciphertext,
});
