import * as z from 'zod/mini';
import { Rid, UserId, Device } from '../fields';

/** What a client sends for `keys.bundle`; parsed at the edge by its route. */
export const KeysBundleFrame = z.object({
  action: z.literal('keys.bundle'),
  rid: Rid,
  user: UserId,
  /** Only this device; all of the user's devices when absent. */
  device: z.optional(Device),
});
