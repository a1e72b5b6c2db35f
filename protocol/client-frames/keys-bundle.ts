import * as v from 'valibot';
import { Rid, UserId, Device } from '../fields';

/** What a client sends for `keys.bundle`; parsed at the edge by its route. */
export const KeysBundleFrame = v.object({
  action: v.literal('keys.bundle'),
  rid: Rid,
  user: UserId,
  /** Only this device; all of the user's devices when absent. */
  device: v.optional(Device),
});
