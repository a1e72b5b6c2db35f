import * as z from 'zod/mini';
import { Rid } from '../fields';

/** What a client sends for `keys.count`; parsed at the edge by its route. */
export const KeysCountFrame = z.object({ action: z.literal('keys.count'), rid: Rid });
